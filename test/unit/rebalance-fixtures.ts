// Builders for rebalance tests: a Cluster, Ready nodes, agent-host containers and Running agents.
import type { KubeObject } from '../../core/types.ts';

export const V = 'drover.dev/v1alpha1';
export const NS = 'c1';
/** "Now" for the planner; agents started an hour before, so minAge never bites unless asked. */
export const NOW = Date.UTC(2026, 0, 1, 12);
const iso = (ms: number) => new Date(ms).toISOString();

export function cluster(policy: Record<string, unknown> = {}): KubeObject {
  return { apiVersion: V, kind: 'Cluster', metadata: { name: NS }, spec: { rebalancePolicy: { enabled: true, interval: '5m', threshold: 0.2, maxMigrationsPerRound: 5, ...policy } } };
}

export function node(name: string, o: { ready?: boolean; cordoned?: boolean; transitions?: number[] } = {}): KubeObject {
  return {
    apiVersion: V, kind: 'Node',
    metadata: { name, namespace: NS, ...(o.transitions ? { annotations: { 'drover.dev/ready-transitions': JSON.stringify(o.transitions.map(iso)) } } : {}) },
    spec: { unschedulable: o.cordoned === true },
    status: { conditions: [{ type: 'Ready', status: o.ready === false ? 'False' : 'True' }] },
  };
}

export function host(name: string, nodeName: string, o: { agents?: number; caps?: string[]; phase?: string } = {}): KubeObject {
  return {
    apiVersion: V, kind: 'Container', metadata: { name, namespace: NS },
    spec: { command: ['sleep', '1000'], agentHost: { capabilities: o.caps ?? [], capacity: { agents: o.agents ?? 4 } } },
    status: { phase: o.phase ?? 'Running', nodeName },
  };
}

export function deployment(name: string, spec: Record<string, unknown> = {}): KubeObject {
  return {
    apiVersion: V, kind: 'AgentDeployment', metadata: { name, namespace: NS, uid: `uid-${name}` },
    spec: { agentType: name, replicas: 10, template: { command: ['sleep', '1000'] }, disruption: { maxUnavailable: 10 }, rebalance: { enabled: true, minAge: '1m' }, ...spec },
  };
}

export function agent(name: string, container: string, o: { dep?: string; phase?: string; startedAgoMs?: number; annotations?: Record<string, string>; required?: string[] } = {}): KubeObject {
  const dep = o.dep ?? 'trading';
  return {
    apiVersion: V, kind: 'Agent',
    metadata: {
      name, namespace: NS, labels: { 'drover.dev/deployment': dep, 'drover.dev/agent-type': dep },
      annotations: o.annotations ?? {}, creationTimestamp: iso(NOW - 7_200_000),
      ownerReferences: [{ apiVersion: V, kind: 'AgentDeployment', name: dep, uid: `uid-${dep}`, controller: true }],
    },
    spec: { agentType: dep, command: ['sleep', '1000'], containerName: container, ...(o.required ? { placement: { requiredCapabilities: o.required } } : {}) },
    status: { phase: o.phase ?? 'Running', startedAt: iso(NOW - (o.startedAgoMs ?? 3_600_000)) },
  };
}

/** `n` Running agents named `<prefix>-<i>` on one container. */
export function agentsOn(container: string, n: number, prefix = container, o: Parameters<typeof agent>[2] = {}): KubeObject[] {
  return Array.from({ length: n }, (_, i) => agent(`${prefix}-a${i}`, container, o));
}
