// The node watchdog (docker runtime): Docker containers outlive the node agent that started them, so
// an agent killed with -9, crashed or hung would leave its workloads running while the manager, after
// the fencing deadline, starts them on another node. The watchdog is a small detached process beside
// the agent that keeps the agent's own promise for it: when the agent's last accepted heartbeat is
// older than the grace period, it stops (and removes) the node's unpinned containers and stops every
// agent exec'd by this node — the same fence the agent applies to itself when it loses the manager.
//
// The agent writes a lease file at each accepted heartbeat (<data-dir>/watchdog/lease.json, with
// CLOCK_MONOTONIC times, which every process of the machine shares); the watchdog polls it. The
// watchdog exits by itself when its data dir is gone, when another watchdog took over, or when the
// agent is dead and nothing of this node is left running to guard. A restarted agent starts a new
// watchdog if none runs.
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type Docker from 'dockerode';
import type { Logger } from '../../core/logging.ts';
import { DockerLabels, MANAGED_BY } from './docker-spec.ts';
import { agentSignalCmd, parseMarker } from './exec-agent.ts';
import { processAlive } from '../process/process-group.ts';

export const WATCHDOG_DIR = 'watchdog';
const LEASE_FILE = 'lease.json';
const PID_FILE = 'pid';
const LOG_FILE = 'watchdog.log';
export const WATCHDOG_POLL_MS = 250;
/** While fenced, how often the node is swept again (a restart policy or a late exec may bring something back). */
const SWEEP_MS = 1000;
/** How long an agent gets between SIGTERM and SIGKILL (the manager's deadline allows 10 s). */
const AGENT_TERM_WAIT_MS = 5000;
/** An agent whose fencing check has not run for this long is hung: the watchdog fences for it. */
export const AGENT_HUNG_MS = 5000;
/** A live agent rewrites the lease at least this often. */
const LEASE_REFRESH_MS = 1000;
/** The agent is dead and the engine has not answered for this long: there is nothing left to guard. */
const ENGINE_GONE_EXIT_MS = 30_000;

export interface WatchdogLease {
  node: string;
  /** The node agent's pid (the watchdog stops guarding once it is dead and nothing is left). */
  agentPid: number;
  /** CLOCK_MONOTONIC (process.hrtime) in ns, as a decimal string, of the send time of the last accepted heartbeat. */
  contactNs: string;
  graceMs: number;
  /** CLOCK_MONOTONIC ns when the agent last ran its own fencing check: a live, responsive agent fences itself. */
  aliveNs: string;
}

export const monotonicNs = (): bigint => process.hrtime.bigint();

export function watchdogDir(dataDir: string): string {
  return join(dataDir, WATCHDOG_DIR);
}

/** Atomically replaces the lease (write + rename: the watchdog never reads half a file). */
export function writeLease(dataDir: string, lease: WatchdogLease): void {
  const dir = watchdogDir(dataDir);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const tmp = join(dir, `${LEASE_FILE}.${process.pid}.tmp`);
  writeFileSync(tmp, `${JSON.stringify(lease)}\n`, { mode: 0o600 });
  renameSync(tmp, join(dir, LEASE_FILE));
}

/** The lease, or undefined when there is none; 'invalid' for a file that does not parse as one. */
export function readLease(dataDir: string): WatchdogLease | undefined | 'invalid' {
  let text: string;
  try {
    text = readFileSync(join(watchdogDir(dataDir), LEASE_FILE), 'utf8');
  } catch {
    return undefined;
  }
  try {
    const l = JSON.parse(text) as WatchdogLease;
    const ns = (v: unknown) => typeof v === 'string' && /^\d+$/.test(v);
    if (typeof l.node !== 'string' || !ns(l.contactNs) || !ns(l.aliveNs) || typeof l.graceMs !== 'number' || typeof l.agentPid !== 'number') return 'invalid';
    return l;
  } catch {
    return 'invalid';
  }
}

/** Milliseconds since the lease's last contact. */
export function leaseSilenceMs(lease: WatchdogLease, nowNs: bigint): number {
  return Number(nowNs - BigInt(lease.contactNs)) / 1e6;
}

export function leaseExpired(lease: WatchdogLease, nowNs: bigint): boolean {
  return leaseSilenceMs(lease, nowNs) >= lease.graceMs;
}

/** Whether the watchdog fences now: the contact is older than the grace period and the agent cannot fence itself (dead or hung). */
export function watchdogShouldFence(lease: WatchdogLease, nowNs: bigint, agentAlive: boolean): boolean {
  if (!leaseExpired(lease, nowNs)) return false;
  return !agentAlive || Number(nowNs - BigInt(lease.aliveNs)) / 1e6 >= AGENT_HUNG_MS;
}

/**
 * The agent side: called with how long ago the last heartbeat was accepted (at each accepted heartbeat and at
 * each fencing check); writes the lease when the contact or grace changed, and at least every second.
 */
export function createLeaseWriter(dataDir: string, node: string, logger: Logger): (contactAgeMs: number, graceMs: number) => void {
  let last: { contact: bigint; grace: number; at: bigint } | undefined;
  let warned = false;
  return (contactAgeMs, graceMs) => {
    const now = monotonicNs();
    const contact = now - BigInt(Math.max(0, Math.round(contactAgeMs * 1e6)));
    if (last && last.grace === graceMs && (contact > last.contact ? contact - last.contact : last.contact - contact) < 20_000_000n
      && now - last.at < BigInt(LEASE_REFRESH_MS) * 1_000_000n) return;
    try {
      writeLease(dataDir, { node, agentPid: process.pid, contactNs: contact.toString(), graceMs, aliveNs: now.toString() });
      last = { contact, grace: graceMs, at: now };
      warned = false;
    } catch (e) {
      if (!warned) logger.warn('could not write the watchdog lease', { err: (e as Error).message });
      warned = true;
    }
  };
}

/** The pinned node of a drover container, from its spec label (pinned containers are never moved, so never fenced). */
function pinnedNode(labels: Record<string, string>): string | undefined {
  try {
    const spec = JSON.parse(labels[DockerLabels.spec] ?? '{}') as { nodeName?: unknown };
    return typeof spec.nodeName === 'string' && spec.nodeName ? spec.nodeName : undefined;
  } catch {
    return undefined;
  }
}

/** A running container this node's fence stops: drover's, of this node, not pinned. */
export function isFenceVictim(c: Pick<Docker.ContainerInfo, 'Labels' | 'State'>, node: string): boolean {
  const l = c.Labels ?? {};
  if (l[DockerLabels.managedBy] !== MANAGED_BY || l[DockerLabels.node] !== node) return false;
  if (c.State !== 'running' && c.State !== 'restarting') return false;
  return pinnedNode(l) === undefined;
}

/** Whether an exec (its ProcessConfig.arguments) is an agent this node started, in a container labelled `containerNode`. */
export function isNodeAgentExec(args: string[] | undefined, node: string, containerNode: string | undefined): { name: string } | undefined {
  const m = parseMarker(args);
  if (!m) return undefined;
  // Markers written before they carried the node: only in containers of this node.
  const owner = m.node ?? containerNode;
  return owner === node ? { name: m.name } : undefined;
}

export interface FenceResult {
  stopped: string[];
  agents: string[];
}

/**
 * One sweep: every running agent exec of this node gets SIGTERM (SIGKILL after AGENT_TERM_WAIT_MS), and every
 * unpinned running container of this node is stopped with its grace period and removed (named volumes stay).
 */
export async function fenceNode(docker: Docker, node: string, logger: Logger): Promise<FenceResult> {
  const running = await docker.listContainers({ filters: JSON.stringify({ status: ['running', 'restarting'] }) });
  const victims = running.filter((c) => isFenceVictim(c, node));
  const agentExecs: { container: Docker.Container; name: string; execId: string }[] = [];
  for (const c of running) {
    const handle = docker.getContainer(c.Id);
    const insp = await handle.inspect().catch(() => undefined) as { ExecIDs?: string[] | null } | undefined;
    for (const execId of insp?.ExecIDs ?? []) {
      const ex = await docker.getExec(execId).inspect().catch(() => undefined);
      if (!ex?.Running) continue;
      const a = isNodeAgentExec(ex.ProcessConfig?.arguments, node, c.Labels?.[DockerLabels.node]);
      if (a) agentExecs.push({ container: handle, name: a.name, execId });
    }
  }
  const signal = async (a: (typeof agentExecs)[number], sig: 'TERM' | 'KILL') => {
    try {
      const ex = await a.container.exec({ Cmd: agentSignalCmd(a.name, sig), AttachStdout: false, AttachStderr: false });
      await ex.start({ Detach: true });
    } catch (e) {
      logger.debug('could not signal an agent', { agent: a.name, signal: sig, err: (e as Error).message });
    }
  };
  const stopAgents = (async () => {
    await Promise.all(agentExecs.map((a) => signal(a, 'TERM')));
    const deadline = Date.now() + AGENT_TERM_WAIT_MS;
    let left = agentExecs;
    while (left.length && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      const still = await Promise.all(left.map(async (a) => ((await docker.getExec(a.execId).inspect().catch(() => undefined))?.Running ? a : undefined)));
      left = still.filter((a): a is (typeof agentExecs)[number] => a !== undefined);
    }
    await Promise.all(left.map((a) => signal(a, 'KILL')));
  })();
  const stopContainers = Promise.all(victims.map(async (c) => {
    let grace = 10;
    try {
      const spec = JSON.parse(c.Labels?.[DockerLabels.spec] ?? '{}') as { terminationGracePeriodSeconds?: number };
      if (typeof spec.terminationGracePeriodSeconds === 'number') grace = spec.terminationGracePeriodSeconds;
    } catch { /* default grace */ }
    const h = docker.getContainer(c.Id);
    try {
      await h.stop({ t: grace });
    } catch (e) {
      if ((e as { statusCode?: number }).statusCode !== 304 && (e as { statusCode?: number }).statusCode !== 404) {
        logger.warn('could not stop a container', { container: c.Names?.[0], err: (e as Error).message });
      }
    }
    await h.remove({ force: true }).catch(() => undefined);
  }));
  await Promise.all([stopAgents, stopContainers]);
  return {
    stopped: victims.map((c) => `${c.Labels?.[DockerLabels.namespace]}/${c.Labels?.[DockerLabels.name]}`).sort(),
    agents: agentExecs.map((a) => a.name).sort(),
  };
}

/** A live process (a zombie counts as gone); one we may not probe counts as alive. */
function pidAlive(pid: number): boolean {
  try {
    return processAlive(pid);
  } catch {
    return true;
  }
}

function readPid(dataDir: string): number | undefined {
  try {
    const n = Number(readFileSync(join(watchdogDir(dataDir), PID_FILE), 'utf8').trim());
    return Number.isInteger(n) && n > 0 ? n : undefined;
  } catch {
    return undefined;
  }
}

/** Whether `pid` is a live watchdog process for this data dir (guards against a reused pid). */
function isWatchdog(pid: number, dataDir: string): boolean {
  if (!pidAlive(pid)) return false;
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    return argv.includes('agent-watchdog') && argv.includes(dataDir);
  } catch {
    return false;
  }
}

export interface EnsureWatchdogOptions {
  dataDir: string;
  dockerHost?: string;
  /** The command line that runs drover's CLI: [node, ...execArgv, cli/main.ts]. */
  cli: string[];
  logger: Logger;
}

/** Starts the watchdog for this data dir unless one runs; returns its pid. */
export function ensureWatchdog(o: EnsureWatchdogOptions): number {
  const existing = readPid(o.dataDir);
  if (existing !== undefined && isWatchdog(existing, o.dataDir)) return existing;
  const dir = watchdogDir(o.dataDir);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const out = openSync(join(dir, LOG_FILE), 'a', 0o600);
  const args = [...o.cli.slice(1), 'agent-watchdog', '--data-dir', o.dataDir, ...(o.dockerHost ? ['--docker-host', o.dockerHost] : [])];
  const child = spawn(o.cli[0], args, { detached: true, stdio: ['ignore', out, out], env: process.env });
  closeSync(out);
  child.unref();
  const pid = child.pid ?? 0;
  writeFileSync(join(dir, PID_FILE), `${pid}\n`, { mode: 0o600 });
  o.logger.info('started the node watchdog', { pid, log: join(dir, LOG_FILE) });
  return pid;
}

export interface WatchdogOptions {
  dataDir: string;
  docker: Docker;
  logger: Logger;
  pollMs?: number;
  /** Resolves when the watchdog should stop (a signal). */
  stopped?: Promise<unknown>;
}

export type WatchdogExit = 'data dir gone' | 'replaced' | 'nothing left to guard' | 'engine gone' | 'stopped';

/** The watchdog's loop; returns why it ended. */
export async function runWatchdog(o: WatchdogOptions): Promise<WatchdogExit> {
  const pollMs = o.pollMs ?? WATCHDOG_POLL_MS;
  let stop = false;
  void o.stopped?.then(() => { stop = true; });
  let fencedContact: string | undefined;
  let lastSweep = 0;
  let engineDownSince: number | undefined;
  o.logger.info('node watchdog started', { dataDir: o.dataDir, pid: process.pid });
  for (;;) {
    if (stop) return 'stopped';
    if (!existsSync(o.dataDir)) return 'data dir gone';
    const owner = readPid(o.dataDir);
    if (owner !== undefined && owner !== process.pid && isWatchdog(owner, o.dataDir)) return 'replaced';
    const lease = readLease(o.dataDir);
    if (lease === 'invalid') {
      o.logger.warn('the lease file does not parse; waiting for the agent to write it again');
    } else if (lease === undefined) {
      if (!existsSync(watchdogDir(o.dataDir))) return 'data dir gone';
    } else if (watchdogShouldFence(lease, monotonicNs(), pidAlive(lease.agentPid))) {
      const agentAlive = pidAlive(lease.agentPid);
      if (fencedContact !== lease.contactNs || Date.now() - lastSweep >= SWEEP_MS) {
        const first = fencedContact !== lease.contactNs;
        try {
          const r = await fenceNode(o.docker, lease.node, o.logger);
          engineDownSince = undefined;
          lastSweep = Date.now();
          if (first) {
            fencedContact = lease.contactNs;
            o.logger.warn('the node agent has not reached the manager within the grace period: fenced the node', {
              node: lease.node, silenceSeconds: Math.round(leaseSilenceMs(lease, monotonicNs()) / 1000), agentAlive, stopped: r.stopped, stoppedAgents: r.agents,
            });
          } else if (r.stopped.length || r.agents.length) {
            o.logger.warn('still fenced: stopped workloads that came back', { node: lease.node, stopped: r.stopped, stoppedAgents: r.agents });
          } else if (!agentAlive) {
            o.logger.info('the node agent is gone and nothing of this node runs any more; the watchdog ends', { node: lease.node });
            return 'nothing left to guard';
          }
        } catch (e) {
          engineDownSince ??= Date.now();
          o.logger.warn('could not fence: the Docker engine does not answer', { err: (e as Error).message });
          if (!agentAlive && Date.now() - engineDownSince >= ENGINE_GONE_EXIT_MS) return 'engine gone';
        }
      }
    } else if (fencedContact !== undefined && !leaseExpired(lease, monotonicNs())) {
      o.logger.info('the node agent reached the manager again; watching', { node: lease.node });
      fencedContact = undefined;
    }
    await new Promise((r) => setTimeout(r, pollMs));
  }
}
