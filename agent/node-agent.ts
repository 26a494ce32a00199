// The node agent: joins, registers its Node, heartbeats, fences itself when the manager is silent too
// long, syncs Tasks and bound Containers (list + watch + every 5 s), runs them through the runtime and
// reports status, events and logs. All traffic is outbound HTTP through core/client.ts.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { ApiClient, type WatchHandle } from '../core/client.ts';
import { realClock, type Clock, type TimerHandle } from '../core/clock.ts';
import { loadRegistry } from '../core/crds.ts';
import { parseDuration } from '../core/duration.ts';
import { Gone, isApiError } from '../core/errors.ts';
import type { Logger } from '../core/logging.ts';
import type { ResourceRegistry, ResourceType } from '../core/resources.ts';
import type { Condition, KubeObject } from '../core/types.ts';
import { createAgentSync } from './agent-sync.ts';
import { AGENT_DEFAULTS, type AgentConfig } from './config.ts';
import { AgentEventReasons, createAgentEventWriter, type AgentEventWriter } from './events.ts';
import { FencingTracker, NodeReasons, heartbeatPatch, isoMs, readyCondition, registrationStatus, type NodeFacts } from './heartbeat.ts';
import { BACKOFF_MAX_MS, BACKOFF_START_MS, joinAndSave, nextBackoff, resolveIdentity } from './identity.ts';
import { startLocalServer, type HealthReport, type LocalServer } from './local-server.ts';
import { createLogShipper } from './log-shipper.ts';
import { writeCredential } from './credential.ts';
import { RETRY_MS as RENEW_RETRY_MS, renewCredential, renewalDelay } from './renewal.ts';
import { createAgentMetrics, type AgentMetrics } from './metrics.ts';
import type { ContainerInfo, ContainerRuntime, DiscoveredContainer, RuntimeEvent } from './runtime.ts';
import { containerStatusPatch, phaseFor, reportDigest, stoppedStatusPatch } from './status-mapping.ts';
import { keyOf, planSync } from './sync-plan.ts';
import { deployContainer, runTask, type TaskExecutorDeps } from './task-executor.ts';

export const SYNC_INTERVAL_MS = 5000;
/** On Containers a node agent registered because it found them on its engine. */
export const DISCOVERED_LABEL = 'drover.dev/discovered';
export const LOG_SHIP_INTERVAL_MS = 1000;
export const FENCE_CHECK_MS = 200;
export const SHUTDOWN_REPORT_BUDGET_MS = 2000;
/** Usage alone changes all the time; it is re-reported at most this often per container. */
export const USAGE_REPORT_MS = 10_000;

export interface NodeAgentDeps {
  runtime: ContainerRuntime;
  logger: Logger;
  registry?: ResourceRegistry;
  fetch?: typeof fetch;
  /** Wall time and timers. */
  clock?: Clock;
  /** Monotonic milliseconds for fencing (default performance.now). */
  monotonic?: () => number;
  /** false: no timers, watches or local server; tests drive heartbeatOnce/syncOnce/checkFencing. */
  loops?: boolean;
  /** Told how long ago the last heartbeat was accepted, at each one and at each fencing check (the docker runtime's node watchdog lease). */
  contactLease?: (contactAgeMs: number, graceMs: number) => void;
  processMetrics?: boolean;
}

export interface NodeAgent {
  readonly nodeName: string;
  readonly namespace: string;
  /** The local /health, /agents, /metrics endpoint (undefined when loops are off). */
  readonly localUrl?: string;
  readonly metrics: AgentMetrics;
  health(): HealthReport;
  heartbeatOnce(): Promise<boolean>;
  syncOnce(): Promise<void>;
  shipLogsOnce(): Promise<void>;
  /** Fences (stops unpinned containers) when the heartbeat silence reached the grace period; returns their keys. */
  checkFencing(): Promise<string[]>;
  /** Resolves when no task, redeploy or removal started by the agent is still running. */
  idle(): Promise<void>;
  /** Stop the loops; with stopWorkloads (default) stop the containers and tell the manager (2 s budget). */
  stop(opts?: { stopWorkloads?: boolean }): Promise<void>;
}

function agentVersion(): string {
  try {
    return (JSON.parse(readFileSync(join(import.meta.dirname, '..', 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown'; // a packaged agent without package.json still runs
  }
}

function must(registry: ResourceRegistry, kind: string): ResourceType {
  const rt = registry.resolve(kind);
  if (!rt) throw new Error(`the ${kind} CRD is missing from crds/`);
  return rt;
}

function durationOr(text: unknown, dflt: number): number {
  if (typeof text !== 'string') return dflt;
  try {
    return parseDuration(text);
  } catch {
    return dflt;
  }
}

export async function startNodeAgent(config: AgentConfig, deps: NodeAgentDeps): Promise<NodeAgent> {
  const clock = deps.clock ?? realClock;
  const monotonic = deps.monotonic ?? (() => performance.now());
  const loops = deps.loops ?? true;
  const runtime = deps.runtime;
  const registry = deps.registry ?? loadRegistry();
  const types = {
    tasks: must(registry, 'Task'), containers: must(registry, 'Container'), agents: must(registry, 'Agent'),
    nodes: must(registry, 'Node'), clusters: must(registry, 'Cluster'), events: must(registry, 'Event'),
  };
  let stopped = false;
  const wakeSleepers = new Set<() => void>();
  /** Resolves true after ms, false at once when the agent stops. */
  const sleep = (ms: number) => new Promise<boolean>((done) => {
    if (stopped) return done(false);
    const wake = () => { clock.clearTimeout(h); wakeSleepers.delete(wake); done(false); };
    const h = clock.setTimeout(() => { wakeSleepers.delete(wake); done(true); }, ms);
    wakeSleepers.add(wake);
  });

  const identity = await resolveIdentity(config, { fetch: deps.fetch, logger: deps.logger, sleep });
  let credential = identity.credential;
  const nodeName = credential.nodeName;
  const namespace = credential.namespace;
  const log = deps.logger.child({ node: nodeName, cluster: namespace });
  // the injected transport, or one that trusts only the https manager's pinned CA (identity.ts)
  const transport = identity.fetch;
  const newClient = () => new ApiClient({ server: config.server, token: credential.token, fetch: transport, userAgent: `drover-agent/${nodeName}` });
  let client = newClient();
  const api = () => client;

  let heartbeatIntervalMs = durationOr(identity.joined?.cluster?.heartbeatInterval, AGENT_DEFAULTS.heartbeatIntervalMs);
  let gracePeriodMs = durationOr(identity.joined?.cluster?.gracePeriod, AGENT_DEFAULTS.gracePeriodMs);

  const metrics = createAgentMetrics({ processMetrics: deps.processMetrics ?? loops });
  const events: AgentEventWriter = createAgentEventWriter({ client: api, events: types.events, nodeName, logger: log, now: () => clock.now() });
  const fencing = new FencingTracker(monotonic());
  const version = agentVersion();
  const agentSync = createAgentSync({ client: api, agents: types.agents, runtime, nodeName, namespace, managerUrl: config.server, logger: log, events, wake: () => wakeSync() });

  // ---- state ----
  let registered = false;
  let managerReachable = false;
  let lastHeartbeatIso: string | undefined;
  let prevReady: Condition | undefined;
  const bound = new Map<string, KubeObject>(); // bound containers, from the last list / watch / get
  let taskRV: string | undefined;
  let containerRV: string | undefined;
  let agentRV: string | undefined;
  const inFlightTasks = new Set<string>();
  const fenced = new Set<string>();
  const fencedPendingEvent = new Map<string, KubeObject | undefined>();
  const lastInfo = new Map<string, ContainerInfo>();
  const lastUsageReport = new Map<string, number>();
  const work = new Set<Promise<unknown>>();
  const locks = new Map<string, Promise<unknown>>();
  const active = new Map<string, number>();
  const touched = new Map<string, number>();
  let opSeq = 0;

  const track = <T>(p: Promise<T>): Promise<T> => {
    work.add(p);
    void p.finally(() => work.delete(p)).catch(() => undefined);
    return p;
  };

  function withContainer<T>(key: string, fn: () => Promise<T>): Promise<T> {
    active.set(key, (active.get(key) ?? 0) + 1);
    const prev = locks.get(key) ?? Promise.resolve();
    const run = prev.catch(() => undefined).then(fn);
    const tail = run.finally(() => {
      const n = (active.get(key) ?? 1) - 1;
      if (n <= 0) active.delete(key); else active.set(key, n);
      touched.set(key, ++opSeq);
      if (locks.get(key) === tail) locks.delete(key);
    });
    locks.set(key, tail.catch(() => undefined));
    return run;
  }

  // ---- status reports ----
  async function boundObject(ns: string, name: string): Promise<KubeObject | undefined> {
    const key = keyOf(ns, name);
    const cached = bound.get(key);
    if (cached) return cached;
    try {
      const c = await api().get(types.containers, ns, name);
      if ((c.status?.nodeName as string | undefined) !== nodeName) return undefined;
      bound.set(key, c);
      return c;
    } catch (e) {
      if (!isApiError(e, 404) && !isApiError(e, 403)) log.debug('could not read container', { container: name, err: (e as Error).message });
      return undefined;
    }
  }

  function statusView(obj: KubeObject, patch: Record<string, unknown>): Record<string, unknown> {
    const s = (obj.status ?? {}) as Record<string, unknown>;
    return Object.fromEntries(Object.keys(patch).map((k) => [k, s[k] ?? null]));
  }

  // Reports of one container run one after another, each reading the runtime when it starts, so a slow report of an
  // older state can never land after a newer one; a report asked for while one waits to start joins the waiting one.
  const reportRunning = new Map<string, Promise<void>>();
  const reportWaiting = new Map<string, Promise<void>>();
  function reportContainer(ns: string, name: string): Promise<void> {
    const key = keyOf(ns, name);
    const waiting = reportWaiting.get(key);
    if (waiting) return waiting;
    const prev = reportRunning.get(key);
    const next: Promise<void> = (prev ?? Promise.resolve()).catch(() => undefined).then(() => {
      reportWaiting.delete(key);
      reportRunning.set(key, next);
      return reportContainerNow(ns, name);
    }).finally(() => { if (reportRunning.get(key) === next) reportRunning.delete(key); });
    if (prev) reportWaiting.set(key, next); else reportRunning.set(key, next);
    return next;
  }

  async function reportContainerNow(ns: string, name: string): Promise<void> {
    const info = runtime.get(ns, name);
    if (!info) return;
    const obj = await boundObject(ns, name);
    if (!obj || obj.metadata.uid !== info.uid) return; // not ours to report (NodeRestriction) or a stale instance
    const key = keyOf(ns, name);
    const patch = containerStatusPatch(info, obj.spec?.restartPolicy as string | undefined, obj.status?.conditions as Condition[] | undefined, isoMs(clock.now()));
    const same = reportDigest(patch) === reportDigest(statusView(obj, patch));
    const usageStale = JSON.stringify(patch.usage ?? null) !== JSON.stringify(obj.status?.usage ?? null)
      && clock.now() - (lastUsageReport.get(key) ?? 0) >= USAGE_REPORT_MS;
    if (same && !usageStale) return;
    try {
      const updated = await api().patch(types.containers, ns, name, { status: patch }, 'merge', { subresource: 'status' });
      lastUsageReport.set(key, clock.now());
      if ((updated.status?.nodeName as string | undefined) === nodeName) bound.set(key, updated);
      else bound.delete(key);
    } catch (e) {
      log.debug('could not report container status', { container: name, err: (e as Error).message });
    }
  }

  function containerEvents(prev: ContainerInfo | undefined, info: ContainerInfo): void {
    const obj = { kind: 'Container', name: info.name, namespace: info.namespace, uid: info.uid };
    if (info.state === 'running' && prev?.state !== 'running') {
      void events.record(obj, 'Normal', AgentEventReasons.Started, `started container ${info.name} (${info.containerID})`);
    }
    if (info.state === 'restarting' && prev?.state !== 'restarting') {
      void events.record(obj, 'Warning', AgentEventReasons.BackOff, info.message ?? `restarting container ${info.name} after it exited`);
    }
    if (info.health === 'Unhealthy' && prev?.health !== 'Unhealthy') {
      void events.record(obj, 'Warning', AgentEventReasons.Unhealthy, info.message ?? `container ${info.name} failed its health check`);
    }
    if ((info.state === 'exited' || info.state === 'failed') && prev && prev.state !== 'exited' && prev.state !== 'failed') {
      const exit = info.lastExit;
      const how = exit ? (exit.signal ? `signal ${exit.signal}` : `exit code ${exit.exitCode}`) : 'unknown exit';
      void events.record(obj, exit?.exitCode === 0 ? 'Normal' : 'Warning', AgentEventReasons.Stopped, `container ${info.name} stopped (${how}${exit?.reason ? `, ${exit.reason}` : ''})`);
    }
  }

  // ---- discovery (docker runtime): containers labelled drover.dev/agent-capable=true become unmanaged Containers ----
  let discoveryDone = false;
  async function registerDiscovered(d: DiscoveredContainer): Promise<void> {
    const body: KubeObject = {
      apiVersion: types.containers.apiVersion, kind: 'Container',
      metadata: {
        name: d.name, namespace,
        labels: { [DISCOVERED_LABEL]: 'true', 'drover.dev/agent-capable': 'true' },
        annotations: { 'drover.dev/docker-name': d.dockerName, 'drover.dev/docker-id': d.id },
      },
      spec: {
        image: d.image, managed: false, nodeName,
        agentHost: { capabilities: d.capabilities, ...(d.capacityAgents !== undefined ? { capacity: { agents: d.capacityAgents } } : {}) },
      },
    };
    try {
      await api().create(types.containers, body);
      log.info('registered a discovered container', { container: d.name, docker: d.dockerName, capabilities: d.capabilities });
      void events.record({ kind: 'Container', name: d.name, namespace }, 'Normal', AgentEventReasons.Discovered,
        `found Docker container ${d.dockerName} labelled drover.dev/agent-capable=true on node ${nodeName}; agents may be placed into it, drover never stops or deletes it`);
      wakeSync();
    } catch (e) {
      if (isApiError(e, 409)) return; // registered before (by us, or a user's object of that name)
      log.warn('could not register a discovered container', { container: d.name, err: (e as Error).message });
    }
  }

  const unsubscribe = runtime.on((ev: RuntimeEvent) => {
    if (ev.type === 'discovered') {
      if (!stopped && registered) void track(registerDiscovered(ev.container));
      return;
    }
    if (ev.type === 'agent' && !stopped) agentSync.onRuntimeEvent(ev.info);
    if (ev.type !== 'container' || stopped) return;
    const key = keyOf(ev.info.namespace, ev.info.name);
    const prev = lastInfo.get(key);
    lastInfo.set(key, ev.info);
    if (managerReachable) containerEvents(prev, ev.info);
    void track(reportContainer(ev.info.namespace, ev.info.name));
  });

  // ---- node registration and heartbeat ----
  async function nodeFacts(): Promise<NodeFacts> {
    const res = await runtime.nodeResources();
    const local = runtime.list();
    return {
      capacity: res.capacity, usage: res.usage,
      containers: local.filter((i) => i.state === 'running').length,
      agents: runtime.listAgents().length,
      capacityContainers: config.capacityContainers, capacityAgents: config.capacityAgents,
      runtime: runtime.info(), agentVersion: version, address: config.address,
    };
  }

  async function readCluster(): Promise<void> {
    try {
      const c = await api().get(types.clusters, undefined, namespace);
      const fp = (c.spec?.failurePolicy ?? {}) as { heartbeatInterval?: string; gracePeriod?: string };
      heartbeatIntervalMs = durationOr(fp.heartbeatInterval, heartbeatIntervalMs);
      gracePeriodMs = durationOr(fp.gracePeriod, gracePeriodMs);
    } catch (e) {
      log.debug('could not read the cluster; keeping the heartbeat timings', { err: (e as Error).message });
    }
  }

  async function register(): Promise<void> {
    await readCluster();
    let node: KubeObject | undefined;
    try {
      node = await api().get(types.nodes, namespace, nodeName);
    } catch (e) {
      if (!isApiError(e, 404)) throw e;
    }
    if (!node) {
      try {
        node = await api().create(types.nodes, {
          apiVersion: types.nodes.apiVersion, kind: 'Node',
          metadata: { name: nodeName, namespace, labels: { ...config.labels } },
          spec: { labels: { ...config.labels } },
        });
        log.info('registered the node');
      } catch (e) {
        if (!isApiError(e, 409)) throw e;
        node = await api().get(types.nodes, namespace, nodeName);
      }
    } else if (JSON.stringify(node.spec?.labels ?? {}) !== JSON.stringify(config.labels) && Object.keys(config.labels).length) {
      await api().patch(types.nodes, namespace, nodeName, { metadata: { labels: config.labels }, spec: { labels: config.labels } }, 'merge')
        .catch((e: unknown) => log.warn('could not update the node labels', { err: (e as Error).message }));
    }
    prevReady = (node.status?.conditions as Condition[] | undefined)?.find((c) => c.type === 'Ready');
    const status = registrationStatus(await nodeFacts(), prevReady, clock.now());
    const updated = await api().patch(types.nodes, namespace, nodeName, { status }, 'merge', { subresource: 'status' });
    prevReady = (updated.status?.conditions as Condition[] | undefined)?.find((c) => c.type === 'Ready');
    registered = true;
  }

  async function rejoin(): Promise<boolean> {
    if (!config.joinToken) return false;
    log.warn('the manager rejected the node credential; joining again with the join token');
    const again = await joinAndSave(config, { fetch: transport, logger: log, sleep });
    credential = again.credential;
    client = newClient();
    scheduleRenewal(renewalDelay(credential.token, clock.now()));
    return true;
  }

  async function heartbeatOnce(): Promise<boolean> {
    const sentAt = monotonic();
    try {
      if (!registered) {
        await register();
      } else {
        const patch = heartbeatPatch(await nodeFacts(), prevReady, clock.now());
        const updated = await api().patch(types.nodes, namespace, nodeName, patch, 'merge', { subresource: 'status' });
        prevReady = (updated.status?.conditions as Condition[] | undefined)?.find((c) => c.type === 'Ready');
      }
    } catch (e) {
      metrics.heartbeatFailures.inc();
      if (isApiError(e, 404)) registered = false; // the Node was deleted: register again
      if (isApiError(e, 401)) {
        registered = false;
        await rejoin().catch((err: unknown) => log.error('rejoin failed', { err: (err as Error).message }));
      }
      if (managerReachable) log.warn('heartbeat failed', { err: (e as Error).message });
      managerReachable = false;
      return false;
    }
    metrics.heartbeats.inc();
    lastHeartbeatIso = isoMs(clock.now());
    const wasUnreachable = !managerReachable;
    managerReachable = true;
    const endedFence = fencing.recordSuccess(sentAt);
    deps.contactLease?.(fencing.silenceMs(monotonic()), gracePeriodMs);
    if (endedFence) {
      for (const [key, obj] of fencedPendingEvent) {
        const [ns, name] = key.split('/');
        void events.record({ kind: 'Container', name, namespace: ns, uid: obj?.metadata.uid }, 'Warning', AgentEventReasons.Fenced,
          `node ${nodeName} lost the manager for more than the grace period (${gracePeriodMs / 1000}s) and stopped ${name} so it cannot run twice`);
      }
      fencedPendingEvent.clear();
      log.info('manager reachable again after fencing; resyncing');
    }
    if (wasUnreachable) wakeSync();
    return true;
  }

  // ---- fencing ----
  async function checkFencing(): Promise<string[]> {
    // The first check past the grace period fences; every later check while still silent sweeps again, so a
    // task or restart that finished after the first sweep cannot leave a workload running.
    deps.contactLease?.(fencing.silenceMs(monotonic()), gracePeriodMs);
    const first = fencing.shouldFence(monotonic(), gracePeriodMs);
    if (!first && !fencing.fenced) return [];
    const silence = Math.round(fencing.silenceMs(monotonic()) / 1000);
    const victims: string[] = [];
    // Agents (all of them: agents are always movable) and unpinned containers stop in parallel: the manager's
    // deadline for containers does not wait for the agents' stop grace.
    const containerStops = Promise.all(runtime.list().map(async (info) => {
      const key = keyOf(info.namespace, info.name);
      const obj = bound.get(key);
      // Pinned containers stay: the manager never moves them. Unknown ones are stopped (never run twice).
      if (obj?.spec?.nodeName) return;
      victims.push(key);
      fenced.add(key);
      fencedPendingEvent.set(key, obj);
      await withContainer(key, async () => {
        const grace = obj?.spec?.terminationGracePeriodSeconds as number | undefined;
        await runtime.stop(info.namespace, info.name, grace);
        await runtime.remove(info.namespace, info.name, { keepFiles: true });
      }).catch((e: unknown) => log.error('could not stop a container while fencing', { container: info.name, err: (e as Error).message }));
    }));
    const [agentVictims] = await Promise.all([agentSync.fence(), containerStops]);
    if (first) {
      log.warn('no heartbeat accepted within the grace period: stopped unpinned containers', { silenceSeconds: silence, gracePeriodMs, stopped: victims, stoppedAgents: agentVictims });
    } else if (victims.length || agentVictims.length) {
      log.warn('still fenced: stopped workloads that started after the first sweep', { silenceSeconds: silence, stopped: victims, stoppedAgents: agentVictims });
    }
    return victims.sort();
  }

  // ---- sync ----
  const execDeps: TaskExecutorDeps = {
    client: api, types: { tasks: types.tasks, containers: types.containers, agents: types.agents }, runtime, nodeName, logger: log,
    metrics, events, clock, withContainer, changed: (ns, name) => track(reportContainer(ns, name)),
    leaseMs: config.taskLeaseMs, renewMs: Math.max(100, Math.floor(config.taskLeaseMs / 3)),
  };

  let syncing: Promise<void> | undefined;
  let syncAgain = false;

  async function syncPass(): Promise<void> {
    const seqAtList = opSeq;
    const [tasks, containers] = await Promise.all([
      api().list(types.tasks, { namespace, fieldSelector: `spec.nodeName=${nodeName}` }),
      api().list(types.containers, { namespace, fieldSelector: `status.nodeName=${nodeName}` }),
    ]);
    taskRV = tasks.metadata.resourceVersion;
    containerRV = containers.metadata.resourceVersion;
    bound.clear();
    for (const c of containers.items) bound.set(keyOf(c.metadata.namespace, c.metadata.name), c);
    const busy = new Set<string>(active.keys());
    for (const [k, seq] of touched) if (seq > seqAtList) busy.add(k);
    const plan = planSync({
      tasks: tasks.items, containers: containers.items, local: runtime.list(), inFlightTasks, busy,
      fenced: fencing.fenced ? new Set() : fenced, attachUnmanaged: runtime.discover !== undefined,
    });
    if (!discoveryDone && runtime.discover) {
      discoveryDone = true;
      void track(runtime.discover().then((found) => Promise.all(found.map(registerDiscovered)))
        .catch((e: unknown) => { discoveryDone = false; log.warn('container discovery failed', { err: (e as Error).message }); }));
    }
    for (const t of plan.claim) {
      const id = t.metadata.uid ?? t.metadata.name;
      inFlightTasks.add(id);
      void track(runTask(execDeps, t)
        .catch((e: unknown) => log.warn('task execution interrupted', { task: t.metadata.name, err: (e as Error).message }))
        .finally(() => { inFlightTasks.delete(id); wakeSync(); }));
    }
    if (!fencing.fenced) {
      for (const c of plan.redeploy) {
        const key = keyOf(c.metadata.namespace, c.metadata.name);
        log.info('restoring a container that should run here', { container: c.metadata.name, fenced: fenced.has(key) });
        void track(withContainer(key, () => deployContainer(execDeps, c))
          .then(() => { fenced.delete(key); return reportContainer(c.metadata.namespace ?? '', c.metadata.name); })
          .catch((e: unknown) => log.warn('could not restore container', { container: c.metadata.name, err: (e as Error).message })));
      }
    }
    for (const info of plan.remove) {
      const key = keyOf(info.namespace, info.name);
      log.info('removing a container no longer bound to this node', { container: info.name });
      void track(withContainer(key, () => runtime.remove(info.namespace, info.name))
        .then(() => { lastInfo.delete(key); fenced.delete(key); })
        .catch((e: unknown) => log.warn('could not remove container', { container: info.name, err: (e as Error).message })));
    }
    for (const key of fenced) if (!bound.has(key)) fenced.delete(key);
    for (const info of runtime.list()) {
      if (bound.has(keyOf(info.namespace, info.name))) void track(reportContainer(info.namespace, info.name));
    }
    agentRV = await agentSync.syncOnce({ containersPending: pendingContainers(containers.items, busy, plan.redeploy), fenced: fencing.fenced });
  }

  /** Bound containers on their way up here (deploy task, restore or op in flight): their agents wait. */
  function pendingContainers(items: KubeObject[], busy: ReadonlySet<string>, redeploy: KubeObject[]): Set<string> {
    const local = new Set(runtime.list().map((i) => keyOf(i.namespace, i.name)));
    const pending = new Set<string>([...busy, ...redeploy.map((c) => keyOf(c.metadata.namespace, c.metadata.name))]);
    for (const c of items) {
      if (c.metadata.deletionTimestamp || c.spec?.state === 'Stopped' || c.spec?.managed === false) continue;
      const key = keyOf(c.metadata.namespace, c.metadata.name);
      if (!local.has(key) && !fenced.has(key)) pending.add(key);
    }
    return pending;
  }

  function syncOnce(): Promise<void> {
    if (syncing) {
      syncAgain = true;
      return syncing;
    }
    syncing = (async () => {
      try {
        do {
          syncAgain = false;
          await syncPass();
        } while (syncAgain && !stopped);
      } finally {
        syncing = undefined;
      }
    })();
    return syncing;
  }

  let wakeTimer: TimerHandle | undefined;
  function wakeSync(): void {
    if (!loops || stopped || wakeTimer) return;
    wakeTimer = clock.setTimeout(() => {
      wakeTimer = undefined;
      syncOnce().catch((e: unknown) => log.debug('sync failed', { err: (e as Error).message }));
    }, 20);
  }

  // ---- watches ----
  const watches = new Set<WatchHandle>();
  async function watchLoop(rt: ResourceType, fieldSelector: string, rv: () => string | undefined, setRv: (v: string | undefined) => void): Promise<void> {
    let backoff = BACKOFF_START_MS;
    while (!stopped) {
      const from = rv();
      if (from && registered) {
        try {
          const h = await api().watch(rt, { namespace, fieldSelector, resourceVersion: from, allowWatchBookmarks: true, timeoutSeconds: 300 }, (ev) => {
            backoff = BACKOFF_START_MS;
            const next = ev.object?.metadata?.resourceVersion;
            if (next) setRv(next);
            if (ev.type !== 'BOOKMARK') wakeSync();
          }, (err) => {
            if (err instanceof Gone) { setRv(undefined); wakeSync(); } else log.debug('watch error', { resource: rt.plural, err: err.message });
          });
          watches.add(h);
          await h.done;
          watches.delete(h);
        } catch (e) {
          if (e instanceof Gone || isApiError(e, 410)) { setRv(undefined); wakeSync(); } else log.debug('watch failed', { resource: rt.plural, err: (e as Error).message });
        }
      }
      if (!(await sleep(backoff))) return;
      backoff = nextBackoff(backoff);
    }
  }

  // ---- periodic loops ----
  function every(name: string, delay: () => number, fn: () => Promise<unknown>): void {
    const tick = async () => {
      if (stopped) return;
      try {
        await fn();
      } catch (e) {
        log.debug(`${name} failed`, { err: (e as Error).message });
      }
      if (stopped) return;
      const h = clock.setTimeout(() => { timers.delete(h); void tick(); }, delay());
      timers.add(h);
    };
    void tick();
  }
  const timers = new Set<TimerHandle>();

  // ---- credential renewal (signed node credentials expire; renewed at two thirds of their life) ----
  const renewTimer = { h: undefined as TimerHandle | undefined };
  function scheduleRenewal(delayMs: number | undefined): void {
    if (!loops || stopped || delayMs === undefined) return;
    if (renewTimer.h) clock.clearTimeout(renewTimer.h);
    renewTimer.h = clock.setTimeout(() => {
      renewTimer.h = undefined;
      void renewOnce();
    }, delayMs);
  }
  async function renewOnce(): Promise<void> {
    const r = await renewCredential(api());
    if (stopped) return;
    if (r.ok) {
      credential = { ...credential, token: r.credential };
      writeCredential(config.dataDir, credential);
      client = newClient();
      log.info('renewed the node credential', { expiresAt: r.expiresAt });
      scheduleRenewal(renewalDelay(credential.token, clock.now()));
      return;
    }
    log.warn('could not renew the node credential', { err: r.error, rejected: r.rejected, retryMs: RENEW_RETRY_MS });
    // Rejected: the heartbeat's 401 handling rejoins with the join token when there is one.
    scheduleRenewal(RENEW_RETRY_MS);
  }

  const shipper = createLogShipper({
    server: () => config.server, token: () => credential.token, runtime, logger: log, fetch: transport,
    isBound: (ns, name) => bound.has(keyOf(ns, name)),
    isAgentBound: (ns, name) => agentSync.isBound(ns, name),
  });

  function health(): HealthReport {
    return { node: nodeName, namespace, managerReachable, lastHeartbeat: lastHeartbeatIso, containers: runtime.list().length, fenced: fencing.fenced };
  }

  for (const info of await runtime.recover()) lastInfo.set(keyOf(info.namespace, info.name), info);

  let local: LocalServer | undefined;
  if (loops) {
    local = await startLocalServer(config.listen.host, config.listen.port, {
      health, agents: () => runtime.listAgents(), metrics: metrics.registry,
      refreshMetrics: () => {
        metrics.containers.reset();
        for (const i of runtime.list()) metrics.containers.inc({ phase: phaseFor(i, bound.get(keyOf(i.namespace, i.name))?.spec?.restartPolicy as string | undefined) });
      },
    });
    // While the manager is unreachable the agent retries quickly at first and never slower than its heartbeat
    // interval (as the kubelet does): the grace period is counting, and a manager that restarts within it must
    // see this node again before the node fences itself.
    let hbBackoff = BACKOFF_START_MS;
    every('heartbeat', () => (managerReachable ? heartbeatIntervalMs : Math.min(hbBackoff, heartbeatIntervalMs)), async () => {
      const ok = await heartbeatOnce();
      hbBackoff = ok ? BACKOFF_START_MS : Math.min(nextBackoff(hbBackoff), BACKOFF_MAX_MS);
    });
    every('sync', () => SYNC_INTERVAL_MS, async () => { if (registered) await Promise.all([syncOnce(), readCluster()]); });
    every('fencing', () => FENCE_CHECK_MS, checkFencing);
    every('log shipping', () => LOG_SHIP_INTERVAL_MS, () => (managerReachable ? shipper.shipOnce() : Promise.resolve()));
    scheduleRenewal(renewalDelay(credential.token, clock.now()));
    void watchLoop(types.tasks, `spec.nodeName=${nodeName}`, () => taskRV, (v) => { taskRV = v; });
    void watchLoop(types.containers, `status.nodeName=${nodeName}`, () => containerRV, (v) => { containerRV = v; });
    void watchLoop(types.agents, `status.nodeName=${nodeName}`, () => agentRV, (v) => { agentRV = v; });
    log.info('node agent started', { listen: local.url, server: config.server, runtime: runtime.info().type });
  }

  async function stop(opts: { stopWorkloads?: boolean } = {}): Promise<void> {
    if (stopped) return;
    stopped = true;
    for (const t of timers) clock.clearTimeout(t);
    if (renewTimer.h) clock.clearTimeout(renewTimer.h);
    if (wakeTimer) clock.clearTimeout(wakeTimer);
    for (const w of [...wakeSleepers]) w();
    for (const w of watches) w.stop();
    unsubscribe();
    const stopWorkloads = opts.stopWorkloads ?? true;
    const localContainers = runtime.list();
    await runtime.close({ stopWorkloads });
    if (stopWorkloads && managerReachable) {
      const nowIso = isoMs(clock.now());
      const report = (async () => {
        await Promise.all(localContainers.map(async (info) => {
          const obj = bound.get(keyOf(info.namespace, info.name));
          if (!obj || obj.metadata.uid !== info.uid) return;
          await api().patch(types.containers, info.namespace, info.name,
            { status: stoppedStatusPatch(obj.status?.conditions as Condition[] | undefined, `stopped with node agent ${nodeName}`, nowIso) }, 'merge', { subresource: 'status' })
            .catch((e: unknown) => log.debug('could not report a stopped container', { container: info.name, err: (e as Error).message }));
        }));
        const ready = readyCondition('False', NodeReasons.AgentStopped, 'the node agent was stopped and stopped its containers', prevReady, nowIso);
        await api().patch(types.nodes, namespace, nodeName, { status: { conditions: [ready] } }, 'merge', { subresource: 'status' });
      })();
      let budget: TimerHandle | undefined;
      const timeout = new Promise<'timeout'>((done) => { budget = clock.setTimeout(() => done('timeout'), SHUTDOWN_REPORT_BUDGET_MS); });
      const r = await Promise.race([report.then(() => 'ok' as const, (e: unknown) => { log.warn('could not mark the node stopped', { err: (e as Error).message }); return 'failed' as const; }), timeout]);
      if (budget) clock.clearTimeout(budget);
      if (r === 'timeout') log.warn('the manager did not take the shutdown report within 2s');
    }
    await local?.close();
    log.info('node agent stopped', { stoppedWorkloads: stopWorkloads });
  }

  return {
    nodeName, namespace, localUrl: local?.url, metrics,
    health, heartbeatOnce, syncOnce, checkFencing,
    shipLogsOnce: () => shipper.shipOnce(),
    async idle() {
      while (work.size || syncing) await Promise.allSettled([...work, syncing]);
      await agentSync.idle();
    },
    stop,
  };
}
