import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import winston from 'winston';
import { BASE, TOKENS, agentDeployment, cluster, startApi } from './api-harness.ts';
import type { Harness } from './api-harness.ts';
import { bearerToken, ensureAdminToken, openTokenStore } from '../../api/auth.ts';

const AD = `${BASE}/namespaces/demo/agentdeployments`;

describe('authentication and authorization', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startApi();
    await h.call('POST', `${BASE}/clusters`, cluster('demo'));
    await h.call('POST', `${BASE}/clusters`, cluster('other'));
    await h.call('POST', AD, agentDeployment('existing'));
  });
  afterAll(async () => {
    await h.close();
  });

  it.each([
    ['no token', null, /send a bearer token/],
    ['an unknown token', 'drv_nope', /not valid/],
  ])('answers 401 to %s', async (_name, token, message) => {
    const res = await h.call('GET', AD, undefined, { token });
    expect(res.status).toBe(401);
    expect(res.body).toMatchObject({ kind: 'Status', reason: 'Unauthorized', code: 401 });
    expect(res.body.message).toMatch(message);
    expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
  });

  it('requires a token for /metrics and discovery', async () => {
    expect((await h.call('GET', '/metrics', undefined, { token: null })).status).toBe(401);
    expect((await h.call('GET', '/apis', undefined, { token: null })).status).toBe(401);
  });

  it('lets a viewer read', async () => {
    expect((await h.call('GET', AD, undefined, { token: TOKENS.viewer })).status).toBe(200);
    expect((await h.call('GET', `${AD}/existing`, undefined, { token: TOKENS.viewer })).status).toBe(200);
  });

  it.each([
    ['create', 'POST', AD, agentDeployment('v'), 'viewer "victor" cannot create agentdeployments.drover.dev in namespace "demo"'],
    ['patch', 'PATCH', `${AD}/existing`, { spec: { replicas: 0 } }, 'viewer "victor" cannot patch agentdeployments.drover.dev in namespace "demo"'],
    ['status update', 'PUT', `${AD}/existing/status`, agentDeployment('existing'), 'viewer "victor" cannot update agentdeployments.drover.dev/status in namespace "demo"'],
    ['delete a Cluster', 'DELETE', `${BASE}/clusters/demo`, undefined, 'viewer "victor" cannot delete clusters.drover.dev at the cluster scope'],
  ])('answers 403 to a viewer that tries to %s', async (_name, method, path, body, message) => {
    const res = await h.call(method, path, body, { token: TOKENS.viewer });
    expect(res.status).toBe(403);
    expect(res.body).toMatchObject({ kind: 'Status', reason: 'Forbidden', message });
    expect((await h.call('GET', `${AD}/existing`)).body.spec.replicas).toBe(2);
  });

  it('keeps a cluster-bound token inside its Cluster', async () => {
    const token = TOKENS.demoOperator;
    expect((await h.call('POST', AD, agentDeployment('mine'), { token })).status).toBe(201);
    expect((await h.call('GET', `${BASE}/clusters/demo`, undefined, { token })).status).toBe(200);
    const other = await h.call('GET', `${BASE}/namespaces/other/agentdeployments`, undefined, { token });
    expect(other.status).toBe(403);
    expect(other.body.message).toMatch(/limited to cluster "demo"/);
    expect((await h.call('GET', `${BASE}/agentdeployments`, undefined, { token })).status).toBe(403);
    expect((await h.call('GET', `${BASE}/clusters/other`, undefined, { token })).status).toBe(403);
  });

  it('exports request, store and process-free metrics', async () => {
    await h.call('GET', `${AD}/existing`);
    const res = await h.call('GET', '/metrics');
    expect(res.status).toBe(200);
    expect(res.text).toMatch(/drover_api_requests_total\{verb="get",resource="agentdeployments",code="200"\} \d+/);
    expect(res.text).toMatch(/drover_api_requests_total\{verb="create",resource="agentdeployments",code="403"\} \d+/);
    expect(res.text).toMatch(/drover_api_request_duration_seconds_bucket\{le="[^"]+",verb="get",resource="agentdeployments"\}/);
    expect(res.text).toMatch(/drover_store_operations_total\{op="get",resource="agentdeployments.drover.dev"\} \d+/);
    expect(res.text).toMatch(/drover_store_operation_duration_seconds_count\{op="create",resource="clusters.drover.dev"\} \d+/);
  });
});

describe('request logging', () => {
  it('logs one line per request with method, path, code and ms, never the token', async () => {
    const lines: string[] = [];
    const logger = winston.createLogger({
      level: 'debug', format: winston.format.json(),
      transports: [new winston.transports.Stream({ stream: new (await import('node:stream')).Writable({
        write(chunk, _enc, cb) { lines.push(String(chunk)); cb(); },
      }) })],
    });
    const h = await startApi({ logger });
    try {
      await h.call('GET', `${BASE}/clusters?labelSelector=a`, undefined, { token: TOKENS.admin });
      await h.call('GET', `${BASE}/clusters`, undefined, { token: 'drv_secret_value' });
    } finally {
      await h.close();
    }
    const entries = lines.map((l) => JSON.parse(l));
    expect(entries).toEqual(expect.arrayContaining([
      expect.objectContaining({ level: 'debug', message: 'request', method: 'GET', path: `${BASE}/clusters`, code: 200, user: 'alice', ms: expect.any(Number) }),
      expect.objectContaining({ level: 'debug', message: 'request', code: 401 }),
    ]));
    expect(lines.join('\n')).not.toMatch(/admin-token|drv_secret_value/);
  });
});

describe('internal errors', () => {
  it('answer a 500 Status and are logged at error with their cause', async () => {
    const lines: string[] = [];
    const logger = winston.createLogger({
      level: 'info', format: winston.format.json(),
      transports: [new winston.transports.Stream({ stream: new (await import('node:stream')).Writable({
        write(chunk, _enc, cb) { lines.push(String(chunk)); cb(); },
      }) })],
    });
    const broken = { admit: () => { throw new Error('validator exploded', { cause: new Error('disk gone') }); } };
    const h = await startApi({ logger, validator: broken });
    let res;
    try {
      res = await h.call('POST', `${BASE}/clusters`, cluster('boom'));
    } finally {
      await h.close();
    }
    expect(res.status).toBe(500);
    expect(res.body).toMatchObject({ kind: 'Status', reason: 'InternalError', code: 500, message: 'internal error: validator exploded' });
    const errors = lines.map((l) => JSON.parse(l)).filter((e) => e.level === 'error');
    expect(errors).toEqual(expect.arrayContaining([
      expect.objectContaining({ message: 'unhandled error', cause: expect.stringMatching(/disk gone/) }),
      expect.objectContaining({ message: 'request failed', method: 'POST', path: `${BASE}/clusters`, code: 500 }),
    ]));
  });
});

describe('readiness', () => {
  it('/readyz answers 503 once the store is closed', async () => {
    const h = await startApi();
    try {
      expect((await h.call('GET', '/readyz', undefined, { token: null })).status).toBe(200);
      await h.store.close();
      const res = await h.call('GET', '/readyz', undefined, { token: null });
      expect(res.status).toBe(503);
    } finally {
      await h.close();
    }
  });
});

describe('token store', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'drover-tokens-'));
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('creates tokens, stores only their hashes with mode 0600, and revokes them', () => {
    const tokens = openTokenStore(dir);
    const { token, id } = tokens.create({ role: 'viewer', cluster: 'demo', description: 'dashboards' });
    expect(token).toMatch(/^drv_[A-Za-z0-9_-]{43}$/);
    expect(tokens.authenticate(token)).toEqual({ name: `viewer-${id}`, role: 'viewer', cluster: 'demo' });
    expect(tokens.authenticate(token + 'x')).toBeUndefined();
    const file = readFileSync(tokens.path, 'utf8');
    expect(file).not.toContain(token);
    expect(statSync(tokens.path).mode & 0o777).toBe(0o600);
    expect(tokens.list()).toEqual([expect.objectContaining({ id, role: 'viewer', cluster: 'demo', description: 'dashboards' })]);
    expect(JSON.stringify(tokens.list())).not.toMatch(/sha256/);

    // a second process opening the same dir sees the token
    expect(openTokenStore(dir).authenticate(token)?.role).toBe('viewer');
    expect(tokens.revoke(id)).toBe(true);
    expect(tokens.revoke(id)).toBe(false);
    expect(tokens.authenticate(token)).toBeUndefined();
    expect(openTokenStore(dir).authenticate(token)).toBeUndefined();
  });

  it('ensureAdminToken creates one admin token on first start and reuses it later', () => {
    const d = join(dir, 'admin');
    const first = ensureAdminToken(openTokenStore(d), () => undefined);
    expect(first.created).toBe(true);
    const again = ensureAdminToken(openTokenStore(d), () => first.token);
    expect(again).toEqual({ token: first.token, created: false });
    expect(openTokenStore(d).list().filter((t) => t.role === 'admin')).toHaveLength(1);
    // a lost or tampered admin.config gets a fresh admin token
    const replaced = ensureAdminToken(openTokenStore(d), () => 'drv_forged');
    expect(replaced.created).toBe(true);
    expect(openTokenStore(d).authenticate(replaced.token)?.role).toBe('admin');
  });

  it('refuses an unknown role', () => {
    expect(() => openTokenStore(dir).create({ role: 'root' as 'admin' })).toThrow(/unknown role "root"/);
  });

  it('fails loudly on a corrupt tokens file', () => {
    const d = join(dir, 'corrupt');
    openTokenStore(d);
    writeFileSync(join(d, 'tokens.json'), '{not json');
    expect(() => openTokenStore(d)).toThrow();
  });

  it.each([
    ['Bearer abc', 'abc'],
    ['bearer abc ', 'abc'],
    ['Basic abc', undefined],
    ['Bearer', undefined],
    [undefined, undefined],
  ])('bearerToken(%j) = %j', (header, want) => {
    expect(bearerToken(header)).toBe(want);
  });
});
