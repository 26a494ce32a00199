// The Docker runtime against a real private engine, without a manager: what the node agent relies on.
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { createDockerRuntime } from '../../agent/docker-runtime.ts';
import type { ContainerInfo, ContainerRuntime, RuntimeEvent } from '../../agent/runtime.ts';
import { createLogger } from '../../core/logging.ts';
import { eventually, sleep, tempDir, cleanup } from '../helpers/processes.ts';
import { dockerAvailable, startEngine, TEST_IMAGE, type DockerEngine } from '../helpers/docker-engines.ts';

let engine: DockerEngine;
const runtimes: ContainerRuntime[] = [];
const logger = createLogger({ level: 'error' });

let seq = 0;
function newRuntime(dataDir = tempDir('drover-dockrt-'), nodeName = `rt-${++seq}`): ContainerRuntime {
  const rt = createDockerRuntime({ nodeName, dataDir, logger, dockerHost: engine.host, defaultNetwork: 'host', backoff: { initialMs: 200, maxMs: 1000 }, healthFirstProbeMs: 100 });
  runtimes.push(rt);
  return rt;
}

const req = (name: string, spec: Record<string, unknown>, generation = 1, uid = `uid-${name}`) => ({
  namespace: 'ns', name, uid, generation, spec: { image: TEST_IMAGE, imagePullPolicy: 'Never', terminationGracePeriodSeconds: 1, ...spec },
});

async function docker(args: string[]): Promise<string> {
  const r = await engine.docker(args);
  if (r.code !== 0) throw new Error(`docker ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

function recorder(rt: ContainerRuntime) {
  const events: Array<{ at: number; ev: RuntimeEvent }> = [];
  rt.on((ev) => events.push({ at: Date.now(), ev }));
  return {
    events,
    containers: (name: string) => events.flatMap((e) => (e.ev.type === 'container' && e.ev.info.name === name ? [{ at: e.at, ...e.ev.info }] : [])),
  };
}

beforeAll(async () => {
  const missing = dockerAvailable();
  if (missing) throw new Error(missing);
  engine = await startEngine();
}, 120_000);

afterAll(async () => {
  for (const rt of runtimes) await rt.close({}).catch(() => undefined);
  await cleanup();
}, 60_000);

describe('Docker runtime on a real engine', () => {
  it('a container that dies is reported from the engine\'s event stream, restarted per policy with the restart counted', async () => {
    const rt = newRuntime(undefined, 'rt1');
    await rt.recover();
    const rec = recorder(rt);
    const info = await rt.deploy(req('crasher', { command: ['/bin/sh', '-c', 'echo started; sleep 1; exit 3'], restartPolicy: 'OnFailure' }));
    expect(info.state).toBe('running');
    const restarted = await eventually('a restart after exit code 3', async () => rec.containers('crasher').find((i) => i.restarts >= 1 && i.state === 'running'), 20_000);
    expect(restarted.lastExit).toMatchObject({ exitCode: 3, reason: 'Error' });
    const exitSeen = rec.containers('crasher').find((i) => i.lastExit?.exitCode === 3);
    expect(exitSeen).toBeDefined();
    // the engine's own view agrees
    const insp = JSON.parse(await docker(['inspect', 'drover.rt1.ns.crasher']))[0];
    expect(insp.RestartCount).toBeGreaterThanOrEqual(1);
    await rt.remove('ns', 'crasher');
    expect(rt.get('ns', 'crasher')).toBeUndefined();
    expect((await docker(['ps', '-aq', '--filter', 'name=drover.rt1.ns.crasher'])).trim()).toBe('');
  }, 60_000);

  it('a command that does not exist fails with StartFailed and the engine\'s message', async () => {
    const rt = newRuntime();
    await rt.recover();
    const info = await rt.deploy(req('typo', { command: ['/no/such/binary'], restartPolicy: 'Never' }));
    expect(info.state).toBe('failed');
    expect(info.reason).toBe('StartFailed');
    expect(info.message).toMatch(/no such file or directory|not found/);
    await rt.remove('ns', 'typo');
  }, 30_000);

  it('an image that cannot be pulled is ImagePullFailed, retried with back-off, and never leaves loopback', async () => {
    const rt = newRuntime();
    await rt.recover();
    const rec = recorder(rt);
    const info = await rt.deploy(req('pull', { image: 'example.invalid/nosuch:1', imagePullPolicy: 'IfNotPresent', command: ['sleep', '1'] }));
    expect(info).toMatchObject({ state: 'failed', reason: 'ImagePullFailed' });
    expect(info.message).toContain('pulling image "example.invalid/nosuch:1" failed');
    expect(info.message).toContain('127.0.0.1:9'); // the engine's proxy: pulls fail on loopback here
    await eventually('three attempts', async () => rec.containers('pull').some((i) => i.message?.includes('(attempt 3)')), 20_000);
    const attempts = rec.containers('pull').filter((i) => /attempt \d+/.test(i.message ?? '')).map((i) => i.at);
    // back-off: each wait at least as long as the one before
    expect(attempts[2] - attempts[1]).toBeGreaterThanOrEqual((attempts[1] - attempts[0]) * 0.9);
    await rt.remove('ns', 'pull');
  }, 40_000);

  it('a new generation replaces the container; the same generation is left alone', async () => {
    const rt = newRuntime(undefined, 'rt1');
    await rt.recover();
    const a = await rt.deploy(req('gen', { command: ['sleep', '1000'] }));
    const again = await rt.deploy(req('gen', { command: ['sleep', '1000'] }));
    expect(again.containerID).toBe(a.containerID);
    const b = await rt.deploy(req('gen', { command: ['sleep', '2000'] }, 2));
    expect(b.containerID).not.toBe(a.containerID);
    expect(b.generation).toBe(2);
    const all = (await docker(['ps', '-a', '--format', '{{.Names}}'])).split('\n').filter((n) => n === 'drover.rt1.ns.gen');
    expect(all).toHaveLength(1);
    await rt.remove('ns', 'gen');
  }, 30_000);

  it('a container removed behind drover\'s back is created again', async () => {
    const rt = newRuntime(undefined, 'rt1');
    await rt.recover();
    const a = await rt.deploy(req('victim', { command: ['sleep', '1000'] }));
    await docker(['rm', '-f', 'drover.rt1.ns.victim']);
    const back = await eventually('recreated', async () => {
      const i = rt.get('ns', 'victim');
      return i && i.state === 'running' && i.containerID !== a.containerID ? i : undefined;
    }, 20_000);
    expect(back.restarts).toBeGreaterThanOrEqual(1);
    await rt.remove('ns', 'victim');
  }, 30_000);

  it('an agent by exec: output captured, exit restarted with back-off, graceful stop, and adopted by a new runtime', async () => {
    const dataDir = tempDir('drover-dockrt-');
    const rt = newRuntime(dataDir, 'adopter');
    await rt.recover();
    await rt.deploy(req('host', { agentHost: {} }));
    const a = await rt.startAgent({
      namespace: 'ns', name: 'flaky', uid: 'ua', containerName: 'host',
      command: ['/bin/sh', '-c', 'echo "hello from $DROVER_AGENT_NAME $(cat /proc/self/cgroup | head -c 0)"; sleep 1; exit 2'],
      config: { symbol: 'BTC' },
    });
    expect(a.state).toBe('running');
    expect(a.id).toMatch(/^docker-exec:\/\//);
    const restarted = await eventually('agent restarted after exit 2', async () => rt.listAgents().find((x) => x.name === 'flaky' && x.restarts >= 1), 20_000);
    expect(restarted.lastExit).toMatchObject({ exitCode: 2, reason: 'Error' });
    const logs = await eventually('agent output', async () => {
      const out = await rt.readNewAgentLogs!('ns', 'flaky');
      return out?.includes('hello from flaky') ? out : undefined;
    }, 10_000);
    expect(logs).toContain('hello from flaky');
    await rt.stopAgent('ns', 'flaky', 2);
    expect(rt.listAgents().find((x) => x.name === 'flaky')).toBeUndefined();

    // A long-lived agent survives its node agent: a new runtime on the same engine adopts it, restarting nothing.
    await rt.startAgent({ namespace: 'ns', name: 'steady', uid: 'us', containerName: 'host', command: ['/bin/sh', '-c', 'trap "echo bye; exit 0" TERM; while true; do sleep 1; done'] });
    const before = rt.listAgents().find((x) => x.name === 'steady')!;
    const hostBefore = rt.get('ns', 'host')!;
    await rt.close({});
    const rt2 = newRuntime(dataDir, 'adopter');
    const recovered = await rt2.recover();
    expect(recovered.map((i: ContainerInfo) => [i.name, i.containerID, i.state])).toEqual([['host', hostBefore.containerID, 'running']]);
    const adopted = rt2.listAgents().find((x) => x.name === 'steady');
    expect(adopted).toMatchObject({ uid: 'us', id: before.id, state: 'running', containerName: 'host' });
    expect(adopted!.pid).toBe(before.pid);
    // and a stop still works on an adopted agent
    const t0 = Date.now();
    await rt2.stopAgent('ns', 'steady', 5);
    expect(Date.now() - t0).toBeLessThan(5000); // it honoured SIGTERM rather than waiting for the kill
    const ps = await docker(['exec', 'drover.adopter.ns.host', 'ps']);
    expect(ps).not.toContain('while true');
    await rt2.remove('ns', 'host');
  }, 60_000);

  it('an http health check probed from the node: Unhealthy restarts the container', async () => {
    const rt = newRuntime();
    await rt.recover();
    const rec = recorder(rt);
    // serves /health for about 3 s, then the file disappears and the check fails
    await rt.deploy(req('sick', {
      command: ['/bin/sh', '-c', 'mkdir -p /www && echo ok > /www/health && (sleep 3; rm /www/health) & exec httpd -f -p 127.0.0.1:28111 -h /www'],
      healthCheck: { http: { path: '/health', port: 28111 }, interval: '500ms', timeout: '500ms', retries: 2 },
    }));
    await eventually('Healthy', async () => rt.get('ns', 'sick')?.health === 'Healthy', 10_000);
    await eventually('Unhealthy, then restarted', async () => rec.containers('sick').some((i) => i.health === 'Unhealthy') && (rt.get('ns', 'sick')?.restarts ?? 0) >= 1, 20_000);
    await eventually('Healthy again after the restart', async () => rt.get('ns', 'sick')?.health === 'Healthy', 10_000);
    await rt.remove('ns', 'sick');
    await sleep(10);
  }, 60_000);
});
