// Agent scheduling controller, one reconcile per namespace (a Cluster): unbinds Agents whose container
// or node failed (reconcilers/agent-migration.ts decides when that is safe), confirms bindings preset by
// migrate/rebalance, and binds pending Agents with scheduleAgents. Own writes overlay the cache.
import type { KubeObject } from '../core/types.ts';
import type { AgentDeploymentSpec, AgentSpec, AgentStatus } from '../core/kinds.generated.ts';
import { isApiError } from '../core/errors.ts';
import { realClock } from '../core/clock.ts';
import { scheduleAgents, feasibleContainers, type SchedulerView } from '../reconcilers/agent-scheduler.ts';
import { containerNodeName } from '../reconcilers/agent-scheduler-state.ts';
import { AgentAnnotations } from '../reconcilers/agent-deployment-reconciler.ts';
import {
  MIGRATING_FROM_ANNOTATION, MigrationReasons, describeFrom, flappingNodes, parseMigratingFrom, planMigrations, type MigrationFrom,
} from '../reconcilers/agent-migration.ts';
import { failurePolicyOf } from '../reconcilers/node-lifecycle.ts';
import { createController, type Controller, type Request } from './controller.ts';
import { createFreshView } from './fresh-view.ts';
import { kindsWithInformers, recorderFor, type ManagerControllerOptions } from './resolve-kind.ts';

export const RR_CURSOR_ANNOTATION = 'drover.dev/rr-cursor';
export const UNSCHEDULABLE_RETRY_MS = 5000;

export const SchedulingEventReasons = {
  Scheduled: 'Scheduled',
  FailedScheduling: 'FailedScheduling',
  Migrating: MigrationReasons.Migrating,
  Migrated: MigrationReasons.Migrated,
} as const;

export interface AgentSchedulingControllerOptions extends ManagerControllerOptions {
  /** Floor for fencing deadlines: default the time this controller is created (the manager's start). */
  managerStartedAt?: number;
}

const specOf = (a: KubeObject) => (a.spec ?? {}) as AgentSpec;
const statusOf = (a: KubeObject) => (a.status ?? {}) as AgentStatus;
// RFC 3339 timestamps of one format sort as plain strings; `<` avoids localeCompare's cost on hot sorts.
const cmp = (x: string, y: string) => (x < y ? -1 : x > y ? 1 : 0);
const byAge = (a: KubeObject, b: KubeObject) =>
  cmp(a.metadata.creationTimestamp ?? '', b.metadata.creationTimestamp ?? '') || cmp(a.metadata.name, b.metadata.name);

function withAnnotation(meta: KubeObject['metadata'], key: string, value: string | undefined): KubeObject['metadata'] {
  const annotations = { ...(meta.annotations ?? {}) };
  if (value === undefined) delete annotations[key];
  else annotations[key] = value;
  return { ...meta, annotations };
}

function withoutBinding(spec: AgentSpec): Record<string, unknown> {
  const { containerName: _dropped, ...rest } = spec;
  return rest;
}

export function createAgentSchedulingController(opts: AgentSchedulingControllerOptions): Controller {
  const clock = opts.clock ?? realClock;
  const managerStartedAt = opts.managerStartedAt ?? clock.now();
  const { rt, inf } = kindsWithInformers(opts.registry, opts.informers, { clusters: 'Cluster', nodes: 'Node', containers: 'Container', agents: 'Agent', deployments: 'AgentDeployment' });
  const recorder = recorderFor(opts, 'agent-scheduler', clock);
  const fresh = createFreshView();
  const nsOf = (o: KubeObject): Request[] => (o.metadata.namespace ? [{ name: o.metadata.namespace }] : []);

  return createController({
    name: 'agent-scheduler',
    resource: rt.clusters,
    informers: opts.informers,
    logger: opts.logger,
    clock,
    workers: opts.workers,
    watches: [
      { resource: rt.agents.key, map: nsOf },
      { resource: rt.nodes.key, map: nsOf },
      { resource: rt.containers.key, map: nsOf },
    ],
    async reconcile(req, ctx) {
      const ns = req.name;
      const now = ctx.clock.now();
      const policy = failurePolicyOf(inf.clusters.cache.get(undefined, ns));
      const nodes = inf.nodes.cache.list(ns);
      const containers = inf.containers.cache.list(ns);
      const deployments = inf.deployments.cache.list(ns);
      const agents = new Map(fresh.overlay(inf.agents.cache.list(ns), ns, now).map((a) => [a.metadata.name, a]));
      const containerByName = new Map(containers.map((c) => [c.metadata.name, c]));
      const view = (): SchedulerView => ({ nodes, containers, agents: [...agents.values()], now, flappingNodes: flappingNodes(nodes, now) });

      async function write(next: KubeObject): Promise<KubeObject | undefined> {
        try {
          const stored = await opts.store.update(rt.agents.key, next);
          fresh.wrote(stored, now);
          agents.set(stored.metadata.name, stored);
          return stored;
        } catch (err) {
          if (isApiError(err, 404)) {
            agents.delete(next.metadata.name);
            return undefined;
          }
          throw err;
        }
      }

      // 1. Failure migration: unbind the same Agent; it is re-placed below, away from the old container.
      const disabled = new Set(deployments.filter((d) => (d.spec as AgentDeploymentSpec | undefined)?.migration?.enabled === false).map((d) => d.metadata.name));
      const migrations = planMigrations([...agents.values()], { nodes, containers, now, gracePeriodMs: policy.gracePeriodMs, managerStartedAt, migrationDisabled: disabled });
      for (const { agent, from } of migrations.unbind) {
        const message = `${describeFrom(from)}: rescheduling`;
        const stored = await write({
          ...agent,
          metadata: withAnnotation(agent.metadata, MIGRATING_FROM_ANNOTATION, JSON.stringify(from)),
          spec: withoutBinding(specOf(agent)),
          status: { phase: 'Pending', reason: MigrationReasons.Migrating, message, ...(statusOf(agent).restarts !== undefined ? { restarts: statusOf(agent).restarts } : {}) },
        });
        if (stored) {
          await recorder.record(stored, 'Warning', SchedulingEventReasons.Migrating, message);
          ctx.logger.info('agent unbound for migration', { agent: agent.metadata.name, from });
        }
      }

      // 2. Bindings preset by migrate/rebalance: confirm them if the container fits, else let the scheduler choose.
      for (const agent of [...agents.values()].sort(byAge)) {
        const target = specOf(agent).containerName;
        if (!target || agent.metadata.deletionTimestamp || statusOf(agent).nodeName) continue;
        const container = containerByName.get(target);
        const ok = container && feasibleContainers(agent, view()).feasible.some((c) => c.metadata.name === target);
        if (ok) {
          const node = containerNodeName(container);
          const stored = await write({ ...agent, status: { ...statusOf(agent), phase: 'Scheduled', containerName: target, nodeName: node, reason: undefined, message: undefined } });
          if (stored) await recorder.record(stored, 'Normal', SchedulingEventReasons.Scheduled, `bound to container ${target} on ${node}`);
        } else {
          const { reasons } = feasibleContainers(agent, view());
          const why = container ? 'it cannot take the agent now' : 'it does not exist';
          await write({ ...agent, spec: withoutBinding(specOf(agent)), status: { phase: 'Pending', message: `requested container ${target} dropped: ${why}` } });
          ctx.logger.info('preset binding dropped', { agent: agent.metadata.name, container: target, reasons });
        }
      }

      // 3. Pending agents, oldest first.
      const pending = [...agents.values()].filter((a) => !specOf(a).containerName && !a.metadata.deletionTimestamp).sort(byAge);
      let requeueAfter = migrations.requeueAfter;
      if (pending.length) {
        const exclude: Record<string, string[]> = {};
        for (const a of pending) {
          const away = [parseMigratingFrom(a)?.container, specOf(agents.get(a.metadata.annotations?.[AgentAnnotations.replaces] ?? '') ?? ({ metadata: { name: '' } } as KubeObject)).containerName]
            .filter((c): c is string => !!c);
          if (away.length) exclude[a.metadata.name] = away;
        }
        const cursors: Record<string, number> = {};
        for (const d of deployments) {
          const v = Number(d.metadata.annotations?.[RR_CURSOR_ANNOTATION]);
          if (Number.isInteger(v)) cursors[`${ns}/${d.metadata.name}`] = v;
        }
        const plan = scheduleAgents(pending, view(), { seed: ns, cursors, exclude });
        for (const b of plan.bindings) {
          const agent = agents.get(b.agent)!;
          const from = parseMigratingFrom(agent);
          const stored = await write({
            ...agent,
            metadata: withAnnotation(agent.metadata, MIGRATING_FROM_ANNOTATION, undefined),
            spec: { ...specOf(agent), containerName: b.container },
            status: { phase: 'Scheduled', containerName: b.container, nodeName: b.node, ...(statusOf(agent).restarts !== undefined ? { restarts: statusOf(agent).restarts } : {}) },
          });
          if (!stored) continue;
          if (from) await recorder.record(stored, 'Normal', SchedulingEventReasons.Migrated, migratedMessage(from, b.container, b.node));
          else await recorder.record(stored, 'Normal', SchedulingEventReasons.Scheduled, `bound to container ${b.container} on ${b.node}`);
        }
        for (const u of plan.unschedulable) {
          const agent = agents.get(u.agent)!;
          const st = statusOf(agent);
          if (st.reason === 'Unschedulable' && st.message === u.message) continue;
          const stored = await write({ ...agent, status: { ...st, phase: 'Pending', reason: 'Unschedulable', message: u.message } });
          if (stored) await recorder.record(stored, 'Warning', SchedulingEventReasons.FailedScheduling, u.message);
        }
        if (plan.unschedulable.length) requeueAfter = Math.min(requeueAfter ?? UNSCHEDULABLE_RETRY_MS, UNSCHEDULABLE_RETRY_MS);
        await saveCursors(deployments, ns, cursors, plan.cursors);
      }
      ctx.logger.debug('scheduled', { namespace: ns, pending: pending.length, migrated: migrations.unbind.length });
      return requeueAfter ? { requeueAfter } : {};
    },
  });

  async function saveCursors(deployments: KubeObject[], ns: string, before: Record<string, number>, after: Record<string, number>): Promise<void> {
    for (const d of deployments) {
      const key = `${ns}/${d.metadata.name}`;
      if (after[key] === undefined || after[key] === before[key]) continue;
      try {
        await opts.store.update(rt.deployments.key, { ...d, metadata: withAnnotation(d.metadata, RR_CURSOR_ANNOTATION, String(after[key])) });
      } catch (err) {
        // A stale cursor only shifts where RoundRobin starts next time; the next reconcile writes it again.
        if (!isApiError(err, 404) && !isApiError(err, 409)) throw err;
      }
    }
  }
}

/** "moved from container c1 on node-a (node NotReady) to c4 on node-b" */
export function migratedMessage(from: MigrationFrom, container: string, node: string): string {
  return `moved from ${describeFrom(from)} to ${container} on ${node}`;
}
