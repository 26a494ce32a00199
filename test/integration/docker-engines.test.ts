// The private Docker engines the Docker-backed tests run on: several engines side by side, each
// with its own containers, pulls that fail on loopback (no registry traffic), and a teardown that
// leaves no process, mount or directory behind.
import { describe, it, expect } from '@jest/globals';
import { existsSync, readFileSync } from 'node:fs';
import { dockerAvailable, pidsMentioning, processRunning, startEngine, startEngines, TEST_IMAGE, type DockerEngine } from '../helpers/docker-engines.ts';
import { eventually, pidAlive } from '../helpers/processes.ts';

function mountPointsUnder(dir: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8').split('\n')
    .map((line) => line.split(' ')[4])
    .filter((p): p is string => !!p && (p === dir || p.startsWith(dir + '/')));
}

async function expectGone(e: DockerEngine, containerd: number[]) {
  expect(pidAlive(e.pid)).toBe(false);
  // containerd and the shims (a dead shim may stay a zombie of pid 1 for a while).
  for (const pid of containerd) expect(processRunning(pid)).toBe(false);
  expect(pidsMentioning(e.dir)).toEqual([]);
  expect(mountPointsUnder(e.dir)).toEqual([]);
  expect(existsSync(e.dir)).toBe(false);
}

describe('private docker engines', () => {
  it('dockerd, the docker CLI and busybox-static are installed (else run scripts/ensure-docker.sh)', () => {
    expect(dockerAvailable()).toBeUndefined();
  });

  it('two engines run their own containers, cannot pull from a registry, and tear down completely', async () => {
    const engines = await startEngines(2);
    expect(new Set(engines.map((e) => e.socket)).size).toBe(2);
    for (const e of engines) {
      expect(e.host).toBe(`unix://${e.socket}`);
      expect(Buffer.byteLength(e.socket)).toBeLessThan(108);
      const run = await e.docker(['run', '-d', '--network', 'host', '--name', 't1', TEST_IMAGE, 'sleep', '30']);
      expect(run).toMatchObject({ code: 0 });
      const ps = await e.docker(['ps', '--format', '{{.Names}} {{.Image}}']);
      expect(ps.stdout.trim().split('\n')).toEqual([`t1 ${TEST_IMAGE}`]);
      const exec = await e.docker(['exec', 't1', 'sh', '-c', 'echo hello from $(id -un)']);
      expect(exec.stdout.trim()).toBe('hello from root');
      // Workloads resolve names on a loopback address where no DNS server answers.
      const resolv = await e.docker(['exec', 't1', 'cat', '/etc/resolv.conf']);
      expect(resolv.stdout).toMatch(/^nameserver 127\.0\.0\.9$/m);
      expect(resolv.stdout).not.toMatch(/^nameserver (?!127\.)/m);
      // The engine's proxy is 127.0.0.1:9, which refuses: a pull never leaves loopback.
      const pull = await e.docker(['pull', 'nosuch/image:1']);
      expect(pull.code).not.toBe(0);
      expect(pull.stderr).toContain('127.0.0.1:9');
    }
    // containerd and the containerd-shims run under each engine's directory.
    const children = engines.map((e) => pidsMentioning(e.dir).filter((p) => p !== e.pid));
    for (const c of children) expect(c.length).toBeGreaterThanOrEqual(2);
    // dockerd's mounts (data-root bind, overlay of t1, netns) live in its own mount namespace.
    for (const e of engines) {
      const own = readFileSync(`/proc/${e.pid}/mountinfo`, 'utf8').split('\n').map((l) => l.split(' ')[4]).filter((p) => p?.startsWith(e.dir + '/'));
      expect(own.some((p) => p.endsWith('/merged'))).toBe(true);
      expect(mountPointsUnder(e.dir)).toEqual([]);
    }

    for (const e of engines) await e.stop();
    for (const [i, e] of engines.entries()) await expectGone(e, children[i]);
    await engines[0].stop(); // idempotent
  }, 120_000);

  it('a swarm engine runs a replicated host-network service and leaves the swarm on stop', async () => {
    const e = await startEngine({ name: 'swarm', swarm: true });
    // docker_gwbridge has a Linux bridge of its own engine (another engine's swarm has another).
    const gw = await e.docker(['network', 'inspect', 'docker_gwbridge', '--format', '{{index .Options "com.docker.network.bridge.name"}}']);
    const bridge = gw.stdout.trim();
    expect(bridge).toMatch(/^drvgw/);
    expect(existsSync(`/sys/class/net/${bridge}`)).toBe(true);
    const info = await e.docker(['info', '--format', '{{.Swarm.LocalNodeState}} {{.Swarm.ControlAvailable}} {{.Swarm.NodeAddr}}']);
    expect(info.stdout.trim()).toBe('active true 127.0.0.1');
    // --no-resolve-image: do not ask a registry for the digest (it would fail on the dead proxy).
    const created = await e.docker(['service', 'create', '--detach', '--no-resolve-image', '--replicas', '2', '--network', 'host', '--name', 's1', TEST_IMAGE, 'sleep', '60']);
    expect(created).toMatchObject({ code: 0 });
    await eventually('2 running tasks of s1', async () => {
      const ps = await e.docker(['service', 'ps', 's1', '--filter', 'desired-state=running', '--format', '{{.CurrentState}}']);
      return ps.stdout.trim().split('\n').filter((l) => l.startsWith('Running')).length === 2;
    }, 30_000, 250);
    const children = pidsMentioning(e.dir).filter((p) => p !== e.pid);

    await e.stop();
    await expectGone(e, children);
    expect(existsSync(`/sys/class/net/${bridge}`)).toBe(false);
  }, 120_000);
});
