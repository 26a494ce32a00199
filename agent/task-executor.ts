// Runs one Task: claim it (status PUT carrying the Assigned resourceVersion, so only one claimer
// wins), execute it through the runtime while renewing the lease, then record the outcome.
import type { ApiClient } from '../core/client.ts';
import type { Clock } from '../core/clock.ts';
import { isApiError } from '../core/errors.ts';
import type { Logger } from '../core/logging.ts';
import type { ResourceType } from '../core/resources.ts';
import { CANCEL_REQUESTED_ANNOTATION, TASK_LEASE_MS, TASK_LEASE_RENEW_MS } from '../core/task-meta.ts';
import type { KubeObject } from '../core/types.ts';
import { AgentEventReasons, type AgentEventWriter } from './events.ts';
import { isoMs } from './heartbeat.ts';
import type { AgentMetrics } from './metrics.ts';
import type { AgentRequest, ContainerInfo, ContainerRuntime } from './runtime.ts';
import { keyOf } from './sync-plan.ts';

const LEASE_MS = TASK_LEASE_MS;
const LEASE_RENEW_MS = TASK_LEASE_RENEW_MS;

export const TaskFailureReasons = {
  TargetNotFound: 'TargetNotFound',
  TargetChanged: 'TargetChanged',
  RuntimeError: 'RuntimeError',
  Unsupported: 'Unsupported',
} as const;

export type TaskOutcome = 'Completed' | 'Failed' | 'Cancelled' | 'NotClaimed';

export interface TaskExecutorDeps {
  client: () => ApiClient;
  types: { tasks: ResourceType; containers: ResourceType; agents: ResourceType };
  runtime: ContainerRuntime;
  nodeName: string;
  logger: Logger;
  metrics: AgentMetrics;
  events: AgentEventWriter;
  clock: Clock;
  /** Serialises runtime operations per container (`ns/name`). */
  withContainer<T>(key: string, fn: () => Promise<T>): Promise<T>;
  /** A container's runtime state changed: report its status (resolves once reported, so a finished task's target already shows its new state). */
  changed(namespace: string, name: string): Promise<void> | void;
  leaseMs?: number;
  renewMs?: number;
}

class TaskFailure extends Error {
  readonly reason: string;
  constructor(reason: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TaskFailure';
    this.reason = reason;
  }
}

interface TaskSpecView {
  type: string;
  target: { kind?: string; name: string; uid?: string; generation?: number };
}

export async function claimTask(deps: TaskExecutorDeps, task: KubeObject): Promise<KubeObject | undefined> {
  if ((task.status?.state as string | undefined) !== 'Assigned') return undefined; // Cancelled (or anything else) is not started
  const now = deps.clock.now();
  const status = {
    ...(task.status ?? {}),
    state: 'Running',
    attempts: ((task.status?.attempts as number | undefined) ?? 0) + 1,
    startedAt: isoMs(now),
    leaseHolder: deps.nodeName,
    leaseExpiresAt: isoMs(now + (deps.leaseMs ?? LEASE_MS)),
  };
  delete (status as Record<string, unknown>).waitReason;
  try {
    return await deps.client().updateStatus(deps.types.tasks, { ...task, status });
  } catch (e) {
    if (isApiError(e, 409) || isApiError(e, 404)) {
      deps.logger.debug('task changed before it could be claimed', { task: task.metadata.name, err: (e as Error).message });
      return undefined;
    }
    throw e;
  }
}

async function currentContainer(deps: TaskExecutorDeps, ns: string, spec: TaskSpecView): Promise<KubeObject> {
  let c: KubeObject;
  try {
    c = await deps.client().get(deps.types.containers, ns, spec.target.name);
  } catch (e) {
    if (isApiError(e, 404)) throw new TaskFailure(TaskFailureReasons.TargetNotFound, `container ${spec.target.name} does not exist`, { cause: e });
    throw e;
  }
  if (spec.target.uid && c.metadata.uid !== spec.target.uid) {
    throw new TaskFailure(TaskFailureReasons.TargetChanged, `container ${spec.target.name} was recreated (uid ${c.metadata.uid}, task is for ${spec.target.uid})`);
  }
  return c;
}

export async function deployContainer(deps: TaskExecutorDeps, c: KubeObject): Promise<ContainerInfo> {
  const ns = c.metadata.namespace ?? '';
  return deps.runtime.deploy({ namespace: ns, name: c.metadata.name, uid: c.metadata.uid ?? '', generation: c.metadata.generation ?? 1, spec: c.spec ?? {} });
}

function infoResult(info: ContainerInfo | undefined): Record<string, unknown> {
  if (!info) return {};
  return Object.fromEntries(Object.entries({ containerID: info.containerID, pid: info.pid, state: info.state, generation: info.generation }).filter(([, v]) => v !== undefined));
}

async function execute(deps: TaskExecutorDeps, ns: string, spec: TaskSpecView): Promise<Record<string, unknown>> {
  const kind = spec.target.kind ?? 'Container';
  const name = spec.target.name;
  if (kind === 'Agent') return executeAgentTask(deps, ns, spec);
  const rt = deps.runtime;
  const key = keyOf(ns, name);
  return deps.withContainer(key, async () => {
    try {
      switch (spec.type) {
        case 'deploy':
        case 'update':
          return infoResult(await deployContainer(deps, await currentContainer(deps, ns, spec)));
        case 'start':
        case 'restart': {
          // Nothing local to start (e.g. the agent restarted): deploying it is the same outcome.
          if (!rt.get(ns, name)) return infoResult(await deployContainer(deps, await currentContainer(deps, ns, spec)));
          return infoResult(spec.type === 'start' ? await rt.start(ns, name) : await rt.restart(ns, name));
        }
        case 'stop': {
          if (!rt.get(ns, name)) return { state: 'exited' };
          const c = await currentContainer(deps, ns, spec).catch(() => undefined);
          const grace = c?.spec?.terminationGracePeriodSeconds as number | undefined;
          const info = await rt.stop(ns, name, grace);
          void deps.events.record({ kind: 'Container', name, namespace: ns, uid: spec.target.uid }, 'Normal', AgentEventReasons.Killed, `stopped container ${name} (stop task)`);
          return infoResult(info);
        }
        case 'delete':
          await rt.remove(ns, name);
          return { removed: true };
        default:
          throw new TaskFailure(TaskFailureReasons.Unsupported, `task type ${spec.type} does not apply to a Container`);
      }
    } finally {
      await Promise.resolve(deps.changed(ns, name)).catch(() => undefined);
    }
  });
}

async function executeAgentTask(deps: TaskExecutorDeps, ns: string, spec: TaskSpecView): Promise<Record<string, unknown>> {
  if (spec.type === 'stopAgent') {
    await deps.runtime.stopAgent(ns, spec.target.name);
    return { stopped: true };
  }
  if (spec.type !== 'startAgent') throw new TaskFailure(TaskFailureReasons.Unsupported, `task type ${spec.type} does not apply to an Agent`);
  let agent: KubeObject;
  try {
    agent = await deps.client().get(deps.types.agents, ns, spec.target.name);
  } catch (e) {
    if (isApiError(e, 404)) throw new TaskFailure(TaskFailureReasons.TargetNotFound, `agent ${spec.target.name} does not exist`, { cause: e });
    throw e;
  }
  const s = (agent.spec ?? {}) as Record<string, unknown>;
  if (!s.containerName || !Array.isArray(s.command)) throw new TaskFailure(TaskFailureReasons.Unsupported, `agent ${spec.target.name} has no containerName or command yet`);
  const req: AgentRequest = {
    namespace: ns, name: agent.metadata.name, uid: agent.metadata.uid ?? '', containerName: s.containerName as string,
    command: s.command as string[], args: s.args as string[] | undefined, env: s.env as AgentRequest['env'],
    config: s.config as Record<string, unknown> | undefined, restartPolicy: s.restartPolicy as AgentRequest['restartPolicy'],
  };
  const info = await deps.runtime.startAgent(req);
  return { id: info.id, pid: info.pid, state: info.state };
}

async function finish(deps: TaskExecutorDeps, task: KubeObject, patch: Record<string, unknown>): Promise<TaskOutcome> {
  const ns = task.metadata.namespace;
  let current: KubeObject | undefined;
  try {
    current = await deps.client().get(deps.types.tasks, ns, task.metadata.name);
  } catch (e) {
    if (isApiError(e, 404)) return patch.state as TaskOutcome; // deleted meanwhile (e.g. GC with its container)
    throw e;
  }
  // A cancel that arrived while the task ran takes effect now that it has finished.
  const cancelled = current.status?.state === 'Cancelled' || current.metadata.annotations?.[CANCEL_REQUESTED_ANNOTATION] !== undefined;
  const body = cancelled ? { ...patch, state: 'Cancelled', reason: 'Cancelled', message: `cancelled while running; the run ended ${patch.state}` } : patch;
  await deps.client().patch(deps.types.tasks, ns, task.metadata.name, { status: { ...body, leaseExpiresAt: null } }, 'merge', { subresource: 'status' });
  return body.state as TaskOutcome;
}

/** Claim and run one Assigned task; never throws for a task failure (it is recorded on the task). */
export async function runTask(deps: TaskExecutorDeps, task: KubeObject): Promise<TaskOutcome> {
  const claimed = await claimTask(deps, task);
  if (!claimed) return 'NotClaimed';
  const spec = claimed.spec as unknown as TaskSpecView;
  const ns = claimed.metadata.namespace ?? '';
  const log = deps.logger.child({ task: claimed.metadata.name, type: spec.type, target: spec.target.name });
  log.info('task started');
  let timer: object | undefined;
  const renew = () => {
    timer = deps.clock.setTimeout(() => {
      const until = isoMs(deps.clock.now() + (deps.leaseMs ?? LEASE_MS));
      deps.client().patch(deps.types.tasks, ns, claimed.metadata.name, { status: { leaseExpiresAt: until } }, 'merge', { subresource: 'status' })
        .catch((e: unknown) => log.warn('could not renew the task lease', { err: (e as Error).message }));
      renew();
    }, deps.renewMs ?? LEASE_RENEW_MS);
  };
  renew();
  let patch: Record<string, unknown>;
  try {
    const result = await execute(deps, ns, spec);
    patch = { state: 'Completed', completedAt: isoMs(deps.clock.now()), result, reason: null, message: null };
  } catch (e) {
    const reason = e instanceof TaskFailure ? e.reason : TaskFailureReasons.RuntimeError;
    log.warn('task failed', { reason, err: (e as Error).message });
    patch = { state: 'Failed', completedAt: isoMs(deps.clock.now()), reason, message: (e as Error).message.slice(0, 4000) };
  } finally {
    if (timer) deps.clock.clearTimeout(timer);
  }
  const outcome = await finish(deps, claimed, patch);
  deps.metrics.tasks.inc({ type: spec.type, result: outcome });
  log.info('task finished', { outcome });
  return outcome;
}
