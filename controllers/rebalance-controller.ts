// Rebalance controller, keyed per Cluster (= namespace): runs planRebalance every rebalancePolicy.interval
// when enabled, 5 s after a Node becomes Ready or an agent host becomes Running, and when the rebalance API
// sets the `drover.dev/rebalance-requested` annotation. Moves are make-before-break: create a replacement
// Agent bound to the target, delete the old one once the replacement is Running, roll back on timeout.
import type { KubeObject } from '../core/types.ts';
import type { Store } from '../core/store.ts';
import type { ResourceRegistry, ResourceType } from '../core/resources.ts';
import type { Logger } from '../core/logging.ts';
import { isApiError } from '../core/errors.ts';
import { realClock, type Clock } from '../core/clock.ts';
import { isAgentHost } from '../core/agent-host-load.ts';
import { planRebalance, type PlannedMove, type RebalancePlan } from '../reconcilers/rebalance-planner.ts';
import { scheduleAgents } from '../reconcilers/agent-scheduler.ts';
import {
  Annotations, REBALANCER, deploymentMovePolicy, deploymentOf, inFlightReplacements, isNodeReady, rebalancePolicyOf, timeMs,
} from '../reconcilers/rebalance-policy.ts';
import { createController, type Controller, type InformerSource, type Result } from './controller.ts';
import type { EventRecorder } from './event-recorder.ts';
import { mustResolve } from './resolve-kind.ts';

export const RebalanceEventReasons = {
  Rebalanced: 'Rebalanced',
  MigrationFailed: 'MigrationFailed',
  RebalanceRound: 'RebalanceRound',
} as const;

export const TRIGGER_DEBOUNCE_MS = 5000;
/** A rebalance request older than this (e.g. seen again after a manager restart) is ignored. */
export const REQUEST_MAX_AGE_MS = 10 * 60_000;
const DEFAULT_MIGRATION_TIMEOUT_MS = 60_000;
/** How soon to look again after acting, in case the informer event that follows is missed. */
const RECHECK_MS = 1000;

export interface RebalanceControllerOptions {
  informers: InformerSource;
  store: Store;
  registry: ResourceRegistry;
  recorder: EventRecorder;
  logger: Logger;
  clock?: Clock;
  triggerDebounceMs?: number;
}

interface ClusterState {
  lastRoundAt?: number;
  lastRequest?: string;
  /** A Node/Container event asked for a round at this time. */
  triggeredAt?: number;
}

/** Set by `POST /api/v1/cluster/agents/{id}/migrate` (api/seed-cluster-api.ts): a target container, or `any`. */
export const MIGRATE_REQUESTED_ANNOTATION = 'drover.dev/migrate-requested';

const MOVER_ANNOTATIONS: readonly string[] = [Annotations.replaces, Annotations.lastMoved, Annotations.movedBy, Annotations.moveReason];

/** The replacement Agent of a planned move: the old one's labels, owner and spec, bound to the target. */
export function replacementAgent(old: KubeObject, move: PlannedMove, now: number): KubeObject {
  const annotations = Object.fromEntries(Object.entries(old.metadata.annotations ?? {}).filter(([k]) => !MOVER_ANNOTATIONS.includes(k)));
  return {
    apiVersion: old.apiVersion,
    kind: old.kind,
    metadata: {
      name: '',
      generateName: `${move.deployment}-`,
      namespace: old.metadata.namespace,
      labels: { ...old.metadata.labels },
      annotations: {
        ...annotations,
        [Annotations.replaces]: old.metadata.name,
        [Annotations.lastMoved]: new Date(now).toISOString(),
        [Annotations.movedBy]: REBALANCER,
        [Annotations.moveReason]: `from ${move.from.container} (${move.from.node}) to ${move.to.container} (${move.to.node}): ${move.reason}`,
      },
      ...(old.metadata.ownerReferences ? { ownerReferences: structuredClone(old.metadata.ownerReferences) } : {}),
    },
    spec: { ...structuredClone(old.spec ?? {}), containerName: move.to.container },
  };
}

export function createRebalanceController(opts: RebalanceControllerOptions): Controller {
  const rt = {
    cluster: mustResolve(opts.registry, 'Cluster'),
    node: mustResolve(opts.registry, 'Node'),
    container: mustResolve(opts.registry, 'Container'),
    agent: mustResolve(opts.registry, 'Agent'),
    deployment: mustResolve(opts.registry, 'AgentDeployment'),
  };
  const debounceMs = opts.triggerDebounceMs ?? TRIGGER_DEBOUNCE_MS;
  const states = new Map<string, ClusterState>();
  const stateOf = (ns: string) => states.get(ns) ?? states.set(ns, {}).get(ns)!;
  // Informers must be requested before the manager starts: take every one this controller reads now.
  const caches = new Map(Object.values(rt).map((t) => [t.key, opts.informers.informer(t.key).cache]));
  const cache = (t: ResourceType) => caches.get(t.key)!;

  const controller = createController({
    name: 'rebalance',
    resource: rt.cluster,
    informers: opts.informers,
    logger: opts.logger,
    clock: opts.clock,
    // Our replacements changing phase decide when a move completes.
    watches: [{
      resource: rt.agent.key,
      map: (a) => (a.metadata.namespace && (a.metadata.annotations?.[Annotations.movedBy] === REBALANCER || a.metadata.annotations?.[MIGRATE_REQUESTED_ANNOTATION])
        ? [{ name: a.metadata.namespace }] : []),
    }],
    async reconcile(req, ctx): Promise<Result> {
      const ns = req.name;
      const cluster = cache(rt.cluster).get(undefined, ns);
      if (!cluster || cluster.metadata.deletionTimestamp) {
        states.delete(ns);
        return {};
      }
      const now = ctx.clock.now();
      const agents = cache(rt.agent).list(ns);
      const deployments = cache(rt.deployment).list(ns);
      const depByName = new Map(deployments.map((d) => [d.metadata.name, d]));

      // 1. Finish or roll back the moves in flight; no new round until none is left.
      const inFlight = inFlightReplacements(agents);
      if (inFlight.size > 0) {
        let nextCheck = Infinity;
        for (const [oldName, repl] of inFlight) {
          if (repl.metadata.annotations?.[Annotations.movedBy] !== REBALANCER) {
            nextCheck = Math.min(nextCheck, RECHECK_MS * 5); // someone else's move (drover migrate): wait for it
            continue;
          }
          const old = agents.find((a) => a.metadata.name === oldName)!;
          const depName = deploymentOf(repl);
          const dep = depName ? depByName.get(depName) : undefined;
          const timeoutMs = dep ? deploymentMovePolicy(dep).migrationTimeoutMs : DEFAULT_MIGRATION_TIMEOUT_MS;
          const started = timeMs(repl.metadata.annotations?.[Annotations.lastMoved]) ?? timeMs(repl.metadata.creationTimestamp) ?? now;
          if (repl.status?.phase === 'Running') {
            await deleteIgnoringGone(old);
            const why = repl.metadata.annotations?.[Annotations.moveReason] ?? `to ${String(repl.spec?.containerName)}`;
            await opts.recorder.record(dep ?? repl, 'Normal', RebalanceEventReasons.Rebalanced, `moved ${oldName} ${why}`);
            ctx.logger.info('rebalance move done', { agent: oldName, replacement: repl.metadata.name });
            nextCheck = Math.min(nextCheck, RECHECK_MS);
          } else if (now - started >= timeoutMs) {
            await deleteIgnoringGone(repl);
            await opts.recorder.record(dep ?? old, 'Warning', RebalanceEventReasons.MigrationFailed,
              `replacement ${repl.metadata.name} of ${oldName} was not Running within ${Math.round(timeoutMs / 1000)}s: deleted it, ${oldName} stays on ${String(old.spec?.containerName)}`);
            ctx.logger.warn('rebalance move rolled back', { agent: oldName, replacement: repl.metadata.name });
            nextCheck = Math.min(nextCheck, RECHECK_MS);
          } else {
            nextCheck = Math.min(nextCheck, started + timeoutMs - now);
          }
        }
        return { requeueAfter: Math.max(1, nextCheck) };
      }

      // 2. Migrations requested through the API: make-before-break moves like the rebalancer's own.
      const requestedMoves = agents.filter((a) => a.metadata.annotations?.[MIGRATE_REQUESTED_ANNOTATION] && !a.metadata.deletionTimestamp);
      if (requestedMoves.length > 0) {
        const view = { nodes: cache(rt.node).list(ns), containers: cache(rt.container).list(ns), agents, now };
        for (const old of requestedMoves) await startRequestedMove(old, view, now, ctx.logger);
        return { requeueAfter: RECHECK_MS };
      }

      // 3. Is a round due?
      const policy = rebalancePolicyOf(cluster);
      const st = stateOf(ns);
      const requested = cluster.metadata.annotations?.[Annotations.rebalanceRequested];
      const requestedMs = timeMs(requested);
      let why: string | undefined;
      if (requested && requested !== st.lastRequest && requestedMs !== undefined && now - requestedMs < REQUEST_MAX_AGE_MS) why = 'requested';
      else if (policy.enabled && st.triggeredAt !== undefined && now >= st.triggeredAt) why = 'a node or container became ready';
      else if (policy.enabled && (st.lastRoundAt === undefined || now - st.lastRoundAt >= policy.intervalMs)) why = 'periodic';
      if (!why) {
        if (!policy.enabled) return {};
        const waits = [(st.lastRoundAt ?? now) + policy.intervalMs - now, st.triggeredAt !== undefined ? st.triggeredAt - now : Infinity];
        return { requeueAfter: Math.max(1, Math.min(...waits)) };
      }

      // 4. Plan and start the moves.
      const plan = planRebalance({
        cluster, agents, deployments, nodes: cache(rt.node).list(ns), containers: cache(rt.container).list(ns),
      }, now);
      st.lastRoundAt = now;
      st.lastRequest = requested;
      st.triggeredAt = undefined;
      let started = 0;
      for (const move of plan.moves) {
        const old = agents.find((a) => a.metadata.name === move.agent);
        if (!old) continue;
        const created = await opts.store.create(rt.agent.key, replacementAgent(old, move, now));
        started++;
        ctx.logger.info('rebalance move started', { agent: move.agent, replacement: created.metadata.name, from: move.from.container, to: move.to.container });
      }
      if (started > 0 || why === 'requested') {
        await opts.recorder.record(cluster, 'Normal', RebalanceEventReasons.RebalanceRound, roundMessage(why, plan, started));
      }
      // A round its limits cut short (per-round maximum, disruption budgets) continues as soon as its moves
      // are done, rather than an interval later; there are never more moves in flight than the limits allow.
      if (started > 0 && policy.enabled && plan.imbalanceAfter > plan.threshold) st.triggeredAt = now;
      // Agents placed moments ago (e.g. before every agent host was up) are too young to move: come back
      // when they are old enough instead of a whole interval later.
      if (started === 0 && policy.enabled && plan.retryAt !== undefined && plan.retryAt - now < policy.intervalMs) {
        st.triggeredAt = plan.retryAt;
        return { requeueAfter: Math.max(1, plan.retryAt - now) };
      }
      return { requeueAfter: started > 0 ? RECHECK_MS : policy.enabled ? policy.intervalMs : 0 };
    },
  });

  /** Start one requested move (target from the annotation, else the scheduler's choice), then clear the request. */
  async function startRequestedMove(old: KubeObject, view: { nodes: KubeObject[]; containers: KubeObject[]; agents: KubeObject[]; now: number }, now: number, logger: Logger): Promise<void> {
    const wanted = old.metadata.annotations![MIGRATE_REQUESTED_ANNOTATION];
    const from = String(old.spec?.containerName ?? '');
    const nodeOf = (c: string) => String(view.containers.find((x) => x.metadata.name === c)?.status?.nodeName ?? '');
    let to: string | undefined = wanted !== 'any' ? wanted : undefined;
    let reason = 'requested';
    if (!to) {
      const pending = { ...old, spec: { ...old.spec, containerName: undefined } };
      const plan = scheduleAgents([pending], view, { seed: old.metadata.namespace, exclude: { [old.metadata.name]: [from] } });
      to = plan.bindings[0]?.container;
      if (!to) reason = plan.unschedulable[0]?.message ?? 'no container fits';
    }
    const annotations = { ...old.metadata.annotations };
    delete annotations[MIGRATE_REQUESTED_ANNOTATION];
    await opts.store.update(rt.agent.key, { ...old, metadata: { ...old.metadata, annotations } });
    if (!to || to === from) {
      await opts.recorder.record(old, 'Warning', RebalanceEventReasons.MigrationFailed, `migration of ${old.metadata.name} requested but not started: ${to === from ? `it already runs in ${from}` : reason}`);
      return;
    }
    const move: PlannedMove = {
      agent: old.metadata.name, deployment: deploymentOf(old) ?? old.metadata.name,
      from: { container: from, node: nodeOf(from) }, to: { container: to, node: nodeOf(to) }, reason,
    };
    const created = await opts.store.create(rt.agent.key, replacementAgent(old, move, now));
    logger.info('requested migration started', { agent: old.metadata.name, replacement: created.metadata.name, from, to });
  }

  async function deleteIgnoringGone(obj: KubeObject): Promise<void> {
    try {
      await opts.store.delete(rt.agent.key, obj.metadata.namespace, obj.metadata.name, { uid: obj.metadata.uid });
    } catch (err) {
      if (isApiError(err, 404)) return; // already gone: the move's goal holds
      throw new Error(`deleting agent ${obj.metadata.name}`, { cause: err });
    }
  }

  // Triggers: a Node that becomes Ready or an agent host that becomes Running may take load.
  const trigger = (ns: string | undefined) => {
    if (!ns) return;
    const st = stateOf(ns);
    if (st.triggeredAt !== undefined) return; // a round is already coming: the debounce window collects
    st.triggeredAt = (opts.clock ?? realClock).now() + debounceMs;
    controller.queue.addAfter(ns, debounceMs);
  };
  const nodeInf = opts.informers.informer(rt.node.key);
  nodeInf.on('update', (old, obj) => {
    if (!isNodeReady(old) && isNodeReady(obj)) trigger(obj.metadata.namespace);
  });
  nodeInf.on('add', (obj) => {
    if (nodeInf.hasSynced() && isNodeReady(obj)) trigger(obj.metadata.namespace);
  });
  const containerInf = opts.informers.informer(rt.container.key);
  const running = (c: KubeObject) => isAgentHost(c) && c.status?.phase === 'Running';
  containerInf.on('update', (old, obj) => {
    if (!running(old) && running(obj)) trigger(obj.metadata.namespace);
  });
  containerInf.on('add', (obj) => {
    if (containerInf.hasSynced() && running(obj)) trigger(obj.metadata.namespace);
  });
  return controller;
}

function roundMessage(why: string, plan: RebalancePlan, started: number): string {
  const imb = `imbalance ${plan.imbalanceBefore.toFixed(2)} → ${plan.imbalanceAfter.toFixed(2)} (threshold ${plan.threshold.toFixed(2)})`;
  if (started === 0) return `rebalance round (${why}): nothing to do, ${imb}`;
  return `rebalance round (${why}): ${started} move(s) started, ${plan.skipped.length} agent(s) skipped, ${imb}`;
}
