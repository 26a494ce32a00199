// One agent inside a Docker container, run with `docker exec` (any image with /bin/sh): supervised
// (exit seen when its output stream ends, restart per policy with crash-loop back-off), stopped with
// SIGTERM then SIGKILL through its pid file in the container, output captured on the node.
//
// An agent whose node agent restarted is adopted: the exec keeps running inside the container (the
// engine drains its output), and is watched by polling the exec's state; its output from then on is
// not captured (the engine has no way to re-attach to an exec).
import { Writable } from 'node:stream';
import type Dockerode from 'dockerode';
import type { Clock, TimerHandle } from '../../core/clock.ts';
import type { Logger } from '../../core/logging.ts';
import type { RotatingLog } from '../process/log-files.ts';
import { backoffDelay, crashLoopMessage, parseRestartPolicy, shouldRestart, type BackoffPolicy, type RestartPolicy } from '../process/restart-policy.ts';
import type { AgentInfo, AgentRequest, ContainerState, ExitInfo } from '../runtime.ts';

export const AGENT_PID_DIR = '/tmp/.drover-agents';
/** argv[0] of the wrapper shell: finds the agent among a container's execs after a restart. */
export const AGENT_MARKER_PREFIX = 'drover-agent:';
const WRAPPER = `d=${AGENT_PID_DIR}; mkdir -p "$d" 2>/dev/null && echo $$ > "$d/$DROVER_AGENT_NAME.pid" 2>/dev/null; exec "$@"`;
const ADOPTED_POLL_MS = 1000;
const KILL_WAIT_MS = 5000;

/** `drover-agent:NAME:UID[:NODE]`: the node names which node agent started it (the node watchdog fences only its own). */
export function agentMarker(name: string, uid: string, node?: string): string {
  return `${AGENT_MARKER_PREFIX}${name}:${uid}${node ? `:${node}` : ''}`;
}

/** The exec command line of an agent: a shell that records its pid, then becomes the agent. */
export function agentExecCmd(req: Pick<AgentRequest, 'name' | 'uid' | 'command' | 'args'>, node?: string): string[] {
  return ['/bin/sh', '-c', WRAPPER, agentMarker(req.name, req.uid, node), ...req.command, ...(req.args ?? [])];
}

/** The marker of an exec's argv (`ProcessConfig.arguments`), if it is one of drover's agents. */
export function parseMarker(args: string[] | undefined): { name: string; uid: string; node?: string } | undefined {
  const m = args?.[2];
  if (args?.[0] !== '-c' || !m?.startsWith(AGENT_MARKER_PREFIX)) return undefined;
  const [name, uid, node] = m.slice(AGENT_MARKER_PREFIX.length).split(':');
  return name ? { name, uid: uid ?? '', ...(node ? { node } : {}) } : undefined;
}

/** A shell command run in the container that sends SIG to the agent whose pid file is NAME.pid. */
export function agentSignalCmd(name: string, sig: 'TERM' | 'KILL'): string[] {
  return ['/bin/sh', '-c', `p=$(cat '${AGENT_PID_DIR}/${name}.pid' 2>/dev/null) && [ -n "$p" ] && kill -${sig} "$p"`];
}

const SIGNALS: Record<number, string> = { 1: 'SIGHUP', 2: 'SIGINT', 9: 'SIGKILL', 15: 'SIGTERM' };

export function exitInfo(code: number | null, finishedAt: string, stopping: boolean): ExitInfo {
  const signal = code !== null && code > 128 ? (SIGNALS[code - 128] ?? `signal ${code - 128}`) : null;
  let reason = code === 0 ? 'Completed' : 'Error';
  if (signal === 'SIGKILL') reason = 'Killed';
  if (stopping && (signal === 'SIGTERM' || signal === 'SIGKILL')) reason = 'Stopped';
  return { exitCode: code, signal, reason, finishedAt };
}

export interface ExecAgentOptions {
  req: AgentRequest;
  /** The container's current Docker handle (undefined while it has none). */
  container: () => Dockerode.Container | undefined;
  /** Whether the container runs right now (agents wait for it). */
  containerRunning: () => boolean;
  env: string[];
  log: RotatingLog;
  clock: Clock;
  logger: Logger;
  backoff: BackoffPolicy;
  demux: (stream: NodeJS.ReadableStream, out: NodeJS.WritableStream, err: NodeJS.WritableStream) => void;
  onChange: () => void;
  /** The node agent's node name, recorded in the exec's marker. */
  node?: string;
}

export class ExecAgent {
  readonly req: AgentRequest;
  state: ContainerState = 'created';
  restarts = 0;
  startedAt?: string;
  lastExit?: ExitInfo;
  message?: string;
  execId?: string;
  /** Host pid of the exec (from the engine; informational). */
  pid?: number;
  private readonly o: ExecAgentOptions;
  private readonly policy: RestartPolicy;
  private crashes = 0;
  private stopping = false;
  private timer: TimerHandle | undefined;
  /** Polls an adopted exec (kept apart from the restart timer: a stop must not end the watch). */
  private pollTimer: TimerHandle | undefined;
  private run = 0;
  private exited: Promise<void> = Promise.resolve();
  private markExited: () => void = () => undefined;

  constructor(opts: ExecAgentOptions) {
    this.o = opts;
    this.req = opts.req;
    this.policy = parseRestartPolicy(opts.req.restartPolicy ?? 'Always');
  }

  get active(): boolean {
    return !this.stopping && (this.state === 'running' || this.state === 'starting' || this.state === 'restarting');
  }

  info(): AgentInfo {
    const r = this.req;
    return {
      namespace: r.namespace, name: r.name, uid: r.uid, containerName: r.containerName,
      id: this.execId ? `docker-exec://${this.execId}` : '', pid: this.state === 'running' ? this.pid : undefined,
      state: this.state, restarts: this.restarts, startedAt: this.startedAt, lastExit: this.lastExit, message: this.message,
    };
  }

  /** Start (first run or after a back-off). Throws when the exec cannot be created. */
  async start(): Promise<void> {
    this.stopping = false;
    this.clearTimer();
    const c = this.o.container();
    if (!c || !this.o.containerRunning()) throw new Error(`container ${this.req.containerName} is not running`);
    const run = ++this.run;
    this.setState('starting');
    const exec = await c.exec({
      Cmd: agentExecCmd(this.req, this.o.node), Env: this.o.env, AttachStdout: true, AttachStderr: true, AttachStdin: false, Tty: false,
    });
    const stream = await exec.start({ hijack: true, stdin: false });
    this.execId = exec.id;
    this.exited = new Promise((done) => { this.markExited = done; });
    const sink = new Writable({ write: (chunk: Buffer, _enc, cb) => { this.o.log.write(chunk); cb(); } });
    this.o.demux(stream, sink, sink);
    let ended = false;
    const onEnd = () => {
      if (ended) return;
      ended = true;
      void this.onStreamEnd(exec, run);
    };
    stream.on('end', onEnd);
    stream.on('close', onEnd);
    stream.on('error', onEnd);
    // The engine fills in the pid a moment after the stream is attached.
    let insp: Dockerode.ExecInspectInfo | undefined;
    for (let i = 0; i < 10 && !ended; i++) {
      insp = await exec.inspect().catch(() => undefined);
      if (!insp || insp.Pid) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    if (run !== this.run) return;
    this.pid = insp?.Pid || undefined;
    this.startedAt = new Date(this.o.clock.now()).toISOString();
    this.message = undefined;
    if (!ended) this.setState('running');
  }

  /** Take over an exec a previous node agent run started (still running in the container). */
  adopt(execId: string, pid: number | undefined, docker: Dockerode): void {
    const run = ++this.run;
    this.execId = execId;
    this.pid = pid;
    this.startedAt = new Date(this.o.clock.now()).toISOString();
    this.message = 'adopted after a node agent restart; its output since then is not captured';
    this.exited = new Promise((done) => { this.markExited = done; });
    this.setState('running');
    const exec = docker.getExec(execId);
    const poll = async () => {
      if (run !== this.run) return;
      const insp = await exec.inspect().catch(() => undefined);
      if (run !== this.run) return;
      if (insp && insp.Running) {
        this.pollTimer = this.o.clock.setTimeout(() => void poll(), this.stopping ? 100 : ADOPTED_POLL_MS);
        return;
      }
      this.pollTimer = undefined;
      await this.handleExit(insp?.ExitCode ?? null, run);
    };
    this.pollTimer = this.o.clock.setTimeout(() => void poll(), ADOPTED_POLL_MS);
  }

  /** SIGTERM, then SIGKILL after timeoutMs; resolves when it exited (or the container is gone). */
  async stop(timeoutMs: number): Promise<void> {
    this.stopping = true;
    this.clearTimer();
    if (this.state !== 'running' && this.state !== 'starting') {
      if (this.state === 'restarting') this.setState('exited');
      return;
    }
    this.setState('stopping');
    await this.signal('TERM');
    if (await this.waitExit(timeoutMs)) return;
    this.o.logger.warn('agent did not stop within its grace period; killing it', { agent: this.req.name, graceMs: timeoutMs });
    await this.signal('KILL');
    if (!(await this.waitExit(KILL_WAIT_MS))) {
      // The container itself is gone or wedged: nothing runs the agent any more that we can reach.
      this.run++;
      this.finish(null);
    }
  }

  /** Forget without signalling (the container stopped: its execs died with it). */
  detach(): void {
    this.run++;
    this.clearTimer();
    if (this.pollTimer) this.o.clock.clearTimeout(this.pollTimer);
    this.pollTimer = undefined;
    this.markExited();
  }

  private async signal(sig: 'TERM' | 'KILL'): Promise<void> {
    const c = this.o.container();
    if (!c) return;
    try {
      const exec = await c.exec({ Cmd: agentSignalCmd(this.req.name, sig), AttachStdout: false, AttachStderr: false });
      await exec.start({ Detach: true });
    } catch (e) {
      this.o.logger.debug('could not signal agent', { agent: this.req.name, signal: sig, err: (e as Error).message });
    }
  }

  private async waitExit(ms: number): Promise<boolean> {
    let t: TimerHandle | undefined;
    const timeout = new Promise<false>((done) => { t = this.o.clock.setTimeout(() => done(false), ms); });
    const r = await Promise.race([this.exited.then(() => true as const), timeout]);
    if (t) this.o.clock.clearTimeout(t);
    return r;
  }

  private async onStreamEnd(exec: Dockerode.Exec, run: number): Promise<void> {
    let code: number | null = null;
    for (let i = 0; i < 20; i++) {
      const insp = await exec.inspect().catch(() => undefined);
      if (!insp) break;
      if (!insp.Running) {
        code = insp.ExitCode ?? null;
        break;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    await this.handleExit(code, run);
  }

  private async handleExit(code: number | null, run: number): Promise<void> {
    if (run !== this.run) return;
    this.finish(code);
    if (this.stopping) return;
    const failed = code !== 0;
    if (!shouldRestart(this.policy, { exitCode: code, failed })) return;
    const ranMs = this.startedAt ? this.o.clock.now() - Date.parse(this.startedAt) : 0;
    if (ranMs >= this.o.backoff.resetAfterMs) this.crashes = 0;
    const delay = backoffDelay(this.crashes++, this.o.backoff);
    this.message = crashLoopMessage(delay, 'agent');
    this.setState('restarting');
    this.scheduleRestart(delay);
  }

  private scheduleRestart(delay: number): void {
    this.clearTimer();
    this.timer = this.o.clock.setTimeout(() => {
      this.timer = undefined;
      if (this.stopping) return;
      this.restarts++;
      this.start().catch((e: unknown) => {
        // The container is restarting too, or the engine refused: try again after the next back-off.
        const next = backoffDelay(this.crashes++, this.o.backoff);
        this.message = `could not start: ${(e as Error).message}; retrying in ${Math.round(next / 1000)}s`;
        this.setState('restarting');
        this.scheduleRestart(next);
      });
    }, delay);
  }

  private finish(code: number | null): void {
    this.lastExit = exitInfo(code, new Date(this.o.clock.now()).toISOString(), this.stopping);
    this.pid = undefined;
    this.setState(this.stopping || code === 0 || this.policy === 'Never' ? 'exited' : 'failed');
    this.markExited();
  }

  private setState(s: ContainerState): void {
    this.state = s;
    this.o.onChange();
  }

  private clearTimer(): void {
    if (this.timer) this.o.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }
}
