// The installed kubectl (v1.32) against a real `drover manager --tls`, with the kubeconfig `drover config kubeconfig`
// prints, through the verbs users know, on the quickstart manifests. kubectl sends no bearer token over plain
// http, hence TLS. Until a node joins, everything stays Pending; `kubectl wait --for=condition=Available` is then
// made meaningful by one simulated node (`drover simulate nodes`: the real node agent code, a runtime that only
// records), on which the trading agents run so the AgentDeployment turns Available.
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { spawn } from 'node:child_process';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import {
  REPO, startManager, drover, cleanup, tempDir, track, eventually, type ManagerProcess, type CliResult,
} from '../helpers/processes.ts';

const KUBECTL = '/usr/bin/kubectl';
const QUICKSTART = join(REPO, 'manifests/quickstart');

let m: ManagerProcess;
let home: string;
let kubeconfig: string;
let sim: ReturnType<typeof spawn> | undefined;

/** Run kubectl with the drover kubeconfig and a private HOME (its discovery cache). */
function kubectl(args: string[], opts: { input?: string; env?: Record<string, string>; timeoutMs?: number } = {}): Promise<CliResult> {
  return new Promise((done) => {
    const child = track(spawn(KUBECTL, ['--kubeconfig', kubeconfig, ...args], {
      cwd: REPO, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, ...opts.env }, stdio: ['pipe', 'pipe', 'pipe'],
    }));
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const t = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    child.on('exit', (code) => {
      clearTimeout(t);
      done({ code, stdout, stderr });
    });
    child.stdin.end(opts.input ?? '');
  });
}

/** A long-running kubectl (get -w) whose output is read while it runs. */
function kubectlStream(args: string[]) {
  const child = track(spawn(KUBECTL, ['--kubeconfig', kubeconfig, ...args], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home }, stdio: ['ignore', 'pipe', 'pipe'] }));
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  return {
    stdout: () => stdout,
    waitFor: (re: RegExp) => eventually(`${re} in the output of kubectl ${args.join(' ')}`, async () => re.test(stdout), 20_000, 50)
      .catch((e: Error) => { throw new Error(`${e.message}\n--- stdout ---\n${stdout}\n--- stderr ---\n${stderr}`); }),
    stop: () => new Promise<void>((done) => {
      child.once('exit', () => done());
      child.kill('SIGINT');
    }),
  };
}

const ok = (r: CliResult) => {
  if (r.code !== 0) throw new Error(`exit ${r.code}\n--- stdout ---\n${r.stdout}\n--- stderr ---\n${r.stderr}`);
  return r.stdout;
};

/** A table without its AGE column (the two commands run a moment apart) and with runs of spaces collapsed. */
function withoutAge(table: string): string[] {
  const lines = table.trimEnd().split('\n');
  const ageAt = lines[0].search(/(?<=^|\s)AGE(?=\s|$)/);
  return lines.map((l) => (ageAt >= 0 ? l.slice(0, ageAt) + l.slice(ageAt).replace(/^\S+/, '') : l).replace(/\s+/g, ' ').trim());
}

beforeAll(async () => {
  m = await startManager({ tls: true });
  home = tempDir('drover-kubectl-home-');
  kubeconfig = join(home, 'drover.kubeconfig');
}, 60_000);

afterAll(async () => {
  const s = sim;
  if (s && s.exitCode === null) {
    await new Promise<void>((done) => {
      const t = setTimeout(() => {
        s.kill('SIGKILL');
        done();
      }, 10_000);
      s.once('exit', () => {
        clearTimeout(t);
        done();
      });
      s.kill('SIGTERM');
    });
  }
  await m?.stop().catch(() => undefined);
  await cleanup();
});

describe('kubectl against drover', () => {
  it('drover config kubeconfig prints a kubeconfig with the server, its CA, the token and the namespace', async () => {
    const r = await drover(['config', 'kubeconfig'], { config: m.configPath });
    expect(r.stderr).toBe('');
    const cfg = parse(r.stdout);
    const name = cfg['current-context'];
    expect(cfg).toMatchObject({ apiVersion: 'v1', kind: 'Config' });
    expect(cfg.clusters).toEqual([{ name, cluster: { server: m.url, 'certificate-authority-data': Buffer.from(m.ca!).toString('base64') } }]);
    expect(cfg.users).toEqual([{ name, user: { token: m.token } }]);
    expect(cfg.contexts).toEqual([{ name, context: { cluster: name, user: name, namespace: 'default' } }]);
    writeFileSync(kubeconfig, r.stdout, { mode: 0o600 });
  });

  it('discovers the drover kinds (short names, categories) and the core Namespace and Event views', async () => {
    const resources = ok(await kubectl(['api-resources']));
    expect(resources).toMatch(/^agentdeployments\s+ad\s+drover\.dev\/v1alpha1\s+true\s+AgentDeployment$/m);
    expect(resources).toMatch(/^clusters\s+dcl\s+drover\.dev\/v1alpha1\s+false\s+Cluster$/m);
    expect(resources).toMatch(/^namespaces\s+ns\s+v1\s+false\s+Namespace$/m);
    expect(resources).toMatch(/^events\s+ev\s+v1\s+true\s+Event$/m);
    expect(ok(await kubectl(['api-resources', '--categories=drover', '-o', 'name'])).split('\n').filter(Boolean).sort())
      .toEqual(['agentdeployments.drover.dev', 'agents.drover.dev', 'applysets.drover.dev', 'clusters.drover.dev', 'containers.drover.dev', 'events.drover.dev',
        'gitrepositories.drover.dev', 'nodes.drover.dev', 'tasks.drover.dev']);
    expect(ok(await kubectl(['api-versions']))).toMatch(/^drover\.dev\/v1alpha1$/m);
    const version = JSON.parse(ok(await kubectl(['version', '-o', 'json'])));
    expect(version.serverVersion.gitVersion).toBe('v0.1.0-drover');
  });

  it('applies the quickstart (client-side) and reports unchanged the second time', async () => {
    const first = ok(await kubectl(['apply', '-f', QUICKSTART]));
    expect(first.trim().split('\n')).toEqual([
      'cluster.drover.dev/demo created', 'container.drover.dev/agent-host-1 created', 'container.drover.dev/agent-host-2 created',
      'agentdeployment.drover.dev/trading created', 'container.drover.dev/db created', 'container.drover.dev/web created',
    ]);
    const second = ok(await kubectl(['apply', '-f', QUICKSTART]));
    expect(second).toMatch(/^agentdeployment\.drover\.dev\/trading unchanged$/m);
    const annotation = ok(await kubectl(['get', 'agentdeployment', 'trading', '-n', 'demo', '-o', 'jsonpath={.metadata.annotations.kubectl\\.kubernetes\\.io/last-applied-configuration}']));
    expect(JSON.parse(annotation).spec.replicas).toBe(4);
  });

  it('kubectl get prints the table drover get prints (NAME, the printer columns, AGE), with -n, -A and -o wide', async () => {
    for (const args of [['get', 'containers', '-n', 'demo'], ['get', 'agentdeployments', '-A'], ['get', 'agents', '-n', 'demo', '-o', 'wide'], ['get', 'clusters']]) {
      // controllers may still be writing status between the two snapshots: compare until they agree
      let last: [string[], string[]] = [[], []];
      await eventually(`kubectl ${args.join(' ')} to print what drover prints`, async () => {
        const [k, d] = await Promise.all([kubectl(args), drover(args, { config: m.configPath })]);
        last = [withoutAge(ok(k)), withoutAge(ok(d))];
        return JSON.stringify(last[0]) === JSON.stringify(last[1]);
      }, 10_000, 200).catch(() => undefined); // the assertion below shows the difference
      expect(last[0]).toEqual(last[1]);
    }
    const containers = ok(await kubectl(['get', 'containers', '-n', 'demo']));
    expect(containers.split('\n')[0]).toMatch(/^NAME\s+NODE\s+PHASE\s+IMAGE\s+RESTARTS\s+AGE$/);
    expect(containers).toMatch(/^web\s+<none>\s+Pending\s+example\/web:1\.0\s+<none>\s+\d+s$/m);
    expect(ok(await kubectl(['get', 'ns']))).toMatch(/^NAME\s+STATUS\s+AGE\n(?=[\s\S]*^default\s+Active\s)(?=[\s\S]*^demo\s+Active\s)/m);
    expect(ok(await kubectl(['get', 'containers', '-n', 'demo', '-o', 'jsonpath={range .items[*]}{.metadata.name}={.spec.image}{"\\n"}{end}'])))
      .toBe('agent-host-1=drover/agent-host:latest\nagent-host-2=drover/agent-host:latest\ndb=example/db:1.0\nweb=example/web:1.0\n');
    expect(ok(await kubectl(['get', 'dco', 'web', '-n', 'demo', '-o', 'name']))).toBe('container.drover.dev/web\n');
  });

  it('explains a kind from the CRD schema (OpenAPI v3)', async () => {
    const out = ok(await kubectl(['explain', 'container.spec']));
    expect(out).toMatch(/^KIND:\s+Container$/m);
    expect(out).toMatch(/^FIELD: spec <Object>$/m);
    expect(out).toMatch(/^ {2}image\t<string>\n\s+Image for the docker runtime/m);
    expect(out).toMatch(/^ {2}agentHost\t<Object>$/m);
    expect(ok(await kubectl(['explain', 'agentdeployment.spec.placement.strategy']))).toMatch(/^ENUM:\n\s+RoundRobin\n\s+LeastLoaded\n/m);
  });

  it('validates unknown fields on the server: Strict refuses them, warn warns, ignore drops them', async () => {
    const dir = tempDir('drover-kubectl-fv-');
    const file = join(dir, 'probe.yaml');
    writeFileSync(file, 'apiVersion: drover.dev/v1alpha1\nkind: AgentDeployment\nmetadata: {name: probe, namespace: demo}\nspec:\n  agentType: probe\n  replicas: 0\n  foo: bar\n  template: {command: [sleep, "1000"]}\n');
    const strict = await kubectl(['apply', '-f', file]);
    expect(strict.code).toBe(1);
    expect(strict.stderr).toMatch(/The AgentDeployment "probe" is invalid: spec\.foo: unknown field "spec\.foo"/);
    const warn = await kubectl(['apply', '-f', file, '--validate=warn']);
    expect(ok(warn)).toBe('agentdeployment.drover.dev/probe created\n');
    expect(warn.stderr).toBe('Warning: unknown field "spec.foo"\n');
    const ignore = await kubectl(['apply', '-f', '-', '--validate=ignore'], { input: readFileSync(file, 'utf8').replace('name: probe', 'name: probe2') });
    expect(ok(ignore)).toBe('agentdeployment.drover.dev/probe2 created\n');
    expect(ignore.stderr).toBe('');
    expect(ok(await kubectl(['get', 'ad', 'probe', 'probe2', '-n', 'demo', '-o', 'jsonpath={.items[*].spec}']))).not.toContain('foo');
    expect(ok(await kubectl(['delete', 'ad', 'probe', 'probe2', '-n', 'demo']))).toBe('agentdeployment.drover.dev "probe" deleted\nagentdeployment.drover.dev "probe2" deleted\n');
  });

  it('server dry runs change nothing (apply, delete)', async () => {
    const changed = readFileSync(join(QUICKSTART, '20-trading.yaml'), 'utf8').replace('replicas: 4', 'replicas: 7');
    expect(ok(await kubectl(['apply', '--dry-run=server', '-f', '-'], { input: changed }))).toBe('agentdeployment.drover.dev/trading configured (server dry run)\n');
    expect(ok(await kubectl(['delete', 'container', 'db', '-n', 'demo', '--dry-run=server']))).toBe('container.drover.dev "db" deleted (server dry run)\n');
    expect(ok(await kubectl(['get', 'ad', 'trading', '-n', 'demo', '-o', 'jsonpath={.spec.replicas}']))).toBe('4');
    expect(ok(await kubectl(['get', 'container', 'db', '-n', 'demo', '-o', 'name']))).toBe('container.drover.dev/db\n');
  });

  it('label, annotate, patch --type merge and --type json, edit (EDITOR script)', async () => {
    expect(ok(await kubectl(['label', 'container', 'web', '-n', 'demo', 'tier=frontend', '--overwrite']))).toBe('container.drover.dev/web labeled\n');
    expect(ok(await kubectl(['annotate', 'container', 'web', '-n', 'demo', 'owner=team-web']))).toBe('container.drover.dev/web annotated\n');
    expect(ok(await kubectl(['patch', 'container', 'web', '-n', 'demo', '--type', 'merge', '-p', '{"spec":{"image":"example/web:1.1"}}']))).toBe('container.drover.dev/web patched\n');
    expect(ok(await kubectl(['patch', 'container', 'web', '-n', 'demo', '--type', 'json', '-p', '[{"op":"replace","path":"/spec/image","value":"example/web:1.2"}]']))).toBe('container.drover.dev/web patched\n');
    const editor = join(tempDir('drover-kubectl-editor-'), 'editor.sh');
    writeFileSync(editor, '#!/bin/sh\nsed -i "s|image: example/web:1.2|image: example/web:2.0|" "$1"\n');
    chmodSync(editor, 0o755);
    expect(ok(await kubectl(['edit', 'container', 'web', '-n', 'demo'], { env: { EDITOR: editor, KUBE_EDITOR: editor } }))).toBe('container.drover.dev/web edited\n');
    expect(ok(await kubectl(['get', 'container', 'web', '-n', 'demo', '-o', 'jsonpath={.metadata.labels.tier} {.metadata.annotations.owner} {.spec.image}'])))
      .toBe('frontend team-web example/web:2.0');
    expect(ok(await kubectl(['get', 'containers', '-n', 'demo', '-l', 'tier=frontend', '-o', 'name']))).toBe('container.drover.dev/web\n');
  });

  it('scales an AgentDeployment through its scale subresource', async () => {
    expect(ok(await kubectl(['scale', 'agentdeployment/trading', '-n', 'demo', '--replicas=5']))).toBe('agentdeployment.drover.dev/trading scaled\n');
    expect(ok(await kubectl(['get', 'ad', 'trading', '-n', 'demo', '-o', 'jsonpath={.spec.replicas}']))).toBe('5');
    await eventually('5 agents', async () => ok(await kubectl(['get', 'agents', '-n', 'demo', '-o', 'name'])).trim().split('\n').length === 5);
  });

  it('server-side apply takes over from client-side apply, reports conflicts as Kubernetes does, and --force-conflicts takes the fields', async () => {
    // a field client-side apply set and nobody changed since moves to the server-side manager without a conflict
    const db = readFileSync(join(QUICKSTART, '30-stack.yaml'), 'utf8').split(/^---$/m)[0].replace('image: example/db:1.0', 'image: example/db:1.1');
    expect(ok(await kubectl(['apply', '--server-side', '-f', '-'], { input: db }))).toBe('container.drover.dev/db serverside-applied\n');
    expect(ok(await kubectl(['get', 'container', 'db', '-n', 'demo', '-o', 'jsonpath={.spec.image}']))).toBe('example/db:1.1');

    // web was changed by edit and label since, and its ports were defaulted (lists are atomic): those are conflicts
    const stack = join(QUICKSTART, '30-stack.yaml');
    const conflict = await kubectl(['apply', '--server-side', '-f', stack]);
    expect(conflict.code).toBe(1);
    expect(conflict.stdout).toBe('container.drover.dev/db serverside-applied\n');
    expect(conflict.stderr.split('\nPlease review')[0]).toBe([
      'error: Apply failed with 3 conflicts: conflicts with "kubectl-client-side-apply":', '- .spec.ports',
      'conflicts with "kubectl-edit":', '- .spec.image', 'conflicts with "kubectl-label":', '- .metadata.labels.tier',
    ].join('\n'));
    expect(conflict.stderr).toMatch(/re-run the apply\n\s+command with the `--force-conflicts` flag/);
    expect(ok(await kubectl(['get', 'container', 'web', '-n', 'demo', '-o', 'jsonpath={.spec.image}']))).toBe('example/web:2.0');

    expect(ok(await kubectl(['apply', '--server-side', '--force-conflicts', '-f', stack])))
      .toBe('container.drover.dev/db serverside-applied\ncontainer.drover.dev/web serverside-applied\n');
    const web = JSON.parse(ok(await kubectl(['get', 'container', 'web', '-n', 'demo', '-o', 'json', '--show-managed-fields'])));
    expect(web.spec.image).toBe('example/web:1.0');
    expect(web.metadata.labels.tier).toBe('web');
    const managers = web.metadata.managedFields.map((e: { manager: string; operation: string }) => `${e.manager}/${e.operation}`);
    expect(managers).toContain('kubectl/Apply');
    expect(managers).not.toContain('kubectl-edit/Update'); // it owned only spec.image, now taken
    // the same intent again: nothing to take, no conflict
    expect(ok(await kubectl(['apply', '--server-side', '-f', stack]))).toBe('container.drover.dev/db serverside-applied\ncontainer.drover.dev/web serverside-applied\n');
  });

  it('kubectl get -w streams Table rows as objects change', async () => {
    const w = kubectlStream(['get', 'agentdeployments', '-n', 'demo', '-w']);
    try {
      await w.waitFor(/^NAME\s+DESIRED\s+READY\s+AVAILABLE\s+STRATEGY\s+AGE\ntrading\s+5\s/m);
      ok(await kubectl(['scale', 'ad/trading', '-n', 'demo', '--replicas=6']));
      await w.waitFor(/^trading\s+6\s/m);
      expect(w.stdout().match(/^NAME\s/gm)).toHaveLength(1);
    } finally {
      await w.stop();
    }
  });

  it('shows drover Events to kubectl get events and kubectl describe', async () => {
    const events = ok(await kubectl(['get', 'events', '-n', 'demo']));
    expect(events.split('\n')[0]).toMatch(/^LAST SEEN\s+TYPE\s+REASON\s+OBJECT\s+MESSAGE$/);
    expect(events).toMatch(/^\S+\s+Warning\s+FailedScheduling\s+container\/web\s+0\/0 nodes: no nodes have joined this cluster$/m);
    expect(events).toMatch(/^\S+\s+Normal\s+ScalingUp\s+agentdeployment\/trading\s+created 4 agents \(4 desired\)$/m);
    expect(ok(await kubectl(['get', 'events', '-A']))).toMatch(/^NAMESPACE\s+LAST SEEN\s+TYPE/);
    const describe = ok(await kubectl(['describe', 'container', 'web', '-n', 'demo']));
    expect(describe).toMatch(/^Name:\s+web$/m);
    expect(describe).toMatch(/^Events:\n\s+Type\s+Reason\s+Age\s+From\s+Message\n/m);
    expect(describe).toMatch(/^\s+Warning\s+FailedScheduling\s+\S+\s+container-controller\s+0\/0 nodes: no nodes have joined this cluster$/m);
    const ns = ok(await kubectl(['describe', 'ns', 'demo']));
    expect(ns).toMatch(/^Status:\s+Active$/m);
  });

  it('kubectl wait --for=condition=Available holds until a node runs the agents', async () => {
    const available = () => kubectl(['get', 'ad', 'trading', '-n', 'demo', '-o', 'jsonpath={.status.conditions[?(@.type=="Available")].status}']);
    expect(ok(await available())).toBe('False');
    const early = await kubectl(['wait', '--for=condition=Available', 'agentdeployment/trading', '-n', 'demo', '--timeout=2s']);
    expect(early.code).toBe(1);
    expect(early.stderr).toMatch(/timed out waiting for the condition/);

    const joinToken = ok(await drover(['token', 'create', '--join', '--cluster', 'demo', '--ttl', '1h'], { config: m.configPath })).trim();
    sim = track(spawn(process.execPath, ['--disable-warning=ExperimentalWarning', join(REPO, 'cli/main.ts'), 'simulate', 'nodes', '--count', '1',
      '--server', m.url, '--join-token', joinToken, '--prefix', 'sim'], { cwd: REPO, stdio: 'ignore' }));
    const waited = await kubectl(['wait', '--for=condition=Available', 'agentdeployment/trading', '-n', 'demo', '--timeout=60s'], { timeoutMs: 70_000 });
    expect(ok(waited)).toBe('agentdeployment.drover.dev/trading condition met\n');
    expect(ok(await available())).toBe('True');
    expect(ok(await kubectl(['get', 'agents', '-n', 'demo', '-o', 'jsonpath={.items[*].status.phase}']))).toMatch(/Running/);
  }, 90_000);

  it('deletes what it applied', async () => {
    const out = ok(await kubectl(['delete', '-f', join(QUICKSTART, '30-stack.yaml'), '--timeout=60s'], { timeoutMs: 70_000 }));
    expect(out).toBe('container.drover.dev "db" deleted\ncontainer.drover.dev "web" deleted\n');
    const gone = await kubectl(['get', 'container', 'web', '-n', 'demo']);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toBe('Error from server (NotFound): containers.drover.dev "web" not found\n');
  }, 90_000);
});
