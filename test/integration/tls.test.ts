// `drover manager --tls` as a real process on a loopback port: the CLI over https with the CA from admin.config,
// a node agent that pins the CA through its join token (and refuses a wrong pin without sending the token),
// no plain http on the TLS port, and no plain http on a non-loopback address unless asked for.
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import {
  startManager, startNodeAgent, drover, droverStream, api, freePort, eventually, pidAlive, cleanup, tempDir,
  type ManagerProcess, type AgentProcess,
} from '../helpers/processes.ts';

const NS = 'default';
const BASE = `/apis/drover.dev/v1alpha1/namespaces/${NS}`;

let m: ManagerProcess;
let caSha256: string;
let joinToken: string;
let agent: AgentProcess;
let agentDir: string;

/** Hex SHA-256 of the DER inside a PEM certificate, computed here independently of the code under test. */
function pemSha256(pem: string): string {
  const b64 = /-----BEGIN CERTIFICATE-----([\s\S]+?)-----END CERTIFICATE-----/.exec(pem)![1].replace(/\s+/g, '');
  return createHash('sha256').update(Buffer.from(b64, 'base64')).digest('hex');
}
const run = (args: string[], input?: string) => drover(args, { config: m.configPath, input });
const ready = (o: any) => o?.status?.conditions?.find((c: { type: string }) => c.type === 'Ready');

beforeAll(async () => {
  // debug: the manager logs every request with its path, so the test can see which requests a node made
  m = await startManager({ tls: true, env: { DROVER_LOG_LEVEL: 'debug' } });
  caSha256 = pemSha256(readFileSync(join(m.dataDir, 'tls', 'ca.crt'), 'utf8'));
}, 60_000);

afterAll(async () => {
  await agent?.stop().catch(() => undefined);
  await m?.stop().catch(() => undefined);
  await cleanup();
});

describe('drover manager --tls', () => {
  it('makes a CA and a serving certificate under <data-dir>/tls, keys 0600, and an https admin.config that carries the CA', () => {
    expect(m.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    for (const f of ['ca.key', 'server.key']) expect(statSync(join(m.dataDir, 'tls', f)).mode & 0o777).toBe(0o600);
    const cfg = parse(readFileSync(m.configPath, 'utf8'));
    const ctx = cfg.contexts.find((c: { name: string }) => c.name === cfg['current-context']).context;
    expect(ctx.server).toBe(m.url);
    expect(Buffer.from(ctx['certificate-authority-data'], 'base64').toString('utf8')).toBe(readFileSync(join(m.dataDir, 'tls', 'ca.crt'), 'utf8'));
    expect(m.output()).toContain(caSha256);
  });

  it('the CLI with admin.config applies, gets and watches over https', async () => {
    const w = droverStream(['get', 'clusters', '-w'], { config: m.configPath });
    try {
      await w.waitFor(/^default\s/m);
      const applied = await run(['apply', '-f', '-'], 'apiVersion: drover.dev/v1alpha1\nkind: Cluster\nmetadata: {name: edge}\nspec: {}\n');
      expect(applied.stderr).toBe('');
      expect(applied.stdout).toMatch(/^cluster\.drover\.dev\/edge created$/m);
      await w.waitFor(/^edge\s/m);
      const got = await run(['get', 'clusters']);
      expect(got.code).toBe(0);
      expect(got.stdout).toMatch(/^edge\s/m);
    } finally {
      expect(await w.stop()).toBe(0);
    }
  });

  it('a context made with config set-context --certificate-authority FILE works; one without the CA is told why it fails', async () => {
    const config = join(tempDir('drover-tls-cfg-'), 'config');
    const set = await drover(['config', 'set-context', 'remote', '--current', '--server', m.url, '--token', m.token,
      '--certificate-authority', join(m.dataDir, 'tls', 'ca.crt')], { config });
    expect(set.code).toBe(0);
    expect(parse(readFileSync(config, 'utf8')).contexts[0].context['certificate-authority']).toBe(join(m.dataDir, 'tls', 'ca.crt'));
    const ok = await drover(['get', 'clusters'], { config });
    expect(ok.stderr).toBe('');
    expect(ok.stdout).toMatch(/^default\s/m);

    const bare = join(tempDir('drover-tls-cfg-'), 'config');
    expect((await drover(['config', 'set-context', 'bare', '--current', '--server', m.url, '--token', m.token], { config: bare })).code).toBe(0);
    const refused = await drover(['get', 'clusters'], { config: bare });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/TLS certificate .* is not trusted/);
  });

  it('join tokens carry the CA sha256; a node agent pins it, joins, becomes Ready and runs a container', async () => {
    const tok = await run(['token', 'create', '--join', '--cluster', NS]);
    expect(tok.code).toBe(0);
    joinToken = tok.stdout.trim();
    expect(joinToken).toMatch(new RegExp(`^drvj_[A-Za-z0-9_-]+\\.${caSha256}$`));

    agentDir = tempDir('drover-tls-agent-');
    agent = await startNodeAgent(m, { name: 'n1', namespace: NS, joinToken, dataDir: agentDir });
    expect(readFileSync(join(agentDir, 'ca.crt'), 'utf8')).toBe(m.ca);
    expect(m.output()).toContain('"path":"/api/v1/join"'); // the request the refused agent below must never make

    const r = await run(['apply', '-f', '-'], `apiVersion: drover.dev/v1alpha1
kind: Container
metadata: {name: sleeper, namespace: ${NS}}
spec:
  command: [/bin/sh, -c, "echo hello over tls; exec sleep 300"]
  restartPolicy: Always
`);
    expect(r.code).toBe(0);
    await eventually('sleeper Running on n1 with a live pid', async () => {
      const c = (await api(m, 'GET', `${BASE}/containers/sleeper`)).body;
      const pid = Number(/^process:\/\/(\d+)$/.exec(c?.status?.containerID ?? '')?.[1] ?? 0);
      return c.status?.phase === 'Running' && c.status?.nodeName === 'n1' && pid && pidAlive(pid);
    }, 40_000);
    const logs = await eventually('the container output shipped over https', async () => {
      const l = await run(['logs', 'sleeper']);
      return l.stdout.includes('hello over tls') ? l : undefined;
    }, 20_000);
    expect(logs.code).toBe(0);
  }, 90_000);

  it('a restarted agent keeps trusting the pinned CA without the join token', async () => {
    expect(await agent.stop()).toBe(0);
    agent = await startNodeAgent(m, { name: 'n1', namespace: NS, dataDir: agentDir });
    expect(ready((await api(m, 'GET', `${BASE}/nodes/n1`)).body)).toMatchObject({ status: 'True' });
  }, 60_000);

  it('an agent whose token pins another CA refuses to join, exits non-zero, and never sends the token', async () => {
    const last = joinToken.slice(-1);
    const bad = joinToken.slice(0, -1) + (last === '0' ? '1' : '0');
    const badPin = bad.split('.')[1];
    const logFrom = m.output().length;
    const dir = tempDir('drover-tls-bad-');
    const a = await startNodeAgent(m, { name: 'n-bad', namespace: NS, joinToken: bad, dataDir: dir, waitReady: false });
    const code = await a.exited;
    expect(code).not.toBe(0);
    expect(code).not.toBeNull();
    expect(a.output()).toMatch(/CA hash/);
    expect(a.output()).toContain(badPin);
    expect(a.output()).toContain(caSha256);
    await eventually('the CA fetch in the manager log', async () => m.output().slice(logFrom).includes('"path":"/api/v1/ca"'), 5000);
    expect(m.output().slice(logFrom)).not.toContain('"path":"/api/v1/join"');
    expect(existsSync(join(dir, 'credential.json'))).toBe(false);
    expect(existsSync(join(dir, 'ca.crt'))).toBe(false);
    expect((await api(m, 'GET', `${BASE}/nodes/n-bad`)).status).toBe(404);
  }, 60_000);

  it('answers no plain http on the TLS port, and no https to a client that lacks the CA', async () => {
    const port = new URL(m.url).port;
    await expect(fetch(`http://127.0.0.1:${port}/healthz`)).rejects.toThrow();
    await expect(fetch(`${m.url}/healthz`)).rejects.toThrow();
  });
});

describe('plain http off loopback', () => {
  it('drover manager --listen 0.0.0.0:PORT without --tls or --insecure is a usage error naming both flags', async () => {
    const port = await freePort();
    const dataDir = join(tempDir('drover-tls-insecure-'), 'data');
    const r = await drover(['manager', '--listen', `0.0.0.0:${port}`, '--data-dir', dataDir], { config: join(dataDir, 'unused'), timeoutMs: 20_000 });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--listen 0\.0\.0\.0:\d+ is not a loopback address/);
    expect(r.stderr).toContain('--tls');
    expect(r.stderr).toContain('--insecure');
    expect(existsSync(dataDir)).toBe(false);
  });
});
