// The pure and file-level pieces of the process runtime: /proc parsing, restart policy and back-off,
// health transitions, health-check defaults, log rotation, command lookup and environment.
import { describe, it, expect, afterAll } from '@jest/globals';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseCpuTimes, parseProcStat, formatMemoryUsage, formatCpuUsage } from '../../agent/process/proc-usage.ts';
import { backoffDelay, crashLoopMessage, shouldRestart, DEFAULT_BACKOFF } from '../../agent/process/restart-policy.ts';
import { nextHealth, parseHealthCheck, type HealthProgress } from '../../agent/process/health-check.ts';
import { RotatingLog } from '../../agent/process/log-files.ts';
import { buildEnv, CommandNotFound, resolveCommand, wrapArgv } from '../../agent/process/spawn-command.ts';

const dirs: string[] = [];
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'drover-pr-unit-'));
  dirs.push(d);
  return d;
};
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

describe('/proc parsing', () => {
  it.each([
    { name: 'plain command', comm: 'sleep' },
    { name: 'spaces and parentheses in the name', comm: 'my (weird) proc' },
  ])('reads pid, group, cpu ticks and start time: $name', ({ comm }) => {
    // fields 3.. : state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime cutime cstime prio nice threads itreal starttime
    const line = `4242 (${comm}) S 1 4240 4240 0 -1 4194560 100 0 0 0 70 30 5 5 20 0 1 0 123456 1000 200\n`;
    expect(parseProcStat(line)).toEqual({ pid: 4242, ppid: 1, pgrp: 4240, state: 'S', cpuTicks: 110, startTicks: 123456 });
  });

  it('counts idle and iowait as not busy in /proc/stat', () => {
    expect(parseCpuTimes('cpu  100 0 50 800 50 0 0 0 0 0\ncpu0 1 1 1 1\n')).toEqual({ busy: 150, total: 1000 });
  });

  it.each([
    [0, '0Ki'], [512, '1Ki'], [3 * 2 ** 20 + 1000, '3Mi'], [34.4 * 2 ** 20, '34Mi'],
  ])('formats %d bytes of memory as %s', (bytes, text) => expect(formatMemoryUsage(bytes)).toBe(text));

  it('formats cpu as millicores', () => expect(formatCpuUsage(12.4)).toBe('12m'));
});

describe('restart policy', () => {
  it.each([
    { policy: 'Always', exitCode: 0, failed: false, restart: true },
    { policy: 'Always', exitCode: 1, failed: true, restart: true },
    { policy: 'OnFailure', exitCode: 0, failed: false, restart: false },
    { policy: 'OnFailure', exitCode: 2, failed: true, restart: true },
    { policy: 'OnFailure', exitCode: null, failed: true, restart: true }, // killed by a signal
    { policy: 'OnFailure', exitCode: 0, failed: true, restart: true }, // exited 0 after an Unhealthy kill
    { policy: 'Never', exitCode: 1, failed: true, restart: false },
  ] as const)('$policy, exit $exitCode (failed=$failed) → restart $restart', ({ policy, exitCode, failed, restart }) => {
    expect(shouldRestart(policy, { exitCode, failed })).toBe(restart);
  });

  it.each([
    [0, 1000], [1, 2000], [2, 4000], [3, 8000], [8, 256_000], [9, 300_000], [20, 300_000],
  ])('back-off after %d earlier crashes is %d ms (doubling, capped at 5 min)', (crashes, ms) => {
    expect(backoffDelay(crashes, DEFAULT_BACKOFF)).toBe(ms);
  });

  it('says CrashLoopBackOff with the delay', () => {
    expect(crashLoopMessage(4000)).toBe('CrashLoopBackOff: back-off 4s restarting failed container');
    expect(crashLoopMessage(64_000, 'agent')).toBe('CrashLoopBackOff: back-off 1m4s restarting failed agent');
  });
});

describe('health transitions', () => {
  const S = (health: HealthProgress['health'], failures = 0): HealthProgress => ({ health, failures });
  it.each([
    { name: 'first success', cur: S('Starting'), ok: true, start: false, next: S('Healthy') },
    { name: 'failure inside the start period is ignored', cur: S('Starting'), ok: false, start: true, next: S('Starting') },
    { name: 'failure after the start period counts', cur: S('Starting'), ok: false, start: false, next: S('Starting', 1) },
    { name: 'third failure of three makes it Unhealthy', cur: S('Starting', 2), ok: false, start: false, next: S('Unhealthy', 3) },
    { name: 'one failure keeps a Healthy container Healthy', cur: S('Healthy'), ok: false, start: false, next: S('Healthy', 1) },
    { name: 'Healthy container failing in its start period still counts', cur: S('Healthy', 2), ok: false, start: true, next: S('Unhealthy', 3) },
    { name: 'a success resets the count', cur: S('Unhealthy', 5), ok: true, start: false, next: S('Healthy') },
  ])('$name', ({ cur, ok, start, next }) => {
    expect(nextHealth(cur, ok, start, 3)).toEqual(next);
  });

  it('applies the CRD defaults to a health check', () => {
    expect(parseHealthCheck({ http: { port: 8080 } })).toEqual({
      probe: { kind: 'http', path: '/', port: 8080, scheme: 'HTTP' }, intervalMs: 10_000, timeoutMs: 2000, retries: 3, startPeriodMs: 0,
    });
    expect(parseHealthCheck({ exec: { command: ['true'] }, interval: '500ms', startPeriod: '1m' })).toMatchObject({
      probe: { kind: 'exec', command: ['true'] }, intervalMs: 500, startPeriodMs: 60_000,
    });
    expect(parseHealthCheck(undefined)).toBeUndefined();
    expect(parseHealthCheck({ interval: '1s' })).toBeUndefined();
  });
});

describe('rotating log', () => {
  it('rotates at the size limit and keeps maxFiles files in all', () => {
    const d = tmp();
    const log = new RotatingLog(join(d, 'container.log'), { maxBytes: 100, maxFiles: 3 });
    for (let i = 0; i < 10; i++) log.write(`line ${i} ${'x'.repeat(40)}\n`); // 48 bytes each: two per file
    log.close();
    expect(existsSync(join(d, 'container.log.3'))).toBe(false);
    expect(readFileSync(join(d, 'container.log'), 'utf8')).toMatch(/^line 8 x+\nline 9 x+\n$/);
    expect(readFileSync(join(d, 'container.log.1'), 'utf8')).toMatch(/^line 6 .*\nline 7 .*\n$/);
    expect(readFileSync(join(d, 'container.log.2'), 'utf8')).toMatch(/^line 4 .*\nline 5 .*\n$/);
  });

  it('tails across the rotated file and hands out only new output', async () => {
    const d = tmp();
    const log = new RotatingLog(join(d, 'c.log'), { maxBytes: 10, maxFiles: 2 });
    log.write('aaaaaaaa\n');
    expect(log.readNew()).toBe('aaaaaaaa\n');
    expect(log.readNew()).toBeUndefined();
    log.write('bbbb\n');
    expect(log.readNew()).toBe('bbbb\n');
    expect(await log.tail(12)).toBe('aaaaaa\nbbbb\n');
    expect(await log.tail()).toBe('aaaaaaaa\nbbbb\n');
  });

  it('keeps a multi-byte character whole when it is split across writes', () => {
    const log = new RotatingLog(join(tmp(), 'c.log'));
    const euro = Buffer.from('€');
    log.write(euro.subarray(0, 1));
    expect(log.readNew()).toBeUndefined();
    log.write(euro.subarray(1));
    expect(log.readNew()).toBe('€');
  });

  it('ignores output that arrives after it was closed', () => {
    const d = tmp();
    const log = new RotatingLog(join(d, 'c.log'));
    log.removeFiles();
    log.write('late\n');
    expect(existsSync(join(d, 'c.log'))).toBe(false);
  });
});

describe('command and environment', () => {
  it('finds a command in PATH, a path relative to the working dir, and names a missing one', () => {
    const d = tmp();
    writeFileSync(join(d, 'run.sh'), '#!/bin/sh\n');
    chmodSync(join(d, 'run.sh'), 0o755);
    writeFileSync(join(d, 'plain'), 'not executable');
    expect(resolveCommand('sh', '/nonexistent:/bin:/usr/bin', d)).toMatch(/\/sh$/);
    expect(resolveCommand('./run.sh', '', d)).toBe(join(d, 'run.sh'));
    expect(() => resolveCommand('plain', d, d)).toThrow(CommandNotFound);
    expect(() => resolveCommand('no-such-binary-xyz', '/bin', d)).toThrow('executable file not found in $PATH: no-such-binary-xyz');
  });

  it('gives workloads a minimal environment plus their own, never the agent secrets', () => {
    const env = buildEnv({ PATH: '/bin', HOME: '/root', DROVER_TOKEN: 'secret', DROVER_CONFIG: '/x' }, [{ name: 'A', value: '1' }, { name: 'EMPTY' }], { DROVER_CONTAINER: 'web' });
    // the agent's own Node.js directory is appended so `node …` commands always resolve
    expect(env).toEqual({ PATH: `/bin:${dirname(process.execPath)}`, HOME: '/root', A: '1', EMPTY: '', DROVER_CONTAINER: 'web' });
  });

  it('wraps the command in setpriv --pdeathsig KILL when asked', () => {
    expect(wrapArgv(['/bin/sleep', '1'], true)).toEqual({ file: '/usr/bin/setpriv', args: ['--pdeathsig', 'KILL', '--', '/bin/sleep', '1'] });
    expect(wrapArgv(['/bin/sleep', '1'], false)).toEqual({ file: '/bin/sleep', args: ['1'] });
  });
});
