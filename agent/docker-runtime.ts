// The Docker runtime: a Container is a Docker container on this node's engine (dockerode), created
// with drover's identity labels so a restarted node agent adopts what it finds instead of creating it
// twice; agents run inside with `docker exec`. Exits are seen through the engine's event stream.
//
// Containers labelled drover.dev/agent-capable=true that drover did not create are discovered: they
// are reported so the node agent registers them (spec.managed=false), may host agents, and are never
// stopped, restarted or removed by drover.
import { join, resolve } from 'node:path';
import { Writable } from 'node:stream';
import Docker from 'dockerode';
import { realClock, type Clock, type TimerHandle } from '../core/clock.ts';
import { Conflict, Invalid, NotFound } from '../core/errors.ts';
import type { Logger } from '../core/logging.ts';
import {
  DockerLabels, MANAGED_BY, createPlan, demuxFrames, discoveredName, dockerName, observedState, usageFromStats,
  type InspectView, type ObservedState, type StatsSample,
} from './docker/docker-spec.ts';
import { ExecAgent, parseMarker } from './docker/exec-agent.ts';
import { HealthMonitor, parseHealthCheck, type HealthCheck } from './process/health-check.ts';
import { DEFAULT_TAIL_BYTES, RotatingLog, type RotatingLogOptions } from './process/log-files.ts';
import { formatCpuUsage, formatMemoryUsage, readCpuTimes, readMemoryUsed, type CpuTimes } from './process/proc-usage.ts';
import { DEFAULT_BACKOFF, backoffDelay, parseRestartPolicy, type BackoffPolicy } from './process/restart-policy.ts';
import type {
  AgentInfo, AgentRequest, ContainerInfo, ContainerRequest, ContainerRuntime, DiscoveredContainer, ExitInfo, HealthState, RuntimeEvent, RuntimeInfo,
} from './runtime.ts';

const DEFAULT_GRACE_SECONDS = 10;
const RESYNC_MS = 10_000;
const USAGE_MS = 10_000;
const EVENTS_RETRY_MS = 1000;

export interface DockerRuntimeOptions {
  nodeName: string;
  dataDir: string;
  logger: Logger;
  /** `unix:///var/run/docker.sock` or `tcp://127.0.0.1:2375` (default: $DOCKER_HOST, else the local socket). */
  dockerHost?: string;
  /** Published ports bind here when the spec names no hostIP; handed to workloads as DROVER_NODE_ADDRESS. */
  nodeAddress?: string;
  /** Network mode for containers whose spec names none (default: the engine's own default). */
  defaultNetwork?: string;
  clock?: Clock;
  /** Back-off for image pulls and agent restarts (tests shorten it). */
  backoff?: Partial<BackoffPolicy>;
  log?: RotatingLogOptions;
  healthFirstProbeMs?: number;
}

/** Why an image could not be made available; shown as the Container's Failed reason. */
class ImageError extends Error {
  readonly reason: string;
  constructor(reason: string, message: string) {
    super(message);
    this.name = 'ImageError';
    this.reason = reason;
  }
}

interface Entry {
  key: string;
  req: ContainerRequest;
  /** false: a discovered container; drover only places agents into it. */
  managed: boolean;
  id?: string;
  handle?: Docker.Container;
  obs?: ObservedState;
  /** Image not available yet: the reason, and the retry timer. */
  pending?: { reason: string; message: string; attempts: number; timer?: TimerHandle };
  /** Stopped by drover on purpose (stop task or fencing): not recreated when it disappears. */
  stoppedByUs: boolean;
  check?: HealthCheck;
  probe?: HealthMonitor;
  log: RotatingLog;
  logStream?: NodeJS.ReadableStream & { destroy?: () => void };
  usage?: { cpu: string; memory: string };
  sample?: StatsSample;
  graceS: number;
  restarts: number;
  imageID?: string;
  /** The last exit seen (from `die` events or a stopped inspect): a running container's inspect no longer shows it. */
  lastExit?: ExitInfo;
}

interface AgentEntry {
  key: string;
  containerKey: string;
  agent: ExecAgent;
  log: RotatingLog;
}

const keyOf = (namespace: string, name: string) => `${namespace}/${name}`;

export function dockerClient(host: string | undefined): Docker {
  const h = host ?? process.env.DOCKER_HOST;
  if (!h) return new Docker({ socketPath: '/var/run/docker.sock' });
  if (h.startsWith('unix://')) return new Docker({ socketPath: h.slice('unix://'.length) });
  if (h.startsWith('/')) return new Docker({ socketPath: h });
  const u = new URL(h.replace(/^tcp:/, 'http:'));
  return new Docker({ host: u.hostname, port: Number(u.port || 2375), protocol: 'http' });
}

const SIGNAL_NAMES: Record<number, string> = { 1: 'SIGHUP', 2: 'SIGINT', 6: 'SIGABRT', 9: 'SIGKILL', 15: 'SIGTERM' };

/** An exit from a `die` event's exit code. */
function exitInfoOf(code: number, finishedAt: string): ExitInfo {
  const signal = code > 128 ? (SIGNAL_NAMES[code - 128] ?? `signal ${code - 128}`) : null;
  return { exitCode: code, signal, reason: code === 0 ? 'Completed' : signal === 'SIGKILL' ? 'Killed' : 'Error', finishedAt };
}

export function createDockerRuntime(opts: DockerRuntimeOptions): ContainerRuntime {
  return new DockerRuntime(opts);
}

function statusCode(e: unknown): number | undefined {
  return (e as { statusCode?: number })?.statusCode;
}

function errText(e: unknown): string {
  const err = e as { json?: { message?: string }; message?: string };
  return err?.json?.message ?? err?.message ?? String(e);
}

/** `repo` → `repo:latest` (the engine pulls every tag of an untagged name). */
export function withTag(image: string): string {
  if (image.includes('@')) return image;
  const last = image.split('/').at(-1)!;
  return last.includes(':') ? image : `${image}:latest`;
}

class DockerRuntime implements ContainerRuntime {
  private readonly o: DockerRuntimeOptions;
  private readonly docker: Docker;
  private readonly clock: Clock;
  private readonly backoff: BackoffPolicy;
  private readonly root: string;
  private readonly entries = new Map<string, Entry>();
  private readonly byId = new Map<string, Entry>();
  private readonly agents = new Map<string, AgentEntry>();
  private readonly handlers = new Set<(ev: RuntimeEvent) => void>();
  private readonly locks = new Map<string, Promise<unknown>>();
  private readonly refreshing = new Map<string, Promise<void>>();
  private readonly timers = new Set<TimerHandle>();
  private readonly discoveredIds = new Set<string>();
  private events?: NodeJS.ReadableStream & { destroy?: () => void };
  private engineVersion = 'unknown';
  private engineInfo?: { ncpu: number; mem: number };
  private prevCpu: CpuTimes | undefined;
  private closed = false;
  private started = false;

  constructor(opts: DockerRuntimeOptions) {
    this.o = opts;
    this.docker = dockerClient(opts.dockerHost);
    this.clock = opts.clock ?? realClock;
    this.backoff = { ...DEFAULT_BACKOFF, ...opts.backoff };
    this.root = join(resolve(opts.dataDir), 'docker');
  }

  info(): RuntimeInfo {
    return { type: 'docker', version: this.engineVersion };
  }

  // ---- lifecycle ----

  /** Connect, start the event stream, adopt drover's containers (and their agents) on this engine. */
  async recover(): Promise<ContainerInfo[]> {
    await this.connect();
    const list = await this.docker.listContainers({
      all: true, filters: JSON.stringify({ label: [`${DockerLabels.managedBy}=${MANAGED_BY}`, `${DockerLabels.node}=${this.o.nodeName}`] }),
    });
    const groups = new Map<string, Docker.ContainerInfo[]>();
    for (const c of list) {
      const l = c.Labels ?? {};
      const ns = l[DockerLabels.namespace];
      const name = l[DockerLabels.name];
      if (!ns || !name) continue;
      const k = keyOf(ns, name);
      groups.set(k, [...(groups.get(k) ?? []), c]);
    }
    for (const [k, group] of groups) {
      if (this.entries.has(k)) continue;
      // Never two copies: keep the newest, remove the rest.
      group.sort((a, b) => b.Created - a.Created);
      for (const extra of group.slice(1)) {
        this.o.logger.warn('removing a duplicate container left by an earlier run', { container: k, id: extra.Id.slice(0, 12) });
        await this.docker.getContainer(extra.Id).remove({ force: true }).catch(() => undefined);
      }
      const c = group[0];
      const l = c.Labels;
      let spec: Record<string, unknown> = {};
      try {
        spec = JSON.parse(l[DockerLabels.spec] ?? '{}') as Record<string, unknown>;
      } catch {
        this.o.logger.warn('container has an unreadable spec label; adopting it with defaults', { container: k });
      }
      const req: ContainerRequest = {
        namespace: l[DockerLabels.namespace], name: l[DockerLabels.name], uid: l[DockerLabels.uid] ?? '',
        generation: Number(l[DockerLabels.generation] ?? 1), spec,
      };
      const entry = this.newEntry(req, true);
      this.bindId(entry, c.Id);
      this.entries.set(k, entry);
      await this.refresh(entry, false);
      if (entry.obs?.state === 'running') {
        this.followLogs(entry, true);
        entry.probe?.start();
        await this.adoptAgents(entry);
      }
      this.o.logger.info('adopted a container from an earlier run', { container: k, id: c.Id.slice(0, 12), state: entry.obs?.state });
    }
    return this.list();
  }

  private async connect(): Promise<void> {
    if (this.started) return;
    try {
      const v = await this.docker.version();
      this.engineVersion = v.Version;
      const info = await this.docker.info() as { NCPU?: number; MemTotal?: number };
      this.engineInfo = { ncpu: info.NCPU ?? 1, mem: info.MemTotal ?? 0 };
    } catch (e) {
      throw new Error(`cannot reach the Docker engine at ${this.o.dockerHost ?? process.env.DOCKER_HOST ?? 'unix:///var/run/docker.sock'}: ${errText(e)}`, { cause: e });
    }
    this.started = true;
    void this.watchEvents();
    this.every(RESYNC_MS, () => this.resync());
    this.every(USAGE_MS, () => this.sampleUsage());
  }

  async close(opts: { stopWorkloads?: boolean } = {}): Promise<void> {
    if (opts.stopWorkloads) {
      await Promise.all([...this.entries.values()].map((e) => this.serial(e.key, () => this.stopEntry(e, e.graceS * 1000))));
    }
    this.closed = true;
    for (const t of this.timers) this.clock.clearTimeout(t);
    this.events?.destroy?.();
    for (const e of this.entries.values()) {
      e.probe?.stop();
      e.logStream?.destroy?.();
      if (e.pending?.timer) this.clock.clearTimeout(e.pending.timer);
      e.log.close();
    }
    // Left running: a restarted node agent adopts them.
    for (const a of this.agents.values()) {
      a.agent.detach();
      a.log.close();
    }
  }

  // ---- containers ----

  deploy(req: ContainerRequest): Promise<ContainerInfo> {
    const key = keyOf(req.namespace, req.name);
    return this.serial(key, async () => {
      this.assertOpen();
      await this.connect();
      if (req.spec.managed === false) return this.attachDiscovered(req);
      const cur = this.entries.get(key);
      if (cur && cur.managed && cur.req.uid === req.uid && cur.req.generation === req.generation) {
        cur.stoppedByUs = false;
        if (cur.pending) return this.containerInfo(cur);
        if (cur.handle) {
          await this.refresh(cur, false);
          if (cur.obs && cur.obs.state !== 'running' && cur.obs.state !== 'restarting') await this.startContainer(cur);
          return this.containerInfo(cur);
        }
      }
      if (cur) await this.destroy(cur);
      // A container of this name that no run of ours knows (e.g. another uid left behind): replace it.
      await this.docker.getContainer(dockerName(this.o.nodeName, req.namespace, req.name)).remove({ force: true }).catch(() => undefined);
      const entry = this.newEntry(req, true);
      this.entries.set(key, entry);
      await this.materialize(entry);
      return this.containerInfo(entry);
    });
  }

  start(namespace: string, name: string): Promise<ContainerInfo> {
    return this.serial(keyOf(namespace, name), async () => {
      this.assertOpen();
      const e = this.mustGet(namespace, name);
      e.stoppedByUs = false;
      if (e.managed && !e.pending && e.handle) await this.startContainer(e);
      return this.containerInfo(e);
    });
  }

  stop(namespace: string, name: string, timeoutSeconds?: number): Promise<ContainerInfo> {
    return this.serial(keyOf(namespace, name), async () => {
      const e = this.mustGet(namespace, name);
      await this.stopEntry(e, (timeoutSeconds ?? e.graceS) * 1000);
      return this.containerInfo(e);
    });
  }

  restart(namespace: string, name: string): Promise<ContainerInfo> {
    return this.serial(keyOf(namespace, name), async () => {
      this.assertOpen();
      const e = this.mustGet(namespace, name);
      if (!e.managed) throw new Conflict(`container ${e.key} was discovered, not created by drover: drover does not restart it`);
      const hosted = this.agentsOf(e.key).map((a) => ({ req: a.agent.req, restarts: a.agent.restarts }));
      await Promise.all(this.agentsOf(e.key).map((a) => this.retireAgent(a, e.graceS * 1000)));
      if (e.pending || !e.handle) return this.containerInfo(e);
      e.probe?.stop();
      await e.handle.restart({ t: e.graceS });
      await this.refresh(e, true);
      this.followLogs(e, false);
      e.probe?.start();
      for (const h of hosted) await this.launchAgent(h.req, e, h.restarts + 1).catch((err: unknown) => this.o.logger.warn('could not restart an agent after its container restarted', { agent: h.req.name, err: errText(err) }));
      return this.containerInfo(e);
    });
  }

  remove(namespace: string, name: string): Promise<void> {
    const key = keyOf(namespace, name);
    return this.serial(key, async () => {
      const e = this.entries.get(key);
      if (e) {
        await this.destroy(e);
        return;
      }
      await this.docker.getContainer(dockerName(this.o.nodeName, namespace, name)).remove({ force: true }).catch((err: unknown) => {
        if (statusCode(err) !== 404) throw err;
      });
    });
  }

  list(): ContainerInfo[] {
    return [...this.entries.values()].map((e) => this.containerInfo(e));
  }

  get(namespace: string, name: string): ContainerInfo | undefined {
    const e = this.entries.get(keyOf(namespace, name));
    return e && this.containerInfo(e);
  }

  async logs(namespace: string, name: string, opts: { tailBytes?: number } = {}): Promise<string> {
    const e = this.entries.get(keyOf(namespace, name));
    const handle = e?.handle ?? this.docker.getContainer(dockerName(this.o.nodeName, namespace, name));
    const tailBytes = opts.tailBytes ?? DEFAULT_TAIL_BYTES;
    let buf: Buffer;
    try {
      buf = await handle.logs({ stdout: true, stderr: true, follow: false, tail: Math.min(100_000, Math.ceil(tailBytes / 16)) }) as unknown as Buffer;
    } catch (err) {
      if (statusCode(err) === 404) throw new NotFound(`container ${namespace}/${name} has no logs on this node`);
      throw err;
    }
    const text = demuxFrames(Buffer.from(buf)).combined;
    return text.subarray(Math.max(0, text.length - tailBytes)).toString('utf8');
  }

  async readNewLogs(namespace: string, name: string): Promise<string | undefined> {
    return this.entries.get(keyOf(namespace, name))?.log.readNew();
  }

  /** Containers on this engine labelled drover.dev/agent-capable=true that drover did not create. */
  async discover(): Promise<DiscoveredContainer[]> {
    await this.connect();
    const list = await this.docker.listContainers({ all: true, filters: JSON.stringify({ label: [`${DockerLabels.agentCapable}=true`] }) });
    return list
      .filter((c) => c.Labels?.[DockerLabels.managedBy] !== MANAGED_BY)
      .map((c) => {
        const l = c.Labels ?? {};
        const capacity = Number(l[DockerLabels.agentCapacity]);
        return {
          name: discoveredName(c.Names?.[0] ?? c.Id.slice(0, 12)),
          dockerName: (c.Names?.[0] ?? '').replace(/^\//, ''),
          id: c.Id,
          image: c.Image,
          running: c.State === 'running',
          capabilities: (l[DockerLabels.capabilities] ?? '').split(',').map((s) => s.trim()).filter(Boolean),
          ...(Number.isInteger(capacity) && capacity >= 0 ? { capacityAgents: capacity } : {}),
        };
      });
  }

  // ---- agents ----

  startAgent(req: AgentRequest): Promise<AgentInfo> {
    const ckey = keyOf(req.namespace, req.containerName);
    return this.serial(ckey, async () => {
      this.assertOpen();
      const c = this.entries.get(ckey);
      if (!c) throw new NotFound(`container ${ckey} (host of agent ${req.name}) is not on this node`);
      if (c.obs?.state !== 'running') throw new Conflict(`container ${ckey} is ${c.obs?.state ?? c.pending?.reason ?? 'not created'}: start it before starting agent ${req.name}`);
      const cur = this.agents.get(keyOf(req.namespace, req.name));
      if (cur && cur.agent.req.uid === req.uid && cur.containerKey === ckey && cur.agent.active) return cur.agent.info();
      if (!req.command?.length) throw new Invalid(`agent ${req.namespace}/${req.name}: command is empty`);
      return (await this.launchAgent(req, c)).agent.info();
    });
  }

  async stopAgent(namespace: string, name: string, timeoutSeconds = DEFAULT_GRACE_SECONDS): Promise<void> {
    const a = this.agents.get(keyOf(namespace, name));
    if (!a) return;
    await this.serial(a.containerKey, () => this.retireAgent(a, timeoutSeconds * 1000));
  }

  listAgents(): AgentInfo[] {
    return [...this.agents.values()].map((a) => a.agent.info());
  }

  async readNewAgentLogs(namespace: string, name: string): Promise<string | undefined> {
    return this.agents.get(keyOf(namespace, name))?.log.readNew();
  }

  on(handler: (ev: RuntimeEvent) => void): () => void {
    this.handlers.add(handler);
    return () => this.handlers.delete(handler);
  }

  async nodeResources(): Promise<{ capacity: { cpu: string; memory: string }; usage: { cpu: string; memory: string } }> {
    await this.connect().catch(() => undefined);
    const cpus = this.engineInfo?.ncpu ?? 1;
    const mem = this.engineInfo?.mem ?? 0;
    const times = readCpuTimes();
    let cpuMillis = 0;
    if (times) {
      const prev = this.prevCpu ?? { busy: 0, total: 0 };
      const dt = times.total - prev.total;
      cpuMillis = dt > 0 ? ((times.busy - prev.busy) / dt) * cpus * 1000 : 0;
      this.prevCpu = times;
    }
    return {
      capacity: { cpu: String(cpus), memory: `${Math.floor(mem / 1024)}Ki` },
      usage: { cpu: formatCpuUsage(cpuMillis), memory: formatMemoryUsage(readMemoryUsed() ?? 0) },
    };
  }

  // ---- internals: containers ----

  private newEntry(req: ContainerRequest, managed: boolean): Entry {
    const spec = req.spec as { terminationGracePeriodSeconds?: number; healthCheck?: unknown; restartPolicy?: string };
    const key = keyOf(req.namespace, req.name);
    const check = managed ? parseHealthCheck(spec.healthCheck) : undefined;
    const entry: Entry = {
      key, req, managed, stoppedByUs: false, graceS: Number(spec.terminationGracePeriodSeconds ?? DEFAULT_GRACE_SECONDS), restarts: 0,
      log: new RotatingLog(join(this.root, req.namespace, req.name, 'container.log'), this.o.log),
    };
    // exec checks are Docker's own HEALTHCHECK; http and tcp are probed from here.
    if (check && check.probe.kind !== 'exec') {
      entry.check = check;
      entry.probe = new HealthMonitor({
        check, clock: this.clock, firstProbeMs: this.o.healthFirstProbeMs,
        ctx: { host: this.probeHost(req.spec), cwd: this.root, env: {} },
        onChange: (health, message) => this.onProbeChange(entry, health, message),
      });
    }
    return entry;
  }

  /** Where http/tcp probes go: the node's loopback (host network, or a port published there). */
  private probeHost(spec: Record<string, unknown>): string {
    const net = (spec.networkMode as string | undefined) || this.o.defaultNetwork;
    if (net === 'host') return '127.0.0.1';
    const addr = this.o.nodeAddress ?? '127.0.0.1';
    return addr === '0.0.0.0' ? '127.0.0.1' : addr;
  }

  private bindId(entry: Entry, id: string): void {
    if (entry.id) this.byId.delete(entry.id);
    entry.id = id;
    entry.handle = this.docker.getContainer(id);
    this.byId.set(id, entry);
  }

  /** Image, volumes, create, start. An image problem leaves the entry pending with a retry scheduled. */
  private async materialize(entry: Entry): Promise<void> {
    const req = entry.req;
    const plan = createPlan(req.spec, {
      node: this.o.nodeName, namespace: req.namespace, name: req.name, uid: req.uid, generation: req.generation,
      nodeAddress: this.o.nodeAddress ?? '127.0.0.1', defaultNetwork: this.o.defaultNetwork,
    });
    try {
      entry.imageID = await this.ensureImage(String(plan.options.Image), String(req.spec.imagePullPolicy ?? 'IfNotPresent'));
    } catch (e) {
      if (!(e instanceof ImageError)) throw e;
      const attempts = (entry.pending?.attempts ?? 0) + 1;
      const delay = backoffDelay(attempts - 1, this.backoff);
      entry.pending = { reason: e.reason, message: `${e.message}; retrying in ${Math.max(1, Math.round(delay / 1000))}s (attempt ${attempts})`, attempts };
      this.o.logger.warn('image not available', { container: entry.key, reason: e.reason, err: e.message, retryMs: delay });
      entry.pending.timer = this.clock.setTimeout(() => {
        if (this.closed || this.entries.get(entry.key) !== entry || !entry.pending) return;
        void this.serial(entry.key, () => this.materialize(entry)).catch((err: unknown) => this.o.logger.warn('could not create container', { container: entry.key, err: errText(err) }));
      }, delay);
      this.emitContainer(entry);
      return;
    }
    entry.pending = undefined;
    for (const v of plan.volumes) {
      try {
        await this.docker.getVolume(v.name).inspect();
      } catch (e) {
        if (statusCode(e) !== 404) throw e;
        await this.docker.createVolume({ Name: v.name, Labels: v.labels });
      }
    }
    let created: Docker.Container;
    try {
      created = await this.docker.createContainer(plan.options as Docker.ContainerCreateOptions);
    } catch (e) {
      throw new Invalid(`container ${entry.key}: the engine refused to create it: ${errText(e)}`);
    }
    this.bindId(entry, created.id);
    await this.startContainer(entry);
  }

  private async ensureImage(image: string, policy: string): Promise<string | undefined> {
    const present = await this.docker.getImage(image).inspect().then((i) => i.Id, (e: unknown) => {
      if (statusCode(e) === 404) return undefined;
      throw e;
    });
    if (policy === 'Never') {
      if (!present) throw new ImageError('ErrImageNeverPull', `image "${image}" is not present on node ${this.o.nodeName} and imagePullPolicy is Never`);
      return present;
    }
    if (present && policy === 'IfNotPresent') return present;
    const ref = withTag(image);
    this.o.logger.info('pulling image', { image: ref });
    try {
      const stream = await this.docker.pull(ref);
      await new Promise<void>((done, fail) => {
        this.docker.modem.followProgress(stream, (err: Error | null, out: Array<{ error?: string }>) => {
          const bad = err ?? out?.find((o) => o.error);
          if (bad) fail(new Error(err ? err.message : (bad as { error: string }).error));
          else done();
        });
      });
    } catch (e) {
      throw new ImageError('ImagePullFailed', `pulling image "${ref}" failed: ${errText(e)}`);
    }
    return this.docker.getImage(image).inspect().then((i) => i.Id, () => undefined);
  }

  private async startContainer(entry: Entry): Promise<void> {
    try {
      await entry.handle!.start();
    } catch (e) {
      if (statusCode(e) !== 304) {
        // e.g. the command does not exist: Docker keeps the error in State.Error, reported as StartFailed.
        this.o.logger.warn('container did not start', { container: entry.key, err: errText(e) });
      }
    }
    await this.refresh(entry, true);
    if (entry.obs?.state === 'running') {
      this.followLogs(entry, false);
      entry.probe?.start();
    }
  }

  private async stopEntry(entry: Entry, timeoutMs: number): Promise<void> {
    await Promise.all(this.agentsOf(entry.key).map((a) => this.retireAgent(a, timeoutMs)));
    if (!entry.managed) return;
    entry.stoppedByUs = true;
    entry.probe?.stop();
    if (entry.pending?.timer) this.clock.clearTimeout(entry.pending.timer);
    if (!entry.handle) return;
    try {
      await entry.handle.stop({ t: Math.ceil(timeoutMs / 1000) });
    } catch (e) {
      if (statusCode(e) !== 304 && statusCode(e) !== 404) throw e;
    }
    await this.refresh(entry, true);
  }

  /** Stop and remove (managed), or just forget (discovered). */
  private async destroy(entry: Entry): Promise<void> {
    await this.stopEntry(entry, entry.graceS * 1000);
    if (entry.managed && entry.handle) {
      await entry.handle.remove({ force: true, v: true }).catch((e: unknown) => {
        if (statusCode(e) !== 404) throw e;
      });
    }
    entry.logStream?.destroy?.();
    entry.log.close();
    if (entry.id) this.byId.delete(entry.id);
    if (this.entries.get(entry.key) === entry) this.entries.delete(entry.key);
  }

  private async attachDiscovered(req: ContainerRequest): Promise<ContainerInfo> {
    const key = keyOf(req.namespace, req.name);
    const cur = this.entries.get(key);
    if (cur && !cur.managed && cur.req.uid === req.uid) {
      await this.refresh(cur, false);
      return this.containerInfo(cur);
    }
    if (cur) await this.destroy(cur);
    const found = (await this.discover()).find((d) => d.name === req.name);
    if (!found) throw new NotFound(`no container labelled ${DockerLabels.agentCapable}=true named like ${req.name} on node ${this.o.nodeName}`);
    const entry = this.newEntry(req, false);
    this.bindId(entry, found.id);
    this.entries.set(key, entry);
    await this.refresh(entry, false);
    if (entry.obs?.state === 'running') await this.adoptAgents(entry);
    this.o.logger.info('attached a discovered container', { container: key, docker: found.dockerName });
    return this.containerInfo(entry);
  }

  /** Re-read the engine's view; emits when something a user would see changed. */
  private refresh(entry: Entry, emit = true): Promise<void> {
    const running = this.refreshing.get(entry.key);
    if (running) return running;
    const p = (async () => {
      if (!entry.handle) return;
      const before = this.digest(entry);
      try {
        const insp = await entry.handle.inspect() as unknown as InspectView & { Image?: string };
        const probe = entry.probe && insp.State.Running ? { health: entry.probe.health, message: entry.probe.message } : undefined;
        entry.obs = observedState(insp, probe);
        if (entry.obs.lastExit) entry.lastExit = entry.obs.lastExit;
        else if (entry.lastExit) entry.obs.lastExit = entry.lastExit;
        if (insp.Image) entry.imageID = insp.Image;
        entry.restarts = Math.max(entry.restarts, entry.obs.restarts);
      } catch (e) {
        if (statusCode(e) !== 404) throw e;
        entry.obs = { state: 'failed', health: 'None', restarts: entry.restarts, reason: 'ContainerRemoved', message: 'the Docker container was removed outside drover' };
      }
      if (emit && this.digest(entry) !== before) this.emitContainer(entry);
    })().finally(() => this.refreshing.delete(entry.key));
    this.refreshing.set(entry.key, p);
    return p;
  }

  private digest(e: Entry): string {
    const i = this.containerInfo(e);
    return JSON.stringify([i.state, i.health, i.restarts, i.message, i.reason, i.containerID, i.startedAt]);
  }

  private containerInfo(e: Entry): ContainerInfo {
    const base = { namespace: e.req.namespace, name: e.req.name, uid: e.req.uid, generation: e.req.generation };
    if (e.pending) {
      return { ...base, containerID: '', state: 'failed', health: 'None', restarts: e.restarts, reason: e.pending.reason, message: e.pending.message };
    }
    const o = e.obs ?? { state: 'created' as const, health: 'None' as const, restarts: 0 };
    return {
      ...base,
      containerID: e.id ? `docker://${e.id}` : '',
      pid: o.pid,
      state: o.state,
      health: o.health,
      restarts: e.restarts,
      startedAt: o.startedAt,
      lastExit: o.lastExit,
      message: o.message,
      reason: o.reason,
      imageID: e.imageID,
      usage: o.state === 'running' ? e.usage : undefined,
    };
  }

  private onProbeChange(entry: Entry, health: HealthState, message: string): void {
    this.o.logger.info('container health changed', { container: entry.key, health, probe: message });
    void this.refresh(entry, true).then(() => this.emitContainer(entry));
    if (health === 'Unhealthy') void this.restartUnhealthy(entry);
  }

  /** Like a liveness probe: an Unhealthy container is restarted unless its policy is Never. */
  private async restartUnhealthy(entry: Entry): Promise<void> {
    if (!entry.managed || parseRestartPolicy(entry.req.spec.restartPolicy) === 'Never' || entry.stoppedByUs) return;
    await this.serial(entry.key, async () => {
      if (this.entries.get(entry.key) !== entry || !entry.handle) return;
      this.o.logger.warn('restarting an unhealthy container', { container: entry.key });
      entry.probe?.stop();
      await entry.handle.restart({ t: entry.graceS }).catch((e: unknown) => this.o.logger.warn('restart failed', { container: entry.key, err: errText(e) }));
      entry.restarts++;
      await this.refresh(entry, true);
      this.followLogs(entry, false);
      entry.probe?.start();
    }).catch(() => undefined);
  }

  /** Follow the container's output into the node-side log (for shipping); re-attached after each start. */
  private followLogs(entry: Entry, onlyNew: boolean): void {
    if (!entry.managed || !entry.handle) return;
    entry.logStream?.destroy?.();
    entry.logStream = undefined;
    const handle = entry.handle;
    const since = onlyNew ? Math.floor(this.clock.now() / 1000) : Math.floor(Date.parse(entry.obs?.startedAt ?? new Date(this.clock.now()).toISOString()) / 1000);
    handle.logs({ follow: true, stdout: true, stderr: true, since }).then((stream) => {
      const s = stream as NodeJS.ReadableStream & { destroy?: () => void };
      if (this.closed || entry.handle !== handle || this.entries.get(entry.key) !== entry) {
        s.destroy?.();
        return;
      }
      entry.logStream = s;
      const sink = new Writable({ write: (chunk: Buffer, _enc, cb) => { entry.log.write(chunk); cb(); } });
      this.docker.modem.demuxStream(s, sink, sink);
      s.on('error', () => undefined);
    }, (e: unknown) => this.o.logger.debug('could not follow container logs', { container: entry.key, err: errText(e) }));
  }

  // ---- internals: agents ----

  private async launchAgent(req: AgentRequest, container: Entry, restarts = 0): Promise<AgentEntry> {
    const key = keyOf(req.namespace, req.name);
    const cur = this.agents.get(key);
    if (cur) await this.retireAgent(cur, DEFAULT_GRACE_SECONDS * 1000);
    const env = [
      ...(req.env ?? []).map((e) => `${e.name}=${e.value ?? ''}`),
      `DROVER_AGENT_NAME=${req.name}`, `DROVER_AGENT_CONFIG=${JSON.stringify(req.config ?? {})}`,
    ];
    const entry = this.agentEntry(req, container, env);
    entry.agent.restarts = restarts;
    this.agents.set(key, entry);
    try {
      await entry.agent.start();
    } catch (e) {
      this.agents.delete(key);
      entry.log.close();
      throw new Conflict(`agent ${key}: could not exec in container ${container.key}: ${errText(e)}`);
    }
    return entry;
  }

  private agentEntry(req: AgentRequest, container: Entry, env: string[]): AgentEntry {
    const key = keyOf(req.namespace, req.name);
    const log = new RotatingLog(join(this.root, container.req.namespace, container.req.name, 'agents', `${req.name}.log`), this.o.log);
    const entry: AgentEntry = {
      key, containerKey: container.key, log,
      agent: new ExecAgent({
        req, env, log, clock: this.clock, logger: this.o.logger, backoff: this.backoff, node: this.o.nodeName,
        container: () => this.entries.get(container.key)?.handle,
        containerRunning: () => this.entries.get(container.key)?.obs?.state === 'running',
        demux: (s, out, err) => this.docker.modem.demuxStream(s, out, err),
        onChange: () => this.emit({ type: 'agent', info: entry.agent.info() }),
      }),
    };
    return entry;
  }

  /** Agents a previous node agent run started in this container and that still run: watched again, not restarted. */
  private async adoptAgents(container: Entry): Promise<void> {
    if (!container.handle) return;
    const insp = await container.handle.inspect().catch(() => undefined) as { ExecIDs?: string[] | null } | undefined;
    for (const execId of insp?.ExecIDs ?? []) {
      const ex = await this.docker.getExec(execId).inspect().catch(() => undefined);
      if (!ex?.Running) continue;
      const marker = parseMarker(ex.ProcessConfig?.arguments);
      if (!marker) continue;
      const key = keyOf(container.req.namespace, marker.name);
      if (this.agents.has(key)) continue;
      const args = ex.ProcessConfig.arguments.slice(3);
      const req: AgentRequest = { namespace: container.req.namespace, name: marker.name, uid: marker.uid, containerName: container.req.name, command: args.slice(0, 1), args: args.slice(1) };
      const entry = this.agentEntry(req, container, []);
      this.agents.set(key, entry);
      entry.agent.adopt(execId, ex.Pid || undefined, this.docker);
      this.o.logger.info('adopted a running agent from an earlier run', { agent: key, container: container.key });
    }
  }

  private async retireAgent(a: AgentEntry, timeoutMs: number): Promise<void> {
    await a.agent.stop(timeoutMs);
    a.log.close();
    if (this.agents.get(a.key) === a) this.agents.delete(a.key);
  }

  private agentsOf(containerKey: string): AgentEntry[] {
    return [...this.agents.values()].filter((a) => a.containerKey === containerKey);
  }

  // ---- internals: engine events, resync, usage ----

  private async watchEvents(): Promise<void> {
    let first = true;
    while (!this.closed) {
      try {
        const since = Math.floor(this.clock.now() / 1000);
        const stream = await this.docker.getEvents({ filters: { type: ['container'] }, ...(first ? {} : { since }) } as Docker.GetEventsOptions);
        this.events = stream as NodeJS.ReadableStream & { destroy?: () => void };
        if (!first) void this.resync();
        first = false;
        await new Promise<void>((done) => {
          let buf = '';
          stream.on('data', (chunk: Buffer) => {
            buf += chunk.toString('utf8');
            let nl: number;
            while ((nl = buf.indexOf('\n')) >= 0) {
              const line = buf.slice(0, nl).trim();
              buf = buf.slice(nl + 1);
              if (line) this.onEngineEvent(line);
            }
          });
          stream.on('end', () => done());
          stream.on('close', () => done());
          stream.on('error', () => done());
        });
      } catch (e) {
        if (!this.closed) this.o.logger.warn('lost the Docker event stream; reconnecting', { err: errText(e) });
      }
      if (this.closed) return;
      await new Promise((r) => this.clock.setTimeout(() => r(undefined), EVENTS_RETRY_MS));
    }
  }

  private onEngineEvent(line: string): void {
    let ev: { Action?: string; status?: string; id?: string; time?: number; Actor?: { ID?: string; Attributes?: Record<string, string> } };
    try {
      ev = JSON.parse(line);
    } catch {
      return;
    }
    const id = ev.Actor?.ID ?? ev.id;
    const action = (ev.Action ?? ev.status ?? '').split(':')[0];
    if (!id) return;
    const entry = this.byId.get(id);
    if (entry && action === 'die') {
      const code = Number(ev.Actor?.Attributes?.exitCode);
      if (Number.isInteger(code)) entry.lastExit = exitInfoOf(code, ev.time ? new Date(ev.time * 1000).toISOString() : new Date(this.clock.now()).toISOString());
    }
    if (entry) {
      if (['start', 'die', 'stop', 'kill', 'oom', 'health_status', 'destroy', 'pause', 'unpause', 'restart'].includes(action)) {
        void this.refresh(entry, true).then(() => {
          if (action === 'start' && entry.obs?.state === 'running') {
            this.followLogs(entry, false);
            if (entry.probe && entry.check) entry.probe.start();
          }
          if (action === 'health_status' && entry.obs?.health === 'Unhealthy') void this.restartUnhealthy(entry);
          if ((action === 'destroy' || action === 'die') && entry.managed) void this.maybeRecreate(entry);
        }).catch((e: unknown) => this.o.logger.debug('refresh after an engine event failed', { container: entry.key, err: errText(e) }));
      }
      return;
    }
    const attrs = ev.Actor?.Attributes ?? {};
    if (action === 'start' && attrs[DockerLabels.agentCapable] === 'true' && attrs[DockerLabels.managedBy] !== MANAGED_BY && !this.discoveredIds.has(id)) {
      this.discoveredIds.add(id);
      void this.discover().then((all) => {
        const d = all.find((x) => x.id === id);
        if (d) this.emit({ type: 'discovered', container: d });
      }).catch(() => undefined);
    }
  }

  /** A managed container removed behind drover's back is created again (unless drover stopped it or its policy is Never). */
  private async maybeRecreate(entry: Entry): Promise<void> {
    if (entry.obs?.reason !== 'ContainerRemoved' || entry.stoppedByUs || this.closed) return;
    if (parseRestartPolicy(entry.req.spec.restartPolicy) === 'Never') return;
    await this.serial(entry.key, async () => {
      if (this.entries.get(entry.key) !== entry || entry.obs?.reason !== 'ContainerRemoved') return;
      this.o.logger.warn('the Docker container was removed outside drover; creating it again', { container: entry.key });
      for (const a of this.agentsOf(entry.key)) a.agent.detach();
      entry.restarts++;
      await this.materialize(entry);
    }).catch((e: unknown) => this.o.logger.warn('could not recreate container', { container: entry.key, err: errText(e) }));
  }

  private async resync(): Promise<void> {
    for (const e of [...this.entries.values()]) {
      if (this.closed) return;
      if (e.pending || !e.handle) continue;
      await this.refresh(e, true).catch(() => undefined);
      if (e.managed) void this.maybeRecreate(e);
    }
  }

  private async sampleUsage(): Promise<void> {
    for (const e of [...this.entries.values()]) {
      if (this.closed) return;
      if (!e.handle || e.obs?.state !== 'running') continue;
      try {
        const stats = await e.handle.stats({ stream: false, 'one-shot': true } as { stream: false });
        const u = usageFromStats(stats, e.sample, this.clock.now());
        const first = !e.sample;
        e.sample = u.sample;
        if (!first) e.usage = { cpu: formatCpuUsage(u.cpuMillis), memory: formatMemoryUsage(u.memoryBytes) };
        else e.usage = { cpu: '0', memory: formatMemoryUsage(u.memoryBytes) };
      } catch {
        // gone meanwhile: the next refresh says so
      }
    }
  }

  // ---- plumbing ----

  private emitContainer(entry: Entry): void {
    if (this.entries.get(entry.key) !== entry) return;
    this.emit({ type: 'container', info: this.containerInfo(entry) });
  }

  private emit(ev: RuntimeEvent): void {
    for (const h of this.handlers) {
      try {
        h(ev);
      } catch (err) {
        this.o.logger.error('runtime event handler failed', { error: String(err) });
      }
    }
  }

  private every(ms: number, fn: () => Promise<void>): void {
    const tick = () => {
      if (this.closed) return;
      const h = this.clock.setTimeout(() => {
        this.timers.delete(h);
        fn().catch(() => undefined).finally(tick);
      }, ms);
      this.timers.add(h);
    };
    tick();
  }

  private serial<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.locks.get(key) ?? Promise.resolve();
    const run = prev.then(fn, fn);
    const tail = run.then(() => undefined, () => undefined);
    this.locks.set(key, tail);
    void tail.then(() => {
      if (this.locks.get(key) === tail) this.locks.delete(key);
    });
    return run;
  }

  private mustGet(namespace: string, name: string): Entry {
    const e = this.entries.get(keyOf(namespace, name));
    if (!e) throw new NotFound(`container ${namespace}/${name} is not on this node`);
    return e;
  }

  private assertOpen(): void {
    if (this.closed) throw new Conflict('the docker runtime is closed');
  }
}
