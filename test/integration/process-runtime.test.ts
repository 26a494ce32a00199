// The process runtime against real processes: lifecycle, restart policy and back-off, kill -9,
// health checks, logs and rotation, usage, agents inside a container, redeploy, close and recover.
import { describe, it, expect, afterAll } from '@jest/globals';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { createProcessRuntime, type ProcessRuntimeOptions } from '../../agent/process-runtime.ts';
import { processAlive } from '../../agent/process/process-group.ts';
import { listProcesses } from '../../agent/process/proc-usage.ts';
import type { ContainerInfo, ContainerRequest, ContainerRuntime, RuntimeEvent } from '../../agent/runtime.ts';
import { cpuMillis, memoryBytes } from '../../core/quantity.ts';
import { nullLogger } from '../../core/logging.ts';
import { cleanup, eventually, freePort, REPO, sleep, tempDir } from '../helpers/processes.ts';

const NODE = process.execPath;
const NS = 'ns1';
const runtimes: ContainerRuntime[] = [];

afterAll(async () => {
  for (const rt of runtimes) await rt.close({ stopWorkloads: true });
  await cleanup();
});

function makeRuntime(extra: Partial<ProcessRuntimeOptions> = {}) {
  const dataDir = tempDir('drover-prt-');
  const rt = createProcessRuntime({ dataDir, logger: nullLogger(), backoff: { initialMs: 200 }, ...extra });
  runtimes.push(rt);
  const events: Array<RuntimeEvent & { at: number }> = [];
  rt.on((ev) => events.push({ ...ev, at: Date.now() }));
  return { rt, dataDir, events, workDir: (name: string) => join(dataDir, 'containers', NS, name, 'work') };
}

function req(name: string, spec: Record<string, unknown>, generation = 1): ContainerRequest {
  return { namespace: NS, name, uid: `uid-${name}`, generation, spec };
}

function waitFor(rt: ContainerRuntime, name: string, what: string, pred: (i: ContainerInfo) => boolean, timeoutMs = 15_000): Promise<ContainerInfo> {
  return eventually(`${name}: ${what} (last: ${JSON.stringify(rt.get(NS, name))})`, async () => {
    const i = rt.get(NS, name);
    return i && pred(i) ? i : undefined;
  }, timeoutMs, 50);
}

const groupOf = (pgid: number) => listProcesses().filter((p) => p.pgrp === pgid).map((p) => p.pid);

describe('process runtime: container lifecycle', () => {
  it('deploys a process with its env and working dir, is idempotent, stops without restarting, starts and removes', async () => {
    const { rt, dataDir, workDir } = makeRuntime();
    const spec = {
      command: ['/bin/sh', '-c', 'echo "hello from $DROVER_CONTAINER in $DROVER_NAMESPACE at $DROVER_NODE_ADDRESS, A=$A, cwd=$(pwd)"; exec sleep 60'],
      env: [{ name: 'A', value: '1' }],
    };
    const first = await rt.deploy(req('web', spec));
    expect(first).toMatchObject({ state: 'running', health: 'None', restarts: 0, generation: 1, containerID: `process://${first.pid}` });
    expect(processAlive(first.pid!)).toBe(true);
    await eventually('greeting in the log', async () => (await rt.logs(NS, 'web')).includes('hello'), 5000);
    expect(await rt.logs(NS, 'web')).toContain(`hello from web in ${NS} at 127.0.0.1, A=1, cwd=${workDir('web')}`);

    expect((await rt.deploy(req('web', spec))).pid).toBe(first.pid);

    const stopped = await rt.stop(NS, 'web', 5);
    expect(stopped.state).toBe('exited');
    expect(stopped.lastExit).toMatchObject({ signal: 'SIGTERM', reason: 'Killed' });
    expect(processAlive(first.pid!)).toBe(false);
    await sleep(700); // longer than the 200 ms back-off: an explicit stop is never restarted
    expect(rt.get(NS, 'web')).toMatchObject({ state: 'exited', restarts: 0 });

    const again = await rt.start(NS, 'web');
    expect(again.state).toBe('running');
    expect(again.pid).not.toBe(first.pid);

    await rt.remove(NS, 'web');
    expect(rt.get(NS, 'web')).toBeUndefined();
    expect(processAlive(again.pid!)).toBe(false);
    expect(existsSync(join(dataDir, 'containers', NS, 'web'))).toBe(false);
    await expect(rt.remove(NS, 'web')).resolves.toBeUndefined();
    await expect(rt.start(NS, 'web')).rejects.toMatchObject({ code: 404 });
  });

  it('SIGKILLs a process that ignores SIGTERM once the timeout passes', async () => {
    const { rt, workDir } = makeRuntime();
    await rt.deploy(req('stubborn', { command: ['/bin/sh', '-c', 'trap "" TERM; touch trapped; exec sleep 60'] }));
    // stop only once the shell ignores SIGTERM (under load the signal could otherwise beat the trap)
    const marker = join(workDir('stubborn'), 'trapped');
    for (let i = 0; i < 200 && !existsSync(marker); i++) await new Promise((r) => setTimeout(r, 25));
    expect(existsSync(marker)).toBe(true);
    const t0 = Date.now();
    const info = await rt.stop(NS, 'stubborn', 1);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(900);
    expect(info.lastExit).toMatchObject({ signal: 'SIGKILL', reason: 'Killed' });
  });

  it('rejects a container without a command unless it is an agent host', async () => {
    const { rt } = makeRuntime();
    await expect(rt.deploy(req('imageonly', { image: 'nginx' }))).rejects.toThrow(/needs spec.command/);
  });

  it('reports a command that is not in PATH as a start failure', async () => {
    const { rt } = makeRuntime();
    const info = await rt.deploy(req('typo', { command: ['no-such-binary-xyz'], restartPolicy: 'Never' }));
    expect(info).toMatchObject({ state: 'failed', lastExit: { reason: 'StartFailed', exitCode: 127 } });
    expect(info.message).toContain('executable file not found in $PATH: no-such-binary-xyz');
    expect(await rt.logs(NS, 'typo')).toContain('failed to start');
  });

  it('replaces the process when a new generation is deployed', async () => {
    const { rt } = makeRuntime();
    const v1 = await rt.deploy(req('app', { command: ['/bin/sh', '-c', 'echo gen=$GEN; exec sleep 60'], env: [{ name: 'GEN', value: '1' }] }, 1));
    const v2 = await rt.deploy(req('app', { command: ['/bin/sh', '-c', 'echo gen=$GEN; exec sleep 60'], env: [{ name: 'GEN', value: '2' }] }, 2));
    expect(v2).toMatchObject({ generation: 2, state: 'running', restarts: 0 });
    expect(v2.pid).not.toBe(v1.pid);
    expect(processAlive(v1.pid!)).toBe(false);
    await eventually('gen=2 in the log', async () => (await rt.logs(NS, 'app')).includes('gen=2'), 5000);
  });
});

describe('process runtime: restart policy', () => {
  it.each([
    { policy: 'Always', code: 0, restarted: true, final: 'restarting' },
    { policy: 'OnFailure', code: 0, restarted: false, final: 'exited' },
    { policy: 'OnFailure', code: 3, restarted: true, final: 'restarting' },
    { policy: 'Never', code: 3, restarted: false, final: 'failed' },
  ])('$policy with exit code $code → restarted: $restarted', async ({ policy, code, restarted, final }) => {
    const { rt } = makeRuntime();
    const name = `exit-${policy.toLowerCase()}-${code}`;
    await rt.deploy(req(name, { command: ['/bin/sh', '-c', `sleep 0.1; exit ${code}`], restartPolicy: policy }));
    if (restarted) {
      const info = await waitFor(rt, name, 'restarted twice', (i) => i.restarts >= 2);
      expect(info.lastExit?.exitCode).toBe(code);
    } else {
      const info = await waitFor(rt, name, `state ${final}`, (i) => i.state === final);
      await sleep(500);
      expect(rt.get(NS, name)).toMatchObject({ state: final, restarts: 0, lastExit: { exitCode: code } });
      expect(info.state).toBe(final);
    }
  });

  it('backs off exponentially between restarts and says CrashLoopBackOff', async () => {
    const { rt, events } = makeRuntime();
    await rt.deploy(req('crasher', { command: ['/bin/sh', '-c', 'exit 1'] }));
    const mine = () => events.flatMap((e) => (e.type === 'container' && e.info.name === 'crasher' ? [{ ...e.info, at: e.at }] : []));
    await eventually('three restarts', async () => mine().filter((i) => i.state === 'running').length >= 4, 10_000, 50);
    const seen = mine();
    const waits = seen.filter((i) => i.state === 'restarting').map((i) => i.message);
    expect(waits.slice(0, 3)).toEqual([
      'CrashLoopBackOff: back-off 200ms restarting failed container',
      'CrashLoopBackOff: back-off 400ms restarting failed container',
      'CrashLoopBackOff: back-off 800ms restarting failed container',
    ]);
    // Each wait lasts at least its back-off (lower bounds only: a loaded machine only adds time).
    const starts = seen.filter((i) => i.state === 'running').map((i) => i.at);
    const gaps = starts.slice(1, 4).map((t, k) => t - starts[k]);
    expect(gaps[0]).toBeGreaterThanOrEqual(190);
    expect(gaps[1]).toBeGreaterThanOrEqual(390);
    expect(gaps[2]).toBeGreaterThanOrEqual(790);
  });

  it('restarts a container whose process is killed with kill -9, and its leftover children die with it', async () => {
    const { rt } = makeRuntime();
    const before = await rt.deploy(req('victim', { command: ['/bin/sh', '-c', 'sleep 61 & exec sleep 60'] }));
    const members = await eventually('leader and child', async () => (groupOf(before.pid!).length === 2 ? groupOf(before.pid!) : undefined), 5000);
    process.kill(before.pid!, 'SIGKILL');
    const after = await waitFor(rt, 'victim', 'running again', (i) => i.restarts === 1 && i.state === 'running');
    expect(after.pid).not.toBe(before.pid);
    // Nothing of the old instance runs beside the new one.
    for (const pid of members) expect(processAlive(pid)).toBe(false);
    expect(after.lastExit).toMatchObject({ signal: 'SIGKILL', exitCode: null, reason: 'Killed' });
  });
});

describe('process runtime: health checks', () => {
  const fast = { interval: '200ms', timeout: '1s', retries: 2 };

  it('goes Healthy over http, restarts the container when it turns Unhealthy, and recovers', async () => {
    const { rt, events, workDir } = makeRuntime();
    const port = await freePort();
    // The server fails its check while a file named "fail" exists; a fresh start removes it.
    const server = `const fs=require('fs');fs.rmSync('fail',{force:true});require('http').createServer((q,s)=>{s.statusCode=q.url==='/health'&&!fs.existsSync('fail')?200:500;s.end()}).listen(${port},'127.0.0.1')`;
    await rt.deploy(req('api', { command: [NODE, '-e', server], terminationGracePeriodSeconds: 2, healthCheck: { http: { path: '/health', port }, ...fast } }));
    expect(rt.get(NS, 'api')!.health).toBe('Starting');
    const healthy = await waitFor(rt, 'api', 'Healthy', (i) => i.health === 'Healthy');
    writeFileSync(join(workDir('api'), 'fail'), '');
    const restarted = await waitFor(rt, 'api', 'restarted after Unhealthy', (i) => i.restarts === 1 && i.state === 'running');
    expect(restarted.lastExit?.reason).toBe('Unhealthy');
    expect(restarted.pid).not.toBe(healthy.pid);
    expect(events.some((e) => e.type === 'container' && e.info.name === 'api' && (e.info as ContainerInfo).health === 'Unhealthy')).toBe(true);
    await waitFor(rt, 'api', 'Healthy again', (i) => i.health === 'Healthy');
  });

  it.each([
    { name: 'tcp to the listening port', check: (port: number) => ({ tcp: { port } }), expected: 'Healthy' },
    { name: 'tcp to a closed port', check: (_p: number, closed: number) => ({ tcp: { port: closed } }), expected: 'Unhealthy' },
    { name: 'exec that succeeds in the working dir', check: () => ({ exec: { command: ['sh', '-c', 'test -f marker'] } }), expected: 'Healthy' },
    { name: 'exec that fails', check: () => ({ exec: { command: ['false'] } }), expected: 'Unhealthy' },
  ])('$name → $expected', async ({ check, expected }) => {
    const { rt } = makeRuntime();
    const [port, closed] = [await freePort(), await freePort()];
    const server = `require('fs').writeFileSync('marker','');require('net').createServer(s=>s.end()).listen(${port},'127.0.0.1')`;
    // restartPolicy Never: an Unhealthy container keeps running, so its health stays visible.
    await rt.deploy(req('probe', { command: [NODE, '-e', server], restartPolicy: 'Never', healthCheck: { ...check(port, closed), ...fast } }));
    const info = await waitFor(rt, 'probe', expected, (i) => i.health === expected);
    expect(info).toMatchObject({ state: 'running', restarts: 0 });
    if (expected === 'Unhealthy') expect(info.message).toMatch(/health check failed \(2\/2\)/);
  });

  it('does not count failures inside the start period', async () => {
    const { rt } = makeRuntime();
    await rt.deploy(req('slow', { command: ['/bin/sh', '-c', 'exec sleep 60'], restartPolicy: 'Never', healthCheck: { exec: { command: ['false'] }, interval: '100ms', retries: 1, startPeriod: '1s' } }));
    await sleep(600);
    expect(rt.get(NS, 'slow')!.health).toBe('Starting');
    await waitFor(rt, 'slow', 'Unhealthy after the start period', (i) => i.health === 'Unhealthy', 5000);
  });
});

describe('process runtime: logs and usage', () => {
  it('captures output, rotates the files, and hands out new output once', async () => {
    const { rt, dataDir } = makeRuntime({ log: { maxBytes: 2048, maxFiles: 3 } });
    // one line per millisecond: the runtime rotates between the chunks it reads, so a single burst could land in one file
    const script = `let i = 0; const t = setInterval(() => { console.log('line ' + i + ' ' + 'x'.repeat(40)); if (++i === 200) clearInterval(t); }, 1); setInterval(() => {}, 1000)`;
    await rt.deploy(req('chatty', { command: [NODE, '-e', script] }));
    await eventually('the last line', async () => (await rt.logs(NS, 'chatty')).includes('line 199 '), 10_000);
    const dir = join(dataDir, 'containers', NS, 'chatty');
    expect(['container.log', 'container.log.1', 'container.log.2', 'container.log.3'].map((f) => existsSync(join(dir, f)))).toEqual([true, true, true, false]);
    expect(readFileSync(join(dir, 'container.log.2'), 'utf8')).not.toContain('line 0 ');
    const tail = await rt.logs(NS, 'chatty', { tailBytes: 100 });
    expect(tail.length).toBeLessThanOrEqual(100);
    expect(tail).toMatch(/line 199 x+\n$/);
    const shipped = await rt.readNewLogs(NS, 'chatty');
    expect(shipped).toContain('line 0 ');
    expect(shipped).toContain('line 199 ');
    expect(await rt.readNewLogs(NS, 'chatty')).toBeUndefined();
  });

  it('reads cpu and memory of a busy process from /proc, and the node totals', async () => {
    const { rt } = makeRuntime();
    await rt.deploy(req('busy', { command: [NODE, '-e', 'const a = new Array(1e6).fill(1); for (;;) a[0]++'] }));
    rt.get(NS, 'busy'); // first sample; the next one measures the 1.2 s in between
    await sleep(1200);
    const usage = rt.get(NS, 'busy')!.usage!;
    await rt.stop(NS, 'busy', 1);
    expect(usage.cpu).toMatch(/^\d+m$/);
    expect(cpuMillis(usage.cpu)).toBeGreaterThan(50); // a busy loop, even on a shared machine
    expect(memoryBytes(usage.memory)).toBeGreaterThan(5 * 2 ** 20);
    const node = await rt.nodeResources();
    expect(node.capacity.cpu).toBe(String(os.cpus().length));
    expect(memoryBytes(node.capacity.memory)).toBeGreaterThan(memoryBytes(node.usage.memory));
    expect(memoryBytes(node.usage.memory)).toBeGreaterThan(0);
    expect(node.usage.cpu).toMatch(/^\d+m$/);
  });
});

describe('process runtime: agents inside a container', () => {
  const agentScript = `console.log(JSON.stringify({ name: process.env.DROVER_AGENT_NAME, config: process.env.DROVER_AGENT_CONFIG, container: process.env.DROVER_CONTAINER, strategy: process.env.STRATEGY, cwd: process.cwd() })); setInterval(() => {}, 1000)`;
  const agent = (name: string) => ({
    namespace: NS, name, uid: `uid-${name}`, containerName: 'host', command: [NODE, '-e', agentScript],
    env: [{ name: 'STRATEGY', value: 'momentum' }], config: { risk: 2 },
  });

  it('runs agents in a host container, restarts one killed with -9, and stops them with the container', async () => {
    const { rt, dataDir, workDir } = makeRuntime();
    await expect(rt.startAgent(agent('orphan'))).rejects.toMatchObject({ code: 404 });
    const host = await rt.deploy(req('host', { agentHost: { capacity: { agents: 4 } } }));
    expect(host.state).toBe('running');
    await eventually('host process greeting', async () => (await rt.logs(NS, 'host')).includes('drover host process for host running'), 5000);

    const a1 = await rt.startAgent(agent('trader-1'));
    expect(a1).toMatchObject({ state: 'running', containerName: 'host', restarts: 0, id: `process://${a1.pid}` });
    const logFile = join(dataDir, 'containers', NS, 'host', 'agents', 'trader-1.log');
    await eventually('agent output', async () => existsSync(logFile) && readFileSync(logFile, 'utf8').includes('{'), 5000);
    expect(JSON.parse(readFileSync(logFile, 'utf8').split('\n')[0])).toEqual({
      name: 'trader-1', config: '{"risk":2}', container: 'host', strategy: 'momentum', cwd: workDir('host'),
    });
    expect((await rt.startAgent(agent('trader-1'))).pid).toBe(a1.pid);

    process.kill(a1.pid!, 'SIGKILL');
    const back = await eventually('agent restarted', async () => rt.listAgents().find((a) => a.name === 'trader-1' && a.restarts === 1 && a.state === 'running'), 10_000);
    expect(back.pid).not.toBe(a1.pid);

    await rt.stopAgent(NS, 'trader-1', 2);
    expect(rt.listAgents()).toEqual([]);
    expect(processAlive(back.pid!)).toBe(false);

    const [b1, b2] = [await rt.startAgent(agent('b1')), await rt.startAgent(agent('b2'))];
    const restarted = await rt.restart(NS, 'host');
    expect(restarted.pid).not.toBe(host.pid);
    const after = rt.listAgents();
    expect(after.map((a) => [a.name, a.state, a.restarts])).toEqual([['b1', 'running', 1], ['b2', 'running', 1]]);
    expect(processAlive(b1.pid!) || processAlive(b2.pid!)).toBe(false);

    await rt.stop(NS, 'host', 2);
    expect(rt.listAgents()).toEqual([]);
    for (const a of after) expect(processAlive(a.pid!)).toBe(false);
    await expect(rt.startAgent(agent('late'))).rejects.toMatchObject({ code: 409 });
  });
});

describe('process runtime: shutdown and recovery', () => {
  it('close({stopWorkloads: true}) leaves no process behind, children included', async () => {
    const { rt } = makeRuntime();
    const a = await rt.deploy(req('forker', { command: ['/bin/sh', '-c', 'sleep 60 & sleep 61 & wait'] }));
    const b = await rt.deploy(req('host', { agentHost: {} }));
    const agentInfo = await rt.startAgent({ namespace: NS, name: 'ag', uid: 'u-ag', containerName: 'host', command: ['sleep', '60'] });
    const forked = await eventually('forked children', async () => (groupOf(a.pid!).length >= 3 ? groupOf(a.pid!) : undefined), 5000);
    await rt.close({ stopWorkloads: true });
    for (const pid of [...forked, b.pid!, agentInfo.pid!]) expect(processAlive(pid)).toBe(false);
    await expect(rt.deploy(req('x', { command: ['true'] }))).rejects.toMatchObject({ code: 409 });
  });

  it('a SIGKILLed agent leaves no leader (pdeathsig); recover() reaps the rest and adopts nothing', async () => {
    const dataDir = tempDir('drover-prt-crash-');
    const code = `
      import { createProcessRuntime } from ${JSON.stringify(join(REPO, 'agent/process-runtime.ts'))};
      import { nullLogger } from ${JSON.stringify(join(REPO, 'core/logging.ts'))};
      const rt = createProcessRuntime({ dataDir: process.env.DATA_DIR, logger: nullLogger() });
      const info = await rt.deploy({ namespace: 'ns1', name: 'left', uid: 'u1', generation: 1, spec: { command: ['/bin/sh', '-c', 'sleep 61 & exec sleep 60'] } });
      console.log(JSON.stringify({ pid: info.pid }));
      setInterval(() => {}, 1000);`;
    const agent = spawn(NODE, ['--disable-warning=ExperimentalWarning', '--input-type=module', '-e', code], { env: { ...process.env, DATA_DIR: dataDir }, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    agent.stdout!.on('data', (d) => (out += d));
    const { pid } = await eventually('the fake agent deployed', async () => (out.includes('\n') ? (JSON.parse(out.split('\n')[0]) as { pid: number }) : undefined), 15_000);
    const members = await eventually('leader and its child', async () => (groupOf(pid).length === 2 ? groupOf(pid) : undefined), 5000);
    const child = members.find((p) => p !== pid)!;
    agent.kill('SIGKILL');
    await eventually('the leader killed by pdeathsig', async () => !processAlive(pid), 5000);
    expect(processAlive(child)).toBe(true); // pdeathsig reaches the leader only

    const { rt } = makeRuntime({ dataDir });
    expect(await rt.recover()).toEqual([]);
    await eventually('the stray child reaped', async () => !processAlive(child), 5000);
    expect(existsSync(join(dataDir, 'containers', 'ns1', 'left', 'state.json'))).toBe(false);
  });
});
