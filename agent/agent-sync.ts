// Runs the Agents bound to this node: lists them (fieldSelector status.nodeName=<self>), applies the
// pure plan from agent-plan.ts through the runtime, and reports Agent /status only when it changed.
import type { ApiClient } from '../core/client.ts';
import { isApiError } from '../core/errors.ts';
import type { Logger } from '../core/logging.ts';
import type { ResourceType } from '../core/resources.ts';
import type { KubeObject } from '../core/types.ts';
import { agentRequest, planAgentSync, type AgentStop } from './agent-plan.ts';
import { agentStatusPatch, containerNotRunningPatch, statusChanged } from './agent-status.ts';
import { AgentEventReasons, type AgentEventWriter } from './events.ts';
import type { AgentInfo, ContainerRuntime } from './runtime.ts';
import { keyOf } from './sync-plan.ts';

/** Stopping an agent: SIGTERM, then SIGKILL after this many seconds. */
export const AGENT_STOP_GRACE_SECONDS = 10;

export interface AgentSyncDeps {
  client: () => ApiClient;
  agents: ResourceType;
  runtime: ContainerRuntime;
  nodeName: string;
  namespace: string;
  /** Handed to agents as DROVER_MANAGER_URL. */
  managerUrl: string;
  logger: Logger;
  events?: AgentEventWriter;
  stopGraceSeconds?: number;
  /** Ask for a sync pass soon (the node agent's wake). */
  wake?: () => void;
}

export interface AgentSyncRound {
  /** Containers bound here that are being deployed or restored: their agents wait instead of failing. */
  containersPending: ReadonlySet<string>;
  fenced: boolean;
}

export interface AgentSync {
  /** One level-based pass. Returns the Agent list's resourceVersion (for a watch). */
  syncOnce(round: AgentSyncRound): Promise<string | undefined>;
  /** The lease lapsed: stop every local agent, whatever it is (an agent must never run twice). */
  fence(): Promise<string[]>;
  /** Report a runtime change of one agent (exit, restart, back-off). */
  onRuntimeEvent(info: AgentInfo): void;
  /** Whether the manager will accept this agent's logs from us (bound to this node, last we heard). */
  isBound(namespace: string, name: string): boolean;
  /** Resolves when no start, stop or report started here is still running. */
  idle(): Promise<void>;
}

export function createAgentSync(deps: AgentSyncDeps): AgentSync {
  const { runtime, logger: log } = deps;
  const grace = deps.stopGraceSeconds ?? AGENT_STOP_GRACE_SECONDS;
  const known = new Map<string, KubeObject>(); // bound Agents from the last list, refreshed by our patches
  const busy = new Set<string>();
  /** uids we stopped on purpose: their exit must not overwrite what the manager or we report next. */
  const retired = new Set<string>();
  const work = new Set<Promise<unknown>>();
  const reportChains = new Map<string, Promise<void>>();

  const track = <T>(p: Promise<T>): Promise<T> => {
    work.add(p);
    void p.finally(() => work.delete(p)).catch(() => undefined);
    return p;
  };

  async function writeStatus(agent: KubeObject, patch: Record<string, unknown>): Promise<void> {
    if (!statusChanged(agent, patch)) return;
    const ns = agent.metadata.namespace ?? deps.namespace;
    try {
      const updated = await deps.client().patch(deps.agents, ns, agent.metadata.name, { status: patch }, 'merge', { subresource: 'status' });
      const key = keyOf(ns, agent.metadata.name);
      if (updated.status?.nodeName === deps.nodeName && known.has(key)) known.set(key, updated);
    } catch (e) {
      // 404: deleted meanwhile; 403: bound elsewhere meanwhile. The next pass sees either.
      if (!isApiError(e, 404) && !isApiError(e, 403)) log.debug('could not report agent status', { agent: agent.metadata.name, err: (e as Error).message });
    }
  }

  /** Reports of one agent go out one at a time, in order, each against the freshest object. */
  function report(key: string, make: (agent: KubeObject) => Record<string, unknown> | undefined): Promise<void> {
    const prev = reportChains.get(key) ?? Promise.resolve();
    const next = prev.then(async () => {
      const agent = known.get(key);
      const patch = agent && make(agent);
      if (agent && patch) await writeStatus(agent, patch);
    });
    const tail = next.finally(() => { if (reportChains.get(key) === tail) reportChains.delete(key); });
    reportChains.set(key, tail.catch(() => undefined));
    return track(tail);
  }

  function reportInfo(info: AgentInfo): void {
    if (retired.has(info.uid)) return;
    void report(keyOf(info.namespace, info.name), (agent) => (agent.metadata.uid === info.uid ? agentStatusPatch(info, agent) : undefined));
  }

  function onRuntimeEvent(info: AgentInfo): void {
    // 'stopping' is only ever the runtime taking the agent down: its exit (below) says how it ended
    if (retired.has(info.uid) || info.state === 'stopping') return;
    if (info.state !== 'exited' && info.state !== 'failed') return reportInfo(info);
    // The runtime forgets an agent it stopped along with its container only after the exit event: look a
    // tick later. Gone → the next pass says why (ContainerNotRunning), never a misleading clean exit.
    void track(new Promise<void>((done) => setTimeout(done, 0)).then(() => {
      const now = runtime.listAgents().find((a) => a.namespace === info.namespace && a.name === info.name && a.uid === info.uid);
      if (now) reportInfo(now);
      else deps.wake?.();
    }));
  }

  function involved(ns: string, name: string, uid?: string) {
    return { kind: 'Agent', name, namespace: ns, uid };
  }

  async function stopOne(s: AgentStop): Promise<void> {
    const { info, cause } = s;
    const key = keyOf(info.namespace, info.name);
    retired.add(info.uid);
    busy.add(key);
    try {
      log.info('stopping an agent', { agent: info.name, container: info.containerName, cause });
      await runtime.stopAgent(info.namespace, info.name, grace);
      void deps.events?.record(involved(info.namespace, info.name, info.uid), cause === 'fenced' ? 'Warning' : 'Normal',
        cause === 'fenced' ? AgentEventReasons.Fenced : AgentEventReasons.Killed, `stopped agent ${info.name} on node ${deps.nodeName} (${cause})`);
    } catch (e) {
      log.warn('could not stop an agent', { agent: info.name, err: (e as Error).message });
    } finally {
      busy.delete(key);
    }
  }

  async function startOne(agent: KubeObject): Promise<void> {
    const ns = agent.metadata.namespace ?? deps.namespace;
    const key = keyOf(ns, agent.metadata.name);
    busy.add(key);
    try {
      const req = agentRequest(agent, { managerUrl: deps.managerUrl });
      if (!req.command.length) {
        await report(key, () => ({ phase: 'Failed', reason: 'InvalidSpec', message: `agent ${agent.metadata.name} has no command`, pid: null }));
        return;
      }
      retired.delete(req.uid);
      const info = await runtime.startAgent(req);
      log.info('started an agent', { agent: agent.metadata.name, container: req.containerName, pid: info.pid });
      void deps.events?.record(involved(ns, agent.metadata.name, agent.metadata.uid), 'Normal', AgentEventReasons.Started,
        `started agent ${agent.metadata.name} in container ${req.containerName} on node ${deps.nodeName} (${info.id})`);
      await report(key, (a) => (a.metadata.uid === info.uid ? agentStatusPatch(info, a) : undefined));
    } catch (e) {
      const message = `could not start agent: ${(e as Error).message}`;
      log.warn('could not start an agent', { agent: agent.metadata.name, err: (e as Error).message });
      await report(key, () => ({ phase: 'Failed', reason: 'StartFailed', message, pid: null }));
    } finally {
      busy.delete(key);
    }
  }

  async function syncOnce(round: AgentSyncRound): Promise<string | undefined> {
    const list = await deps.client().list(deps.agents, { namespace: deps.namespace, fieldSelector: `status.nodeName=${deps.nodeName}` });
    known.clear();
    for (const a of list.items) known.set(keyOf(a.metadata.namespace, a.metadata.name), a);
    const plan = planAgentSync({
      agents: list.items, containers: runtime.list(), local: runtime.listAgents(),
      containersPending: round.containersPending, busy, fenced: round.fenced,
    });
    const stops = new Map(plan.stop.map((s) => [keyOf(s.info.namespace, s.info.name), track(stopOne(s))]));
    for (const s of plan.start) {
      const key = keyOf(s.agent.metadata.namespace, s.agent.metadata.name);
      // a replacement (recreated Agent) starts only once the old instance is gone
      void track((stops.get(key) ?? Promise.resolve()).then(() => startOne(s.agent)));
    }
    for (const f of plan.containerNotRunning) {
      const key = keyOf(f.agent.metadata.namespace, f.agent.metadata.name);
      void (stops.get(key) ?? Promise.resolve()).then(() => report(key, (a) =>
        (a.metadata.uid === f.agent.metadata.uid ? containerNotRunningPatch(a, f.container, f.containerState, deps.nodeName) : undefined)));
    }
    // running agents that changed while nobody was listening (e.g. across a manager restart)
    for (const info of runtime.listAgents()) if (!stops.has(keyOf(info.namespace, info.name))) reportInfo(info);
    return list.metadata.resourceVersion;
  }

  async function fence(): Promise<string[]> {
    const local = runtime.listAgents();
    await Promise.all(local.map((info) => stopOne({ info, cause: 'fenced' })));
    return local.map((i) => keyOf(i.namespace, i.name)).sort();
  }

  return {
    syncOnce,
    fence,
    onRuntimeEvent,
    isBound: (ns, name) => known.has(keyOf(ns, name)),
    async idle() {
      while (work.size) await Promise.allSettled([...work]);
    },
  };
}
