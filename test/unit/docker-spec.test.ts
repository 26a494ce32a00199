// The pure half of the Docker runtime: Container.spec → create options, inspect → state, log frames,
// stats → usage, and the exec wrapper that lets a restarted node agent find its agents again.
import { describe, it, expect } from '@jest/globals';
import {
  DockerLabels, IDLE_HOST_COMMAND, createPlan, demuxFrames, discoveredName, dockerHealthcheck, dockerRestartPolicy, observedState, usageFromStats,
  type InspectView,
} from '../../agent/docker/docker-spec.ts';
import { agentExecCmd, exitInfo, parseMarker } from '../../agent/docker/exec-agent.ts';
import { withTag } from '../../agent/docker-runtime.ts';

const ctx = { node: 'node-a', namespace: 'demo', name: 'api', uid: 'u-1', generation: 3, nodeAddress: '10.1.2.3' };

describe('createPlan', () => {
  it('maps image, command/args (Kubernetes semantics), env, labels, restart policy, grace and limits', () => {
    const spec = {
      image: 'drover-test:latest', command: ['/bin/sh', '-c'], args: ['exec httpd -f'], workingDir: '/srv',
      env: [{ name: 'A', value: '1' }, { name: 'EMPTY' }], restartPolicy: 'OnFailure', terminationGracePeriodSeconds: 7,
      resources: { limits: { cpu: '500m', memory: '64Mi' }, requests: { cpu: '250m', memory: '32Mi' } },
    };
    const { options, volumes } = createPlan(spec, ctx);
    expect(volumes).toEqual([]);
    expect(options).toMatchObject({
      name: 'drover.node-a.demo.api', Image: 'drover-test:latest', Entrypoint: ['/bin/sh', '-c'], Cmd: ['exec httpd -f'], WorkingDir: '/srv',
      StopTimeout: 7,
      HostConfig: { RestartPolicy: { Name: 'on-failure' }, NanoCpus: 500_000_000, Memory: 64 * 2 ** 20, CpuShares: 256, MemoryReservation: 32 * 2 ** 20 },
    });
    expect(options.Env).toEqual(['A=1', 'EMPTY=', 'DROVER_CONTAINER=api', 'DROVER_NAMESPACE=demo', 'DROVER_NODE_ADDRESS=10.1.2.3']);
    const labels = options.Labels as Record<string, string>;
    expect(labels).toMatchObject({
      [DockerLabels.managedBy]: 'drover', [DockerLabels.node]: 'node-a', [DockerLabels.namespace]: 'demo', [DockerLabels.name]: 'api',
      [DockerLabels.uid]: 'u-1', [DockerLabels.generation]: '3',
    });
    expect(JSON.parse(labels[DockerLabels.spec])).toEqual(spec);
  });

  it('command without args clears the image CMD; args alone keep the ENTRYPOINT; an agent host without either idles', () => {
    expect(createPlan({ image: 'i', command: ['sleep', '1'] }, ctx).options).toMatchObject({ Entrypoint: ['sleep', '1'], Cmd: [] });
    const argsOnly = createPlan({ image: 'i', args: ['--port', '80'] }, ctx).options;
    expect(argsOnly.Cmd).toEqual(['--port', '80']);
    expect(argsOnly.Entrypoint).toBeUndefined();
    expect(createPlan({ image: 'i', agentHost: {} }, ctx).options).toMatchObject({ Entrypoint: IDLE_HOST_COMMAND, Cmd: [] });
    expect(createPlan({ image: 'i' }, ctx).options.Entrypoint).toBeUndefined();
  });

  it('publishes ports on the node address unless the port names a host IP; host networking publishes nothing', () => {
    const ports = [{ containerPort: 80, hostPort: 8080 }, { containerPort: 53, hostPort: 5353, protocol: 'UDP', hostIP: '127.0.0.1' }, { containerPort: 9000 }];
    const bridged = createPlan({ image: 'i', ports }, ctx).options;
    expect(bridged.ExposedPorts).toEqual({ '80/tcp': {}, '53/udp': {}, '9000/tcp': {} });
    expect((bridged.HostConfig as Record<string, unknown>).PortBindings).toEqual({
      '80/tcp': [{ HostIp: '10.1.2.3', HostPort: '8080' }], '53/udp': [{ HostIp: '127.0.0.1', HostPort: '5353' }],
    });
    const host = createPlan({ image: 'i', ports, networkMode: 'host' }, ctx).options;
    expect(host.ExposedPorts).toBeUndefined();
    expect(host.HostConfig).toMatchObject({ NetworkMode: 'host' });
    expect((host.HostConfig as Record<string, unknown>).PortBindings).toBeUndefined();
  });

  it('the node default network applies only when the spec names none', () => {
    expect(createPlan({ image: 'i' }, { ...ctx, defaultNetwork: 'host' }).options.HostConfig).toMatchObject({ NetworkMode: 'host' });
    expect(createPlan({ image: 'i', networkMode: 'none' }, { ...ctx, defaultNetwork: 'host' }).options.HostConfig).toMatchObject({ NetworkMode: 'none' });
    expect((createPlan({ image: 'i' }, ctx).options.HostConfig as Record<string, unknown>).NetworkMode).toBeUndefined();
  });

  it('volumes: hostPath binds, named volumes are created with labels, unnamed ones get a per-container name', () => {
    const plan = createPlan({
      image: 'i',
      volumes: [
        { name: 'cfg', hostPath: '/etc/app', mountPath: '/cfg', readOnly: true },
        { name: 'data', volume: 'shared-data', mountPath: '/data' },
        { name: 'scratch', mountPath: '/scratch' },
      ],
    }, ctx);
    expect((plan.options.HostConfig as Record<string, unknown>).Mounts).toEqual([
      { Type: 'bind', Source: '/etc/app', Target: '/cfg', ReadOnly: true },
      { Type: 'volume', Source: 'shared-data', Target: '/data', ReadOnly: false },
      { Type: 'volume', Source: 'drover.demo.api.scratch', Target: '/scratch', ReadOnly: false },
    ]);
    expect(plan.volumes.map((v) => v.name)).toEqual(['shared-data', 'drover.demo.api.scratch']);
    expect(plan.volumes[0].labels).toMatchObject({ [DockerLabels.managedBy]: 'drover', [DockerLabels.name]: 'api' });
  });

  it('names the field for what Docker cannot do', () => {
    expect(() => createPlan({ command: ['x'] }, ctx)).toThrow('container demo/api: spec.image is required by the docker runtime');
    expect(() => createPlan({ image: 'i', volumes: [{ name: 'v', hostPath: 'rel/dir', mountPath: '/m' }] }, ctx)).toThrow('spec.volumes[0].hostPath must be an absolute path');
    expect(() => createPlan({ image: 'i', volumes: [{ name: 'v', hostPath: '/a', volume: 'b', mountPath: '/m' }] }, ctx)).toThrow('spec.volumes[0] (v) sets both hostPath and volume');
  });

  it('exec health checks become Docker HEALTHCHECKs (durations in ns); http and tcp do not', () => {
    expect(dockerHealthcheck({ exec: { command: ['wget', '-q', 'http://127.0.0.1/'] }, interval: '2s', timeout: '500ms', retries: 4, startPeriod: '1s' })).toEqual({
      Test: ['CMD', 'wget', '-q', 'http://127.0.0.1/'], Interval: 2e9, Timeout: 5e8, Retries: 4, StartPeriod: 1e9,
    });
    expect(dockerHealthcheck({ tcp: { port: 80 } })).toBeUndefined();
    expect(createPlan({ image: 'i', healthCheck: { http: { port: 80 } } }, ctx).options.Healthcheck).toBeUndefined();
  });

  it('restart policies: Always survives crashes but not an explicit stop', () => {
    expect(dockerRestartPolicy('Always')).toEqual({ Name: 'unless-stopped' });
    expect(dockerRestartPolicy(undefined)).toEqual({ Name: 'unless-stopped' });
    expect(dockerRestartPolicy('OnFailure')).toEqual({ Name: 'on-failure' });
    expect(dockerRestartPolicy('Never')).toEqual({ Name: 'no' });
  });
});

describe('observedState', () => {
  const base = (state: Partial<InspectView['State']>, extra: Partial<InspectView> = {}): InspectView => ({
    Id: 'abc', RestartCount: 0,
    State: { Status: 'running', Running: true, Pid: 42, StartedAt: '2026-11-23T10:00:00.123456789Z', FinishedAt: '0001-01-01T00:00:00Z', ...state },
    ...extra,
  });

  it('running, with Docker health or the node agent\'s probe', () => {
    expect(observedState(base({}))).toMatchObject({ state: 'running', health: 'None', pid: 42, startedAt: '2026-11-23T10:00:00.123Z' });
    expect(observedState(base({ Health: { Status: 'healthy' } })).health).toBe('Healthy');
    expect(observedState(base({ Health: { Status: 'unhealthy', Log: [{ ExitCode: 1, Output: 'wget: server returned error: 503\n' }] } })))
      .toMatchObject({ health: 'Unhealthy', message: 'health check failed: wget: server returned error: 503' });
    expect(observedState(base({}), { health: 'Starting' }).health).toBe('Starting');
  });

  it('exits: code, signal and reason; OOM; Docker restarting; a command that never started', () => {
    const killed = observedState(base({ Status: 'exited', Running: false, ExitCode: 137, FinishedAt: '2026-11-23T10:01:00Z' }));
    expect(killed).toMatchObject({ state: 'exited', lastExit: { exitCode: 137, signal: 'SIGKILL', reason: 'Killed' } });
    expect(killed.pid).toBeUndefined();
    expect(observedState(base({ Status: 'exited', Running: false, ExitCode: 0, FinishedAt: '2026-11-23T10:01:00Z' })).lastExit?.reason).toBe('Completed');
    expect(observedState(base({ Status: 'exited', Running: false, ExitCode: 137, OOMKilled: true, FinishedAt: '2026-11-23T10:01:00Z' })).lastExit?.reason).toBe('OOMKilled');
    expect(observedState(base({ Status: 'restarting', Running: true, Restarting: true, ExitCode: 3, FinishedAt: '2026-11-23T10:01:00Z' }, { RestartCount: 4 })))
      .toMatchObject({ state: 'restarting', restarts: 4, message: 'restarting after exit code 3 (restart 4)' });
    expect(observedState(base({ Status: 'created', Running: false, ExitCode: 127, Error: 'exec: "nosuch": executable file not found in $PATH' })))
      .toMatchObject({ state: 'failed', reason: 'StartFailed', message: 'exec: "nosuch": executable file not found in $PATH' });
  });
});

describe('log frames and stats', () => {
  const frame = (type: number, text: string) => {
    const body = Buffer.from(text);
    const h = Buffer.alloc(8);
    h[0] = type;
    h.writeUInt32BE(body.length, 4);
    return Buffer.concat([h, body]);
  };

  it('splits Docker\'s 8-byte frame headers, keeping the order of stdout and stderr', () => {
    const d = demuxFrames(Buffer.concat([frame(1, 'out1\n'), frame(2, 'err1\n'), frame(1, 'out2\n')]));
    expect(d.combined.toString()).toBe('out1\nerr1\nout2\n');
    expect(d.stdout.toString()).toBe('out1\nout2\n');
    expect(d.stderr.toString()).toBe('err1\n');
    expect(demuxFrames(Buffer.from('plain tty output\n')).combined.toString()).toBe('plain tty output\n');
  });

  it('cpu from the difference of two samples, memory without page cache', () => {
    const s1 = usageFromStats({ cpu_stats: { cpu_usage: { total_usage: 1e9 } }, memory_stats: { usage: 50 * 2 ** 20, stats: { inactive_file: 10 * 2 ** 20 } } }, undefined, 1000);
    expect(s1).toMatchObject({ cpuMillis: 0, memoryBytes: 40 * 2 ** 20 });
    const s2 = usageFromStats({ cpu_stats: { cpu_usage: { total_usage: 1.5e9 } }, memory_stats: { usage: 2 ** 20 } }, s1.sample, 3000);
    expect(s2.cpuMillis).toBeCloseTo(250); // 0.5 s of cpu over 2 s
  });
});

describe('agents by exec', () => {
  it('the wrapper records its pid and carries a marker a restarted node agent recognises', () => {
    const cmd = agentExecCmd({ name: 'bot-1', uid: 'u-9', command: ['python', 'bot.py'], args: ['--fast'] });
    expect(cmd.slice(0, 2)).toEqual(['/bin/sh', '-c']);
    expect(cmd.slice(3)).toEqual(['drover-agent:bot-1:u-9', 'python', 'bot.py', '--fast']);
    // The engine reports the arguments after the entrypoint (/bin/sh).
    expect(parseMarker(cmd.slice(1))).toEqual({ name: 'bot-1', uid: 'u-9' });
    expect(parseMarker(['-c', 'echo hi'])).toBeUndefined();
    expect(parseMarker(['-c', 'x', 'something-else'])).toBeUndefined();
    // with the node that started it (the node watchdog fences only its own node's agents)
    const withNode = agentExecCmd({ name: 'bot-1', uid: 'u-9', command: ['python'] }, 'n1');
    expect(withNode[3]).toBe('drover-agent:bot-1:u-9:n1');
    expect(parseMarker(withNode.slice(1))).toEqual({ name: 'bot-1', uid: 'u-9', node: 'n1' });
  });

  it('exit reasons: a stop by drover is Stopped, not a failure', () => {
    expect(exitInfo(0, 't', false).reason).toBe('Completed');
    expect(exitInfo(1, 't', false)).toMatchObject({ reason: 'Error', signal: null });
    expect(exitInfo(137, 't', false)).toMatchObject({ reason: 'Killed', signal: 'SIGKILL' });
    expect(exitInfo(143, 't', true)).toMatchObject({ reason: 'Stopped', signal: 'SIGTERM' });
  });
});

describe('names', () => {
  it('a discovered container\'s object name is its Docker name as one DNS-1123 label', () => {
    expect(discoveredName('/Seeds_Host.1')).toBe('seeds-host-1');
    expect(discoveredName('/--x--')).toBe('x');
    expect(discoveredName('/' + 'a'.repeat(80))).toHaveLength(63);
  });

  it('an untagged image is pulled as :latest, never every tag', () => {
    expect(withTag('busybox')).toBe('busybox:latest');
    expect(withTag('registry:5000/team/app')).toBe('registry:5000/team/app:latest');
    expect(withTag('app:1.2')).toBe('app:1.2');
    expect(withTag('app@sha256:abc')).toBe('app@sha256:abc');
  });
});
