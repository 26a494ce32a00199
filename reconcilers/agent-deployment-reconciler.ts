// Pure AgentDeployment reconcile: owned Agents in, a diff out (create from the template, delete on
// scale down or rollout, status with conditions). Replacement pairs (drover.dev/replaces) count once.
import type { Condition, KubeObject, OwnerReference } from '../core/types.ts';
import type { AgentDeploymentSpec, AgentSpec, AgentStatus } from '../core/kinds.generated.ts';
import type { EventSpec, ObjectRef, ReconcileResult } from './types.ts';

export const AgentLabels = {
  deployment: 'drover.dev/deployment',
  agentType: 'drover.dev/agent-type',
} as const;

export const AgentAnnotations = {
  templateHash: 'drover.dev/template-hash',
  replaces: 'drover.dev/replaces',
} as const;

export const DeploymentEventReasons = {
  ScalingUp: 'ScalingUp',
  ScalingDown: 'ScalingDown',
  RollingUpdate: 'RollingUpdate',
} as const;

export const DeploymentConditionReasons = {
  MinimumAgentsAvailable: 'MinimumAgentsAvailable',
  MinimumAgentsUnavailable: 'MinimumAgentsUnavailable',
  RolloutComplete: 'RolloutComplete',
  RollingOut: 'RollingOut',
  ScalingAgents: 'ScalingAgents',
  Unschedulable: 'Unschedulable',
  AgentsFailed: 'AgentsFailed',
  AsExpected: 'AsExpected',
} as const;

export interface AgentDeploymentInput {
  /** Agents controlled by this deployment (terminating ones included; they are ignored for counting). */
  agents: KubeObject[];
  /** All Containers of the namespace, for the load ranking on scale down. */
  containers: KubeObject[];
  /** All Agents of the namespace (load per container counts other deployments too). */
  allAgents: KubeObject[];
  now: number;
}

/** 32-bit FNV-1a over canonical JSON, base 36: stable across processes, no crypto needed. */
export function templateHash(template: unknown): string {
  const text = canonicalJson(template ?? {});
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(36);
}

function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o).sort().filter((k) => o[k] !== undefined).map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

/** `1`, `25%` of total; percentages round up for surge and down for unavailable, like Kubernetes. */
export function resolveIntOrPercent(v: number | string | undefined, total: number, dflt: number, roundUp: boolean): number {
  if (v === undefined) return dflt;
  if (typeof v === 'number') return Math.max(0, v);
  const m = /^([0-9]+)(%?)$/.exec(v);
  if (!m) return dflt;
  const n = Number(m[1]);
  if (!m[2]) return n;
  return roundUp ? Math.ceil((n * total) / 100) : Math.floor((n * total) / 100);
}

export const deploymentSelector = (name: string) => `${AgentLabels.deployment}=${name}`;

const specOf = (d: KubeObject) => (d.spec ?? {}) as AgentDeploymentSpec;
const agentSpec = (a: KubeObject) => (a.spec ?? {}) as AgentSpec;
const agentStatus = (a: KubeObject) => (a.status ?? {}) as AgentStatus;
const isRunning = (a: KubeObject) => agentStatus(a).phase === 'Running';
const refOf = (o: KubeObject): ObjectRef => ({ apiVersion: o.apiVersion, kind: o.kind, namespace: o.metadata.namespace, name: o.metadata.name, uid: o.metadata.uid });

/** A new Agent for the deployment (generateName `<deployment>-`; the store adds 5 characters). */
export function agentFromTemplate(d: KubeObject, hash: string): KubeObject {
  const spec = specOf(d);
  const t = spec.template ?? {};
  const owner: OwnerReference = { apiVersion: d.apiVersion, kind: d.kind, name: d.metadata.name, uid: d.metadata.uid ?? '', controller: true, blockOwnerDeletion: true };
  const aspec: Record<string, unknown> = { agentType: spec.agentType };
  for (const k of ['command', 'args', 'workingDir', 'env', 'config', 'resources', 'restartPolicy'] as const) {
    if (t[k] !== undefined) aspec[k] = structuredClone(t[k]);
  }
  if (spec.placement) aspec.placement = structuredClone(spec.placement);
  return {
    apiVersion: 'drover.dev/v1alpha1',
    kind: 'Agent',
    metadata: {
      generateName: `${d.metadata.name}-`,
      name: '',
      namespace: d.metadata.namespace,
      labels: { ...(t.metadata?.labels ?? {}), [AgentLabels.deployment]: d.metadata.name, [AgentLabels.agentType]: spec.agentType },
      annotations: { ...(t.metadata?.annotations ?? {}), [AgentAnnotations.templateHash]: hash },
      ownerReferences: [owner],
    },
    spec: aspec,
  };
}

/** One replica: an Agent, or an old Agent plus its in-flight replacement (counted once). */
interface Replica {
  members: KubeObject[];
  /** The member that represents the replica now (the old one while its replacement starts). */
  primary: KubeObject;
}

function replicasOf(live: KubeObject[]): Replica[] {
  const byName = new Map(live.map((a) => [a.metadata.name, a]));
  const replacementOf = new Map<string, KubeObject>();
  for (const a of live) {
    const old = a.metadata.annotations?.[AgentAnnotations.replaces];
    if (old && byName.has(old) && old !== a.metadata.name) replacementOf.set(old, a);
  }
  const inPair = new Set([...replacementOf.values()].map((a) => a.metadata.name));
  return live
    .filter((a) => !inPair.has(a.metadata.name))
    .map((a) => {
      const r = replacementOf.get(a.metadata.name);
      return { primary: a, members: r ? [a, r] : [a] };
    });
}

const replicaReady = (r: Replica) => r.members.some(isRunning);
const replicaHash = (r: Replica) => r.primary.metadata.annotations?.[AgentAnnotations.templateHash];

/** Agents bound per container, and the container's agent capacity. */
function containerLoads(containers: KubeObject[], allAgents: KubeObject[]): Map<string, { count: number; capacity: number }> {
  const loads = new Map<string, { count: number; capacity: number }>();
  for (const c of containers) {
    const cap = Number(((c.spec?.agentHost as { capacity?: { agents?: number } } | undefined)?.capacity?.agents) ?? 0);
    loads.set(c.metadata.name, { count: 0, capacity: cap > 0 ? cap : 0 });
  }
  for (const a of allAgents) {
    const c = agentSpec(a).containerName;
    if (!c || a.metadata.deletionTimestamp) continue;
    const l = loads.get(c) ?? { count: 0, capacity: 0 };
    l.count++;
    loads.set(c, l);
  }
  return loads;
}

/**
 * Pick `n` replicas to remove: unbound first, then not Running, then from the most loaded container
 * (load re-counted after each pick so removals spread), then the youngest, then by name.
 */
export function pickForScaleDown(replicas: Replica[], n: number, containers: KubeObject[], allAgents: KubeObject[]): Replica[] {
  const loads = containerLoads(containers, allAgents);
  const ratio = (c: string | undefined) => {
    if (!c) return 0;
    const l = loads.get(c);
    if (!l) return Number.POSITIVE_INFINITY; // bound to a container that is gone: the first to go
    return l.capacity > 0 ? l.count / l.capacity : l.count;
  };
  const tier = (r: Replica) => (!agentSpec(r.primary).containerName ? 0 : replicaReady(r) ? 2 : 1);
  const left = [...replicas];
  const picked: Replica[] = [];
  while (picked.length < n && left.length) {
    left.sort((a, b) =>
      tier(a) - tier(b)
      || ratio(agentSpec(b.primary).containerName) - ratio(agentSpec(a.primary).containerName)
      || (b.primary.metadata.creationTimestamp ?? '').localeCompare(a.primary.metadata.creationTimestamp ?? '')
      || a.primary.metadata.name.localeCompare(b.primary.metadata.name));
    const r = left.shift()!;
    picked.push(r);
    for (const m of r.members) {
      const l = loads.get(agentSpec(m).containerName ?? '');
      if (l) l.count--;
    }
  }
  return picked;
}

export function reconcileAgentDeployment(d: KubeObject, input: AgentDeploymentInput): ReconcileResult {
  const spec = specOf(d);
  const want = spec.replicas ?? 1;
  const hash = templateHash(spec.template);
  const live = input.agents.filter((a) => !a.metadata.deletionTimestamp);
  const replicas = replicasOf(live);
  const current = replicas.filter((r) => replicaHash(r) === hash);
  const old = replicas.filter((r) => replicaHash(r) !== hash);
  const toDelete: Replica[] = [];
  let toCreate = 0;
  const events: EventSpec[] = [];

  const recreate = spec.updateStrategy?.type === 'Recreate';
  if (recreate && old.length) {
    toDelete.push(...old);
  } else if (recreate && input.agents.some((a) => a.metadata.deletionTimestamp && a.metadata.annotations?.[AgentAnnotations.templateHash] !== hash)) {
    // Recreate: nothing new starts while an old agent is still shutting down.
  } else if (old.length === 0 || recreate) {
    if (current.length < want) toCreate = want - current.length;
    if (current.length > want) toDelete.push(...pickForScaleDown(current, current.length - want, input.containers, input.allAgents));
  } else {
    const ru = spec.updateStrategy?.rollingUpdate ?? {};
    let surge = resolveIntOrPercent(ru.maxSurge, want, 1, true);
    const maxUnavailable = resolveIntOrPercent(ru.maxUnavailable, want, 0, false);
    if (surge === 0 && maxUnavailable === 0) surge = 1; // both zero could never progress
    const total = replicas.length;
    if (current.length > want) {
      toDelete.push(...pickForScaleDown(current, current.length - want, input.containers, input.allAgents));
    } else {
      toCreate = Math.max(0, Math.min(want - current.length, want + surge - total));
    }
    // Old replicas go while availability stays at want - maxUnavailable (Kubernetes' rule): unready
    // old ones within the surge budget first, then ready ones only as far as running agents allow.
    const minAvailable = want - maxUnavailable;
    const newNotReady = current.filter((r) => !replicaReady(r)).length;
    let budget = Math.max(0, total - minAvailable - newNotReady);
    for (const r of old.filter((o) => !replicaReady(o))) {
      if (budget <= 0) break;
      toDelete.push(r);
      budget--;
    }
    const readyOld = old.filter(replicaReady);
    const readyBudget = Math.min(budget, replicas.filter(replicaReady).length - minAvailable, readyOld.length);
    if (readyBudget > 0) toDelete.push(...pickForScaleDown(readyOld, readyBudget, input.containers, input.allAgents));
  }

  const deleteRefs = toDelete.flatMap((r) => r.members).map(refOf);
  const oldNames = toDelete.filter((r) => replicaHash(r) !== hash).map((r) => r.primary.metadata.name);
  const scaledNames = toDelete.filter((r) => replicaHash(r) === hash).map((r) => r.primary.metadata.name);
  if (toCreate > 0) {
    events.push({ type: 'Normal', reason: DeploymentEventReasons.ScalingUp, message: `created ${toCreate} agent${toCreate === 1 ? '' : 's'} (${want} desired)` });
  }
  if (scaledNames.length) {
    events.push({ type: 'Normal', reason: DeploymentEventReasons.ScalingDown, message: `deleted ${scaledNames.join(', ')} (${want} desired)` });
  }
  if (oldNames.length) {
    events.push({ type: 'Normal', reason: DeploymentEventReasons.RollingUpdate, message: `deleted outdated ${oldNames.join(', ')} (template ${hash})` });
  }

  const result: ReconcileResult = {};
  if (toCreate > 0) result.create = Array.from({ length: toCreate }, () => agentFromTemplate(d, hash));
  if (deleteRefs.length) result.delete = deleteRefs;
  if (events.length) result.events = events;
  const status = deploymentStatus(d, replicas, hash, input.now, toCreate > 0 || deleteRefs.length > 0);
  if (!sameStatus(d.status, status)) result.status = status;
  return result;
}

function deploymentStatus(d: KubeObject, replicas: Replica[], hash: string, now: number, changing: boolean): Record<string, unknown> {
  const spec = specOf(d);
  const want = spec.replicas ?? 1;
  const ready = replicas.filter(replicaReady).length;
  const updated = replicas.filter((r) => replicaHash(r) === hash).length;
  const unplaced = replicas.filter((r) => r.members.every((m) => !agentSpec(m).containerName && agentStatus(m).reason === 'Unschedulable'));
  const failed = replicas.filter((r) => r.members.every((m) => agentStatus(m).phase === 'Failed'));
  const placementMessage = unplaced
    .map((r) => agentStatus(r.primary).message)
    .filter((m): m is string => !!m)
    .sort()[0];
  // Availability is judged against the disruption budget: the replicas the user allows to be down.
  const maxUnavailable = resolveIntOrPercent(spec.disruption?.maxUnavailable, want, 1, false);
  const available = ready >= want - maxUnavailable;
  const complete = updated === want && replicas.length === want && ready === want && !changing;
  const prev = (d.status?.conditions as Condition[] | undefined) ?? [];
  const gen = d.metadata.generation;
  const cond = (type: string, status: Condition['status'], reason: string, message: string): Condition => {
    const before = prev.find((c) => c.type === type);
    const lastTransitionTime = before && before.status === status && before.lastTransitionTime ? before.lastTransitionTime : new Date(now).toISOString();
    return { type, status, reason, message, lastTransitionTime, ...(gen !== undefined ? { observedGeneration: gen } : {}) };
  };
  const conditions: Condition[] = [
    available
      ? cond('Available', 'True', DeploymentConditionReasons.MinimumAgentsAvailable, `${ready}/${want} agents running`)
      : cond('Available', 'False', DeploymentConditionReasons.MinimumAgentsUnavailable, `${ready}/${want} agents running, at least ${Math.max(0, want - maxUnavailable)} needed`),
    complete
      ? cond('Progressing', 'True', DeploymentConditionReasons.RolloutComplete, `all ${want} agents are up to date and running`)
      : cond('Progressing', 'True', updated < replicas.length ? DeploymentConditionReasons.RollingOut : DeploymentConditionReasons.ScalingAgents,
        `${updated}/${want} agents up to date, ${ready} running`),
    unplaced.length
      ? cond('Degraded', 'True', DeploymentConditionReasons.Unschedulable, `${unplaced.length} agent${unplaced.length === 1 ? '' : 's'} cannot be placed: ${placementMessage ?? 'no feasible container'}`)
      : failed.length
        ? cond('Degraded', 'True', DeploymentConditionReasons.AgentsFailed, `${failed.length} agent${failed.length === 1 ? '' : 's'} failed`)
        : cond('Degraded', 'False', DeploymentConditionReasons.AsExpected, 'all agents placed'),
  ];
  const status: Record<string, unknown> = {
    replicas: replicas.length,
    readyReplicas: ready,
    availableReplicas: ready,
    updatedReplicas: updated,
    unavailableReplicas: Math.max(0, want - ready),
    unplacedReplicas: unplaced.length,
    selector: deploymentSelector(d.metadata.name),
    conditions,
  };
  if (gen !== undefined) status.observedGeneration = gen;
  if (placementMessage) status.placementMessage = placementMessage;
  return status;
}

function sameStatus(a: Record<string, unknown> | undefined, b: Record<string, unknown>): boolean {
  return canonicalJson(a ?? {}) === canonicalJson(b);
}
