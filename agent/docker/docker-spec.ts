// Container.spec ↔ Docker, pure: the create options drover sends to the engine, the identity labels
// it puts on everything it creates, and the engine's inspect view → the runtime's ContainerInfo.
import { parseDuration } from '../../core/duration.ts';
import { Invalid } from '../../core/errors.ts';
import { cpuMillis, memoryBytes } from '../../core/quantity.ts';
import type { ContainerState, ExitInfo, HealthState } from '../runtime.ts';
import { parseRestartPolicy } from '../process/restart-policy.ts';

/** Identity labels: drover finds what it created by these (adoption after a restart). */
export const DockerLabels = {
  managedBy: 'drover.dev/managed-by',
  node: 'drover.dev/node',
  namespace: 'drover.dev/namespace',
  name: 'drover.dev/name',
  uid: 'drover.dev/uid',
  generation: 'drover.dev/generation',
  /** The Container.spec the container was created from (JSON), so an adopted container is fully known. */
  spec: 'drover.dev/spec',
  /** Set by users on containers drover did not create but may place agents into. */
  agentCapable: 'drover.dev/agent-capable',
  /** Comma-separated capabilities of such a container. */
  capabilities: 'drover.dev/capabilities',
  /** Agents-per-container capacity of such a container (optional). */
  agentCapacity: 'drover.dev/agent-capacity',
} as const;
export const MANAGED_BY = 'drover';

/** Docker name of a managed container: unique per engine, readable in `docker ps`. */
export function dockerName(node: string, namespace: string, name: string): string {
  return `drover.${node}.${namespace}.${name}`;
}

/** A Container object name for a discovered Docker container: its name as one DNS-1123 label. */
export function discoveredName(dockerContainerName: string): string {
  const base = dockerContainerName.replace(/^\//, '').toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '');
  return (base || 'container').slice(0, 63).replace(/-+$/, '');
}

export function identityLabels(node: string, req: { namespace: string; name: string; uid: string; generation: number }): Record<string, string> {
  return {
    [DockerLabels.managedBy]: MANAGED_BY,
    [DockerLabels.node]: node,
    [DockerLabels.namespace]: req.namespace,
    [DockerLabels.name]: req.name,
    [DockerLabels.uid]: req.uid,
    [DockerLabels.generation]: String(req.generation),
  };
}

/** Docker's restart policy for a Container restartPolicy (Always does not survive an explicit stop). */
export function dockerRestartPolicy(policy: unknown): { Name: string; MaximumRetryCount?: number } {
  switch (parseRestartPolicy(policy)) {
    case 'Always': return { Name: 'unless-stopped' };
    case 'OnFailure': return { Name: 'on-failure' };
    case 'Never': return { Name: 'no' };
  }
}

/**
 * What an agent host without a command runs: an idle shell that exits at once on SIGTERM (a plain
 * `sleep` as PID 1 would ignore it and make every stop wait the whole grace period).
 */
export const IDLE_HOST_COMMAND = ['/bin/sh', '-c', 'trap "exit 0" TERM INT; while :; do sleep 3600 & wait $!; done'];

export interface VolumeRequest { name: string; labels: Record<string, string> }

export interface DockerCreatePlan {
  /** Body for POST /containers/create (dockerode createContainer options, `name` included). */
  options: Record<string, unknown>;
  /** Named volumes to create first when missing. */
  volumes: VolumeRequest[];
}

interface Spec {
  image?: string;
  command?: string[];
  args?: string[];
  workingDir?: string;
  env?: Array<{ name: string; value?: string }>;
  ports?: Array<{ containerPort: number; hostPort?: number; hostIP?: string; protocol?: string }>;
  volumes?: Array<{ name: string; hostPath?: string; volume?: string; mountPath: string; readOnly?: boolean }>;
  resources?: { requests?: { cpu?: string | number; memory?: string | number }; limits?: { cpu?: string | number; memory?: string | number } };
  restartPolicy?: string;
  terminationGracePeriodSeconds?: number;
  networkMode?: string;
  healthCheck?: Record<string, any>;
  agentHost?: unknown;
}

export interface CreateContext {
  node: string;
  namespace: string;
  name: string;
  uid: string;
  generation: number;
  /** Host IP for published ports without one (the node's --address). */
  nodeAddress: string;
  /** Network mode when the spec names none (the agent's --docker-network; undefined = the engine's default). */
  defaultNetwork?: string;
}

const NS_PER_MS = 1_000_000;

/** Container.spec → Docker create options. Throws Invalid naming the field for what Docker cannot do. */
export function createPlan(specIn: Record<string, unknown>, ctx: CreateContext): DockerCreatePlan {
  const spec = specIn as Spec;
  const where = `container ${ctx.namespace}/${ctx.name}`;
  if (!spec.image) throw new Invalid(`${where}: spec.image is required by the docker runtime`);
  const labels = { ...identityLabels(ctx.node, ctx), [DockerLabels.spec]: JSON.stringify(specIn) };
  const env = [
    ...(spec.env ?? []).map((e) => `${e.name}=${e.value ?? ''}`),
    `DROVER_CONTAINER=${ctx.name}`, `DROVER_NAMESPACE=${ctx.namespace}`, `DROVER_NODE_ADDRESS=${ctx.nodeAddress}`,
  ];
  const networkMode = spec.networkMode || ctx.defaultNetwork;
  const host: Record<string, unknown> = { RestartPolicy: dockerRestartPolicy(spec.restartPolicy) };
  if (networkMode) host.NetworkMode = networkMode;

  const exposed: Record<string, object> = {};
  const bindings: Record<string, Array<{ HostIp: string; HostPort: string }>> = {};
  if (networkMode !== 'host' && networkMode !== 'none') {
    for (const p of spec.ports ?? []) {
      const key = `${p.containerPort}/${(p.protocol ?? 'TCP').toLowerCase()}`;
      exposed[key] = {};
      if (p.hostPort !== undefined) (bindings[key] ??= []).push({ HostIp: p.hostIP ?? ctx.nodeAddress, HostPort: String(p.hostPort) });
    }
    if (Object.keys(bindings).length) host.PortBindings = bindings;
  }

  const volumes: VolumeRequest[] = [];
  const mounts: Array<Record<string, unknown>> = [];
  for (const [i, v] of (spec.volumes ?? []).entries()) {
    if (v.hostPath && v.volume) throw new Invalid(`${where}: spec.volumes[${i}] (${v.name}) sets both hostPath and volume; set one`);
    if (v.hostPath) {
      if (!v.hostPath.startsWith('/')) throw new Invalid(`${where}: spec.volumes[${i}].hostPath must be an absolute path (got "${v.hostPath}")`);
      mounts.push({ Type: 'bind', Source: v.hostPath, Target: v.mountPath, ReadOnly: v.readOnly === true });
    } else {
      const volName = v.volume ?? `drover.${ctx.namespace}.${ctx.name}.${v.name}`;
      volumes.push({ name: volName, labels: { [DockerLabels.managedBy]: MANAGED_BY, [DockerLabels.namespace]: ctx.namespace, [DockerLabels.name]: ctx.name, 'drover.dev/volume': v.name } });
      mounts.push({ Type: 'volume', Source: volName, Target: v.mountPath, ReadOnly: v.readOnly === true });
    }
  }
  if (mounts.length) host.Mounts = mounts;

  const limits = spec.resources?.limits ?? {};
  const requests = spec.resources?.requests ?? {};
  try {
    if (limits.cpu !== undefined) host.NanoCpus = cpuMillis(limits.cpu) * 1_000_000;
    if (limits.memory !== undefined) host.Memory = memoryBytes(limits.memory);
    if (requests.cpu !== undefined) host.CpuShares = Math.max(2, Math.round((cpuMillis(requests.cpu) * 1024) / 1000));
    if (requests.memory !== undefined) host.MemoryReservation = memoryBytes(requests.memory);
  } catch (e) {
    throw new Invalid(`${where}: spec.resources: ${(e as Error).message}`);
  }

  const options: Record<string, unknown> = {
    name: dockerName(ctx.node, ctx.namespace, ctx.name),
    Image: spec.image,
    Env: env,
    Labels: labels,
    HostConfig: host,
    StopTimeout: spec.terminationGracePeriodSeconds ?? 10,
  };
  // Kubernetes semantics: command replaces the image's ENTRYPOINT, args its CMD.
  if (spec.command?.length) {
    options.Entrypoint = spec.command;
    options.Cmd = spec.args ?? [];
  } else if (spec.args?.length) {
    options.Cmd = spec.args;
  } else if (spec.agentHost) {
    options.Entrypoint = IDLE_HOST_COMMAND;
    options.Cmd = [];
  }
  if (spec.workingDir) options.WorkingDir = spec.workingDir;
  if (Object.keys(exposed).length) options.ExposedPorts = exposed;
  const hc = dockerHealthcheck(spec.healthCheck);
  if (hc) options.Healthcheck = hc;
  return { options, volumes };
}

/** An exec health check runs as Docker's own HEALTHCHECK; http and tcp are probed by the node agent. */
export function dockerHealthcheck(hc: Record<string, any> | undefined): Record<string, unknown> | undefined {
  if (!hc?.exec?.command?.length) return undefined;
  return {
    Test: ['CMD', ...hc.exec.command.map(String)],
    Interval: parseDuration(hc.interval ?? '10s') * NS_PER_MS,
    Timeout: parseDuration(hc.timeout ?? '2s') * NS_PER_MS,
    Retries: Number(hc.retries ?? 3),
    StartPeriod: parseDuration(hc.startPeriod ?? '0s') * NS_PER_MS,
  };
}

/** The parts of `docker inspect` this module reads. */
export interface InspectView {
  Id: string;
  Name?: string;
  Created?: string;
  RestartCount?: number;
  State: {
    Status: string; Running?: boolean; Restarting?: boolean; OOMKilled?: boolean; Dead?: boolean;
    Pid?: number; ExitCode?: number; Error?: string; StartedAt?: string; FinishedAt?: string;
    Health?: { Status?: string; Log?: Array<{ ExitCode?: number; Output?: string }> };
  };
  Config?: { Labels?: Record<string, string> | null; Image?: string };
  Image?: string;
}

export interface ObservedState {
  state: ContainerState;
  health: HealthState;
  restarts: number;
  pid?: number;
  startedAt?: string;
  lastExit?: ExitInfo;
  message?: string;
  /** Failed: why (StartFailed, OOMKilled, Error). */
  reason?: string;
}

const ZERO_TIME = /^0001-01-01/;

const SIGNALS: Record<number, string> = { 1: 'SIGHUP', 2: 'SIGINT', 6: 'SIGABRT', 9: 'SIGKILL', 15: 'SIGTERM' };

function lastExitOf(s: InspectView['State']): ExitInfo | undefined {
  if (!s.FinishedAt || ZERO_TIME.test(s.FinishedAt)) return undefined;
  const code = s.ExitCode ?? null;
  const signal = code !== null && code > 128 ? (SIGNALS[code - 128] ?? `signal ${code - 128}`) : null;
  let reason = code === 0 ? 'Completed' : 'Error';
  if (s.OOMKilled) reason = 'OOMKilled';
  else if (signal === 'SIGKILL') reason = 'Killed';
  return { exitCode: code, signal, reason, finishedAt: new Date(s.FinishedAt).toISOString() };
}

const HEALTH: Record<string, HealthState> = { starting: 'Starting', healthy: 'Healthy', unhealthy: 'Unhealthy' };

/** The engine's view → runtime state. `probeHealth` is the node agent's own probe (http/tcp), if any. */
export function observedState(c: InspectView, probeHealth?: { health: HealthState; message?: string }): ObservedState {
  const s = c.State;
  // A running container's inspect shows the exit code reset to 0: its last exit is known from the
  // engine's `die` event instead (the runtime remembers it).
  const running = Boolean(s.Running) && !s.Restarting;
  const lastExit = running ? undefined : lastExitOf(s);
  let state: ContainerState;
  if (s.Restarting || s.Status === 'restarting') state = 'restarting';
  else if (s.Running || s.Status === 'running' || s.Status === 'paused') state = 'running';
  else if (s.Status === 'created') state = 'created';
  else if (s.Status === 'removing') state = 'stopping';
  else if (s.Status === 'dead') state = 'failed';
  else state = 'exited';
  let message: string | undefined;
  let reason: string | undefined;
  if (s.Error) {
    // e.g. `exec: "nosuch": executable file not found in $PATH`: the process never started.
    state = state === 'running' ? state : 'failed';
    reason = 'StartFailed';
    message = s.Error;
  } else if (state === 'restarting') {
    message = `restarting after ${lastExit?.signal ? lastExit.signal : `exit code ${lastExit?.exitCode ?? '?'}`} (restart ${c.RestartCount ?? 0})`;
  } else if (state === 'failed') {
    reason = lastExit?.reason ?? 'Dead';
  }
  let health: HealthState = 'None';
  if (state === 'running') {
    if (probeHealth) {
      health = probeHealth.health;
      if (probeHealth.message) message = probeHealth.message;
    } else if (s.Health?.Status && HEALTH[s.Health.Status]) {
      health = HEALTH[s.Health.Status];
      if (health === 'Unhealthy') {
        const out = s.Health.Log?.at(-1)?.Output?.trim();
        message = `health check failed${out ? `: ${out.slice(0, 200)}` : ''}`;
      }
    }
  } else if (probeHealth || s.Health) {
    health = state === 'restarting' || state === 'created' ? 'Starting' : 'None';
  }
  return {
    state, health, restarts: c.RestartCount ?? 0, pid: s.Running && s.Pid ? s.Pid : undefined,
    startedAt: s.StartedAt && !ZERO_TIME.test(s.StartedAt) ? new Date(s.StartedAt).toISOString() : undefined,
    lastExit, message, reason,
  };
}

/** Split Docker's multiplexed stream format (8-byte frame headers) of a non-TTY container's logs. */
export function demuxFrames(buf: Buffer): { stdout: Buffer; stderr: Buffer; combined: Buffer } {
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  const all: Buffer[] = [];
  let i = 0;
  while (i + 8 <= buf.length) {
    const type = buf[i];
    const size = buf.readUInt32BE(i + 4);
    if (type > 2 || buf[i + 1] !== 0 || buf[i + 2] !== 0 || buf[i + 3] !== 0) {
      // Not framed (a TTY container): the bytes are the output.
      return { stdout: buf, stderr: Buffer.alloc(0), combined: buf };
    }
    const chunk = buf.subarray(i + 8, Math.min(buf.length, i + 8 + size));
    (type === 2 ? err : out).push(chunk);
    all.push(chunk);
    i += 8 + size;
  }
  return { stdout: Buffer.concat(out), stderr: Buffer.concat(err), combined: Buffer.concat(all) };
}

/** Docker stats (one sample) → cpu usage in millicores since the previous sample, and memory in use. */
export interface StatsSample { cpuNs: number; atMs: number }
export function usageFromStats(stats: any, prev: StatsSample | undefined, nowMs: number): { cpuMillis: number; memoryBytes: number; sample: StatsSample } {
  const cpuNs = Number(stats?.cpu_stats?.cpu_usage?.total_usage ?? 0);
  const mem = stats?.memory_stats ?? {};
  // Like `docker stats`: usage minus page cache (cgroup v1 `cache`, v2 `inactive_file`).
  const cache = Number(mem.stats?.inactive_file ?? mem.stats?.total_inactive_file ?? mem.stats?.cache ?? 0);
  const memoryBytes = Math.max(0, Number(mem.usage ?? 0) - cache);
  const sample = { cpuNs, atMs: nowMs };
  let cpuMillis = 0;
  if (prev && nowMs > prev.atMs && cpuNs >= prev.cpuNs) cpuMillis = ((cpuNs - prev.cpuNs) / 1e6 / (nowMs - prev.atMs)) * 1000;
  return { cpuMillis, memoryBytes, sample };
}
