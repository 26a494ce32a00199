// Scheduler throughput: 10,000 pending agents onto 1,000 agent-host containers on 100 nodes, once
// per strategy, in one scheduleAgents batch (pure, in-process: no manager, no store).
import { machine } from './bench-util.ts';
import { scheduleAgents, Strategies, type SchedulerView } from '../reconcilers/agent-scheduler.ts';
import type { KubeObject } from '../core/types.ts';

const NODES = Number(process.env.BENCH_NODES ?? 100);
const CONTAINERS = Number(process.env.BENCH_CONTAINERS ?? 1000);
const AGENTS = Number(process.env.BENCH_AGENTS ?? 10_000);
const DEPLOYMENTS = 20;
const V = 'drover.dev/v1alpha1';
const pad = (n: number) => String(n).padStart(4, '0');

function view(): SchedulerView {
  const nodes: KubeObject[] = [];
  for (let i = 0; i < NODES; i++) {
    nodes.push({
      apiVersion: V, kind: 'Node', metadata: { name: `node-${pad(i)}`, namespace: 'bench', labels: { zone: `z${i % 3}` } },
      spec: {}, status: { conditions: [{ type: 'Ready', status: 'True' }] },
    });
  }
  const containers: KubeObject[] = [];
  for (let i = 0; i < CONTAINERS; i++) {
    containers.push({
      apiVersion: V, kind: 'Container', metadata: { name: `c-${pad(i)}`, namespace: 'bench', labels: { tier: 'agents' } },
      spec: { agentHost: { capabilities: i % 4 === 0 ? ['gpu_compute', 'avx512'] : i % 2 === 0 ? ['avx512'] : [], capacity: { agents: 16, cpu: '8', memory: '16Gi' } } },
      status: { phase: 'Running', nodeName: `node-${pad(i % NODES)}` },
    });
  }
  return { nodes, containers, agents: [], now: Date.parse('2026-01-01T00:00:00Z') };
}

function agents(strategy: string): KubeObject[] {
  const out: KubeObject[] = [];
  for (let i = 0; i < AGENTS; i++) {
    const d = `dep-${i % DEPLOYMENTS}`;
    out.push({
      apiVersion: V, kind: 'Agent', metadata: { name: `${d}-${i}`, namespace: 'bench', labels: { 'drover.dev/deployment': d } },
      spec: {
        agentType: 'bench', resources: { requests: { cpu: '250m', memory: '256Mi' } },
        placement: {
          strategy, spreadBy: 'node', containerSelector: { matchLabels: { tier: 'agents' } },
          requiredCapabilities: i % 10 === 0 ? ['avx512'] : [], preferredCapabilities: i % 7 === 0 ? ['gpu_compute'] : [],
        },
      },
    });
  }
  return out;
}

console.log(`scheduler: ${AGENTS} agents onto ${CONTAINERS} containers on ${NODES} nodes — ${machine()}`);
for (const strategy of Strategies) {
  const v = view();
  const pending = agents(strategy);
  const t0 = performance.now();
  const plan = scheduleAgents(pending, v, { seed: 'bench' });
  const ms = performance.now() - t0;
  const perSec = Math.round((pending.length / ms) * 1000);
  console.log(`  ${strategy.padEnd(16)} ${String(perSec).padStart(8)} decisions/s  (${ms.toFixed(0)} ms; ${plan.bindings.length} bound, ${plan.unschedulable.length} unschedulable)`);
}
