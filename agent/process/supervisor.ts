// One supervised process group (a container's main process, or an agent inside a container):
// spawn detached, log its output, notice its exit at once, restart per policy with back-off.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import type { Clock, TimerHandle } from '../../core/clock.ts';
import type { Logger } from '../../core/logging.ts';
import type { ContainerState, ExitInfo } from '../runtime.ts';
import type { RotatingLog } from './log-files.ts';
import { INSTANCE_ENV, killGroup, type PidRecord } from './process-group.ts';
import { readProcStat } from './proc-usage.ts';
import { backoffDelay, crashLoopMessage, shouldRestart, type BackoffPolicy, type RestartPolicy } from './restart-policy.ts';
import { wrapArgv } from './spawn-command.ts';

export const ChangeKinds = ['spawned', 'exited', 'state'] as const;
export type ChangeKind = (typeof ChangeKinds)[number];

export interface SupervisorOptions {
  /** `container ns/name` or `agent ns/name`, for logs. */
  label: string;
  /** `container` or `agent`, for CrashLoopBackOff messages. */
  what: string;
  /** Resolved argv; called at every spawn so a binary that appears later is found. Throws when missing. */
  argv: () => string[];
  env: Record<string, string>;
  cwd: string;
  restartPolicy: RestartPolicy;
  log: RotatingLog;
  clock: Clock;
  logger: Logger;
  backoff: BackoffPolicy;
  pdeathsig: boolean;
  /** Where the pid record lives while the process runs. */
  stateFile?: string;
  onChange: (kind: ChangeKind) => void;
}

export class Supervisor {
  state: ContainerState = 'created';
  pid: number | undefined;
  /** Pid of the latest spawn, kept after it exits (the runtime id stays stable for status). */
  lastPid: number | undefined;
  startTicks = 0;
  restarts = 0;
  startedAt: string | undefined;
  lastExit: ExitInfo | undefined;
  message: string | undefined;

  private readonly o: SupervisorOptions;
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private startedAtMs = 0;
  private crashes = 0;
  private stopRequested = false;
  private detached = false;
  private killReason: string | undefined;
  private restartTimer: TimerHandle | undefined;
  private killTimer: TimerHandle | undefined;

  constructor(opts: SupervisorOptions) {
    this.o = opts;
  }

  /** Whether a process exists or is about to (running, starting, or waiting out a back-off). */
  get active(): boolean {
    return this.child !== undefined || this.restartTimer !== undefined;
  }

  /** Explicit start: forgets earlier crashes; a no-op when already running. */
  async start(): Promise<void> {
    this.stopRequested = false;
    this.detached = false;
    this.crashes = 0;
    if (this.child) return;
    this.clearRestartTimer();
    await this.spawnNow();
  }

  /** SIGTERM to the whole group, SIGKILL after `timeoutMs`; resolves once the leader has exited. No restart follows. */
  async stop(timeoutMs: number): Promise<void> {
    this.stopRequested = true;
    this.clearRestartTimer();
    if (!this.child) {
      if (this.state !== 'created' && this.state !== 'exited' && this.state !== 'failed') this.setState('exited', undefined);
      return;
    }
    this.setState('stopping', undefined);
    this.terminate(timeoutMs);
    await this.exited;
  }

  /** Kill the running process as failed (e.g. Unhealthy); the restart policy and back-off then apply. */
  failAndRestart(reason: string, graceMs: number): void {
    if (!this.child || this.stopRequested || this.killReason) return;
    this.killReason = reason;
    this.terminate(graceMs);
  }

  /** Stop supervising without stopping: no more restarts or timers (the agent is shutting down). */
  detach(): void {
    this.detached = true;
    this.clearRestartTimer();
  }

  private terminate(timeoutMs: number): void {
    this.signalGroup('SIGTERM');
    if (this.killTimer) this.o.clock.clearTimeout(this.killTimer);
    this.killTimer = this.o.clock.setTimeout(() => this.signalGroup('SIGKILL'), timeoutMs);
  }

  private signalGroup(sig: NodeJS.Signals): void {
    const pid = this.child?.pid;
    if (pid !== undefined) killGroup(pid, sig);
  }

  private spawnNow(): Promise<void> {
    this.setState('starting', undefined);
    let argv: string[];
    try {
      argv = this.o.argv();
    } catch (err) {
      this.onStartFailure(err);
      return Promise.resolve();
    }
    const instanceId = randomUUID();
    const { file, args } = wrapArgv(argv, this.o.pdeathsig);
    let child: ChildProcess;
    try {
      // detached: its own process group, so a stop reaches every process the workload forked.
      child = spawn(file, args, { cwd: this.o.cwd, env: { ...this.o.env, [INSTANCE_ENV]: instanceId }, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (err) {
      this.onStartFailure(err);
      return Promise.resolve();
    }
    this.child = child;
    let markExited!: () => void;
    this.exited = new Promise((r) => (markExited = r));
    child.stdout!.on('data', (b: Buffer) => this.o.log.write(b));
    child.stderr!.on('data', (b: Buffer) => this.o.log.write(b));
    return new Promise((resolve) => {
      let spawned = false;
      child.once('spawn', () => {
        spawned = true;
        this.onSpawned(child, instanceId);
        resolve();
      });
      child.once('error', (err) => {
        if (spawned) {
          this.o.logger.warn('process error', { workload: this.o.label, error: String(err) });
          return;
        }
        if (this.child === child) this.child = undefined;
        markExited();
        this.onStartFailure(err);
        resolve();
      });
      child.once('exit', (code, signal) => {
        this.onExit(child, code, signal);
        markExited();
      });
    });
  }

  private onSpawned(child: ChildProcess, instanceId: string): void {
    const pid = child.pid!;
    this.pid = pid;
    this.lastPid = pid;
    this.startedAtMs = this.o.clock.now();
    this.startedAt = new Date(this.startedAtMs).toISOString();
    this.startTicks = readProcStat(pid)?.startTicks ?? 0;
    if (this.o.stateFile) {
      const rec: PidRecord = { pid, startTicks: this.startTicks, instanceId, what: this.o.label };
      writeFileSync(this.o.stateFile, JSON.stringify(rec) + '\n', { mode: 0o600 });
    }
    this.setState(this.stopRequested ? 'stopping' : 'running', undefined, 'spawned');
  }

  private onStartFailure(err: unknown): void {
    const message = err instanceof Error ? err.message : String(err);
    this.o.log.write(`[drover] failed to start: ${message}\n`);
    this.o.logger.warn('process failed to start', { workload: this.o.label, error: message });
    this.handleExit({ exitCode: 127, signal: null, reason: 'StartFailed', finishedAt: new Date(this.o.clock.now()).toISOString() }, true, 0, message);
  }

  private onExit(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (child !== this.child) return;
    const pid = child.pid!;
    this.child = undefined;
    this.pid = undefined;
    if (this.killTimer) this.o.clock.clearTimeout(this.killTimer);
    this.killTimer = undefined;
    // The leader is gone: whatever it left in its group dies with it, as in a container's pid namespace.
    killGroup(pid, 'SIGKILL');
    if (this.o.stateFile) rmSync(this.o.stateFile, { force: true });
    const killedFor = this.killReason;
    this.killReason = undefined;
    const reason = killedFor ?? (code === 0 ? 'Completed' : signal ? 'Killed' : 'Error');
    const failed = killedFor !== undefined || code !== 0;
    const exit: ExitInfo = { exitCode: code, signal, reason, finishedAt: new Date(this.o.clock.now()).toISOString() };
    const detail = signal ? `killed by ${signal}` : `exited with code ${code}`;
    this.handleExit(exit, failed, this.o.clock.now() - this.startedAtMs, `${reason}: ${detail}`);
  }

  private handleExit(exit: ExitInfo, failed: boolean, ranMs: number, message: string): void {
    this.lastExit = exit;
    this.o.logger.info('process exited', { workload: this.o.label, exitCode: exit.exitCode, signal: exit.signal, reason: exit.reason });
    if (this.stopRequested || this.detached) {
      this.setState('exited', undefined, 'exited');
      return;
    }
    if (ranMs >= this.o.backoff.resetAfterMs) this.crashes = 0;
    if (shouldRestart(this.o.restartPolicy, { exitCode: exit.exitCode, failed })) {
      const delay = backoffDelay(this.crashes, this.o.backoff);
      this.crashes++;
      this.restartTimer = this.o.clock.setTimeout(() => {
        this.restartTimer = undefined;
        if (this.stopRequested || this.detached) return;
        this.restarts++;
        void this.spawnNow();
      }, delay);
      this.setState('restarting', crashLoopMessage(delay, this.o.what), 'exited');
      return;
    }
    this.setState(failed ? 'failed' : 'exited', failed ? message : undefined, 'exited');
  }

  private clearRestartTimer(): void {
    if (this.restartTimer) this.o.clock.clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
  }

  private setState(state: ContainerState, message: string | undefined, kind: ChangeKind = 'state'): void {
    this.state = state;
    this.message = message;
    this.o.onChange(kind);
  }
}
