// Input hardening of the API in-process: names from URLs, hostPath policy, secret env values in
// Events, nesting and patch limits, the audit log and the per-principal rate limit.
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { openSqliteStore } from '../../store/sqlite-store.ts';
import type { Store } from '../../core/store.ts';
import type { AuditRecord, AuditSink } from '../../api/audit.ts';
import { BASE, TOKENS, cluster, startApi, type Harness } from './api-harness.ts';

function container(name: string, spec: Record<string, unknown>, namespace = 'demo') {
  return { apiVersion: 'drover.dev/v1alpha1', kind: 'Container', metadata: { name, namespace }, spec: { image: 'x', ...spec } };
}

describe('API input hardening', () => {
  let h: Harness;
  const records: AuditRecord[] = [];
  const storeCalls: string[] = [];
  let spied: Store;

  beforeAll(async () => {
    const real = await openSqliteStore({ path: ':memory:' });
    // every store method the API calls, so a test can prove a request never reached the store
    spied = new Proxy(real, {
      get(target, prop, receiver) {
        const v = Reflect.get(target, prop, receiver);
        if (typeof v !== 'function') return v;
        return (...args: unknown[]) => {
          storeCalls.push(`${String(prop)} ${args.filter((a) => typeof a === 'string').join(' ')}`);
          return (v as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    }) as Store;
    const audit: AuditSink = { write: (r) => void records.push(r), close: () => {} };
    h = await startApi({ store: spied, audit });
    expect((await h.call('POST', `${BASE}/clusters`, cluster('demo'))).status).toBe(201);
  });
  afterAll(async () => {
    await h.close();
    await spied.close();
  });

  describe('names in URLs', () => {
    it.each([
      // (fetch itself resolves a bare `..` or `%2e%2e` segment; the bad-input suite sends those raw)
      ['...', '.%2E.'], ['../x', '..%2Fx'], ['a/b', 'a%2Fb'], ['Cyrillic а', '%D0%B0bc'], ['zero-width space', 'web%E2%80%8B'], ['NUL', 'a%00b'], ['upper case', 'Web'],
    ])('a name with %s is a 400 that never reaches the store', async (_what, encoded) => {
      storeCalls.length = 0;
      const r = await h.call('GET', `${BASE}/namespaces/demo/containers/${encoded}`);
      expect(r.status).toBe(400);
      expect(r.body).toMatchObject({ kind: 'Status', reason: 'BadRequest' });
      expect(r.body.message).toMatch(/^invalid name ".*" in the request: a lowercase RFC 1123 subdomain/);
      expect(storeCalls.filter((c) => c.includes('containers'))).toEqual([]);
    });

    it('checks namespaces (DNS-1123 labels) and Cluster names the same way', async () => {
      expect((await h.call('GET', `${BASE}/namespaces/..%2F..%2Fetc/containers`)).body.message).toMatch(/^invalid namespace "..\/..\/etc"/);
      expect((await h.call('GET', `${BASE}/clusters/a.b`)).body.message).toMatch(/^invalid name "a.b" in the request: a lowercase RFC 1123 label/);
      expect((await h.call('GET', '/api/v1/tasks?namespace=..')).status).toBe(400);
      expect((await h.call('GET', '/api/v1/tasks/..%2Fx')).status).toBe(400);
    });
  });

  describe('hostPath volumes', () => {
    it('are refused while the Cluster allows none, naming the field and how to allow them', async () => {
      const r = await h.call('POST', `${BASE}/namespaces/demo/containers`, container('c1', { volumes: [{ name: 'v', hostPath: '/srv/data/x', mountPath: '/m' }] }));
      expect(r.status).toBe(422);
      expect(r.body.message).toBe('Container.drover.dev "c1" is invalid: spec.volumes[0].hostPath: Forbidden: "/srv/data/x" is not under Cluster.spec.policy.allowedHostPaths []: '
        + 'cluster "demo" allows no host paths; set Cluster.spec.policy.allowedHostPaths (e.g. ["/srv/data"]) to allow some');
      expect(r.body.details.causes).toEqual([expect.objectContaining({ reason: 'FieldValueForbidden', field: 'spec.volumes[0].hostPath' })]);
    });

    it('are admitted under an allowed prefix, segment by segment and normalized only', async () => {
      expect((await h.call('PATCH', `${BASE}/clusters/demo`, { spec: { policy: { allowedHostPaths: ['/srv/data', '/opt/app/'] } } })).status).toBe(200);
      const vol = (hostPath: string) => ({ volumes: [{ name: 'v', hostPath, mountPath: '/m' }] });
      const cases: Array<[string, number, RegExp?]> = [
        ['/srv/data', 201], ['/srv/data/a/b', 201], ['/opt/app/x/', 201],
        ['/srv/database', 422, /not under Cluster.spec.policy.allowedHostPaths \[\/srv\/data, \/opt\/app\/\]/],
        ['/srv/data/../../etc', 422, /must be normalized \(no "\." or "\.\." segments\)/],
        ['/srv/data//x', 422, /must be normalized \(no "\/\/"\)/],
        ['srv/data', 422, /must be an absolute path/],
        ['/etc', 422, /Forbidden: "\/etc" is not under/],
      ];
      for (const [i, [path, code, message]] of cases.entries()) {
        const r = await h.call('POST', `${BASE}/namespaces/demo/containers`, container(`v${i}`, vol(path)));
        expect([path, r.status]).toEqual([path, code]);
        if (message) expect(r.body.message).toMatch(message);
      }
      // an update that adds a forbidden path is refused as well
      const patched = await h.call('PATCH', `${BASE}/namespaces/demo/containers/v0`, { spec: vol('/var/run/docker.sock') });
      expect(patched.status).toBe(422);
      expect(patched.body.message).toMatch(/spec\.volumes\[0\]\.hostPath: Forbidden: "\/var\/run\/docker.sock"/);
    });
  });

  it('scrubs a secret env value of the involved object from Event messages', async () => {
    const c = container('holder', { env: [{ name: 'TOKEN', value: 'hunter2-secret', secret: true }, { name: 'PLAIN', value: 'visible-value' }] });
    expect((await h.call('POST', `${BASE}/namespaces/demo/containers`, c)).status).toBe(201);
    const ev = {
      apiVersion: 'drover.dev/v1alpha1', kind: 'Event', metadata: { name: 'holder.1', namespace: 'demo' },
      involvedObject: { kind: 'Container', name: 'holder', namespace: 'demo' }, reason: 'Failed', type: 'Warning',
      message: 'exec failed: TOKEN=hunter2-secret PLAIN=visible-value',
    };
    const r = await h.call('POST', `${BASE}/namespaces/demo/events`, ev);
    expect(r.status).toBe(201);
    expect(r.body.message).toBe('exec failed: TOKEN=<redacted> PLAIN=visible-value');
    // the stored Container keeps the real value: get returns what was stored, as kubectl does
    expect((await h.call('GET', `${BASE}/namespaces/demo/containers/holder`)).body.spec.env[0]).toEqual({ name: 'TOKEN', value: 'hunter2-secret', secret: true });
  });

  describe('sizes and nesting', () => {
    it('refuses JSON nested deeper than 64 levels before parsing it', async () => {
      const deep = '{"a":'.repeat(70) + '{}' + '}'.repeat(70);
      const r = await h.call('POST', `${BASE}/namespaces/demo/containers`, undefined, { rawBody: deep });
      expect(r.status).toBe(400);
      expect(r.body.message).toMatch(/^request body nests objects and arrays deeper than the limit of 64 levels \(at byte \d+\)$/);
      const arrays = '['.repeat(200_000);
      expect((await h.call('POST', `${BASE}/namespaces/demo/containers`, undefined, { rawBody: arrays })).status).toBe(400);
    });

    it('refuses a JSON patch that copies its way past the limits', async () => {
      expect((await h.call('POST', `${BASE}/namespaces/demo/containers`, container('patched', {}))).status).toBe(201);
      const doubling = [{ op: 'add', path: '/metadata/annotations', value: { a: 'x'.repeat(1000) } },
        ...Array.from({ length: 30 }, (_, i) => ({ op: 'copy', from: '/metadata/annotations', path: `/metadata/annotations/${'b'.repeat(i + 1)}` }))];
      const r = await h.call('PATCH', `${BASE}/namespaces/demo/containers/patched`, doubling, { contentType: 'application/json-patch+json' });
      expect(r.status).toBe(422);
      expect(r.body.message).toMatch(/copy operations would duplicate more than 4194304 bytes/);
      const nesting = [{ op: 'add', path: '/metadata/annotations', value: {} },
        ...Array.from({ length: 80 }, () => ({ op: 'copy', from: '/metadata/annotations', path: '/metadata/annotations/a' }))];
      const n = await h.call('PATCH', `${BASE}/namespaces/demo/containers/patched`, nesting, { contentType: 'application/json-patch+json' });
      expect([n.status, n.body.message]).toEqual([422, expect.stringMatching(/the patched object nests deeper than the limit of 64 levels/)]);
    });

    it('bounds integers and list sizes from the CRDs', async () => {
      const ad = { apiVersion: 'drover.dev/v1alpha1', kind: 'AgentDeployment', metadata: { name: 'many', namespace: 'demo' }, spec: { agentType: 't', replicas: 1e308, template: {} } };
      const r = await h.call('POST', `${BASE}/namespaces/demo/agentdeployments`, ad);
      expect([r.status, r.body.message]).toEqual([422, expect.stringContaining('spec.replicas: Invalid value: 1e+308: must be less than or equal to 10000')]);
      const big = await h.call('POST', `${BASE}/namespaces/demo/containers`, container('big', { command: Array.from({ length: 300 }, () => 'a'), env: [{ name: 'E', value: 'v'.repeat(32 * 1024 + 1) }] }));
      expect(big.status).toBe(422);
      expect(big.body.details.causes.map((c: { field: string }) => c.field).sort()).toEqual(['spec.command', 'spec.env[0].value']);
      const grace = await h.call('POST', `${BASE}/namespaces/demo/containers`, container('grace', { terminationGracePeriodSeconds: 2 ** 60 }));
      expect(grace.body.message).toMatch(/terminationGracePeriodSeconds: Invalid value: .*: must be less than or equal to 9007199254740991/);
    });

    it.each([
      ['limit=1e20', /^limit must be a non-negative integer/], ['limit=99999999999999999999', /^limit must be at most 9007199254740991/],
      ['resourceVersion=abc', /^resourceVersion must be a revision/], ['watch=true&timeoutSeconds=1e5', /^timeoutSeconds must be a non-negative number of seconds/],
    ])('refuses list query %s with a 400', async (query, message) => {
      const r = await h.call('GET', `${BASE}/namespaces/demo/containers?${query}`);
      expect([r.status, r.body.message]).toEqual([400, expect.stringMatching(message)]);
    });

    it('takes a limit larger than anything as no limit', async () => {
      const r = await h.call('GET', `${BASE}/namespaces/demo/containers?limit=9007199254740991`);
      expect(r.status).toBe(200);
      expect(r.body.metadata.continue).toBeUndefined();
    });
  });

  describe('audit log', () => {
    it('records writes and denials with who, what and where, never the token', async () => {
      records.length = 0;
      expect((await h.call('POST', `${BASE}/namespaces/demo/containers`, container('audited', {}))).status).toBe(201);
      expect((await h.call('GET', `${BASE}/namespaces/demo/containers/audited`)).status).toBe(200);
      expect((await h.call('DELETE', `${BASE}/namespaces/demo/containers/audited`, undefined, { token: TOKENS.viewer })).status).toBe(403);
      expect((await h.call('GET', `${BASE}/namespaces/demo/containers`, undefined, { token: null })).status).toBe(401);
      expect((await h.call('DELETE', `${BASE}/namespaces/demo/containers/audited`)).status).toBe(200);
      expect(records.map((r) => [r.verb, r.code, r.user.name])).toEqual([
        ['create', 201, 'alice'], ['delete', 403, 'victor'], ['get', 401, 'system:anonymous'], ['delete', 200, 'alice'],
      ]);
      expect(records[0]).toEqual({
        time: expect.stringMatching(/^\d{4}-\d\d-\d\dT/), requestID: expect.stringMatching(/^[0-9a-f-]{36}$/),
        user: { name: 'alice', role: 'admin' }, verb: 'create', resource: { group: 'drover.dev', resource: 'containers' },
        namespace: 'demo', name: 'audited', code: 201, method: 'POST', path: `${BASE}/namespaces/demo/containers`,
        sourceIP: expect.stringMatching(/127\.0\.0\.1/), userAgent: expect.any(String),
      });
      expect(records[1]).toMatchObject({ user: { name: 'victor', role: 'viewer' }, namespace: 'demo', name: 'audited', resource: { resource: 'containers' } });
      const text = JSON.stringify(records);
      for (const t of Object.values(TOKENS)) expect(text).not.toContain(t);
    });

    it('answers with the request id it recorded, taking a sane one from the client', async () => {
      records.length = 0;
      const r = await fetch(`${h.url}${BASE}/namespaces/demo/containers/nope`, { method: 'DELETE', headers: { authorization: `Bearer ${TOKENS.admin}`, 'x-request-id': 'trace-42' } });
      expect(r.status).toBe(404);
      expect(r.headers.get('x-request-id')).toBe('trace-42');
      expect(records.map((x) => [x.requestID, x.code])).toEqual([['trace-42', 404]]);
      const odd = await fetch(`${h.url}${BASE}/namespaces/demo/containers`, { headers: { authorization: `Bearer ${TOKENS.admin}`, 'x-request-id': `${'x'.repeat(200)}` } });
      expect(odd.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    });
  });
});

describe('rate limit', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startApi({ rateLimit: { qps: 1, burst: 2, maxDelayMs: 0 } });
    await h.store.create('clusters.drover.dev', cluster('demo'));
  });
  afterAll(() => h.close());

  it('answers 429 with Retry-After past a principal\'s burst of writes; reads and other principals go on', async () => {
    const post = (name: string, token?: string) => h.call('POST', `${BASE}/namespaces/demo/containers`, container(name, {}), { token });
    expect((await post('r1')).status).toBe(201);
    expect((await post('r2')).status).toBe(201);
    const third = await post('r3');
    expect(third.status).toBe(429);
    expect(Number(third.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(third.body).toMatchObject({ kind: 'Status', reason: 'TooManyRequests', code: 429, details: { retryAfterSeconds: expect.any(Number) } });
    expect(third.body.message).toMatch(/^too many requests: admin "alice" may send 1 writes per second \(burst 2\); retry after \ds$/);
    expect((await h.call('GET', `${BASE}/namespaces/demo/containers`)).status).toBe(200);
    // another principal has its own bucket (the viewer is refused by authorization, not by the limit)
    expect((await post('r4', TOKENS.viewer)).status).toBe(403);
  });
});
