// From outside a real manager: writes past a token's rate limit get 429 with Retry-After, and
// <data-dir>/audit.log holds one JSON line per write and per denial, without any token text.
import { describe, it, expect, afterAll } from '@jest/globals';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { startManager, api, cleanup } from '../helpers/processes.ts';

afterAll(cleanup);

const BASE = '/apis/drover.dev/v1alpha1/namespaces/default/containers';
const container = (name: string) => ({ apiVersion: 'drover.dev/v1alpha1', kind: 'Container', metadata: { name }, spec: { image: 'x' } });

describe('audit log and rate limit', () => {
  it('throttles a flood of writes with 429 + Retry-After and audits writes and denials', async () => {
    const m = await startManager({ extraArgs: ['--rate-limit', '2,4'] });
    expect((await api(m, 'POST', BASE, container('audited'))).status).toBe(201);
    expect((await api(m, 'DELETE', `${BASE}/audited`)).status).toBe(200);
    // forbidden, even for the admin: only the node agent running a container may push its log
    expect((await api(m, 'POST', BASE, container('logged'))).status).toBe(201);
    const denied = await fetch(`${m.url}${BASE}/logged/log`, { method: 'POST', headers: { authorization: `Bearer ${m.token}`, 'content-type': 'text/plain' }, body: 'hello' });
    expect(denied.status).toBe(403);
    const unauthenticated = await fetch(`${m.url}${BASE}`, { method: 'POST', headers: { authorization: 'Bearer drv_wrong', 'content-type': 'application/json' }, body: '{}' });
    expect(unauthenticated.status).toBe(401);

    // 30 writes at once: the bucket (burst 4, then 2/s, a waiting request at most 1 s) refuses most
    const flood = await Promise.all(Array.from({ length: 30 }, (_, i) => fetch(`${m.url}${BASE}`, {
      method: 'POST', headers: { authorization: `Bearer ${m.token}`, 'content-type': 'application/json' }, body: JSON.stringify(container(`flood-${i}`)),
    }).then(async (r) => ({ status: r.status, retryAfter: r.headers.get('retry-after'), body: await r.json() }))));
    const throttled = flood.filter((r) => r.status === 429);
    expect(throttled.length).toBeGreaterThan(15);
    expect(flood.filter((r) => r.status !== 429).every((r) => r.status === 201)).toBe(true);
    for (const r of throttled) {
      expect(Number(r.retryAfter)).toBeGreaterThanOrEqual(1);
      expect(r.body).toMatchObject({ kind: 'Status', code: 429, reason: 'TooManyRequests', message: expect.stringMatching(/^too many requests: admin "admin" may send 2 writes per second \(burst 4\); retry after \d+s$/) });
    }
    // reads are never throttled
    expect((await api(m, 'GET', BASE)).status).toBe(200);

    const path = join(m.dataDir, 'audit.log');
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const text = readFileSync(path, 'utf8');
    expect(text).not.toContain(m.token);
    expect(text).not.toContain('drv_wrong');
    const lines = text.trim().split('\n').map((l) => JSON.parse(l));
    const find = (verb: string, code: number, name?: string) => lines.find((l) => l.verb === verb && l.code === code && (name === undefined || l.name === name));
    const who = { name: 'admin', role: 'admin' };
    expect(find('create', 201, 'audited')).toMatchObject({ user: who, method: 'POST', resource: { group: 'drover.dev', resource: 'containers' }, namespace: 'default', sourceIP: expect.stringContaining('127.0.0.1'), requestID: expect.any(String), userAgent: expect.any(String), time: expect.any(String) });
    expect(find('delete', 200, 'audited')).toMatchObject({ user: who, namespace: 'default', resource: { resource: 'containers' } });
    expect(find('create', 403, 'logged')).toMatchObject({ user: who, resource: { resource: 'containers', subresource: 'log' }, namespace: 'default' });
    expect(lines.find((l) => l.code === 401)).toMatchObject({ user: { name: 'system:anonymous' }, method: 'POST' });
    expect(lines.filter((l) => l.code === 429)).toHaveLength(throttled.length);
    expect(lines.filter((l) => l.method === 'GET')).toEqual([]); // reads that succeed are not audited
  }, 60_000);
});
