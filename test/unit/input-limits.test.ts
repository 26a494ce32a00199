import { describe, it, expect, afterAll } from '@jest/globals';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jsonDepthExceededAt, valueDepthExceededAt } from '../../core/input-limits.ts';
import { hostPathProblem, isUnder, hostPathCauses } from '../../api/host-path-policy.ts';
import { openAuditFile, targetFromPath, type AuditRecord } from '../../api/audit.ts';
import { applyJsonPatch } from '../../core/patch.ts';
import type { KubeObject } from '../../core/types.ts';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

describe('nesting depth', () => {
  it.each([
    ['{}', 1, -1], ['[[[]]]', 3, -1], ['[[[]]]', 2, 2], ['{"a":{"b":[1]}}', 2, 10],
    ['"[[[[[["', 1, -1], ['{"a":"\\"[[[["}', 1, -1], ['[{"x":"]"},[[]]]', 2, 12],
  ])('jsonDepthExceededAt(%j, %d) = %d', (text, max, at) => {
    expect(jsonDepthExceededAt(text, max)).toBe(at);
  });

  it('finds the path of a value nested too deep, without recursion', () => {
    expect(valueDepthExceededAt({ a: [{ b: 1 }] }, 3)).toBeUndefined();
    expect(valueDepthExceededAt({ a: [{ b: {} }] }, 3)).toBe('a[0].b');
    let deep: unknown = {};
    for (let i = 0; i < 200_000; i++) deep = [deep];
    expect(valueDepthExceededAt(deep)).toMatch(/^(\[0\]){64}$/);
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    expect(valueDepthExceededAt(cycle, 5)).toBe('self.self.self.self.self');
  });
});

describe('hostPath policy', () => {
  it.each([
    ['/srv/data', undefined], ['/srv/data/', undefined], ['/', undefined],
    ['srv', 'must be an absolute path'], ['', 'must be an absolute path'], ['/a//b', 'must be normalized (no "//")'],
    ['/a/../b', 'must be normalized (no "." or ".." segments)'], ['/a/./b', 'must be normalized (no "." or ".." segments)'],
    ['/a/..', 'must be normalized (no "." or ".." segments)'], ['/a\u0000', 'must not contain NUL'], ['/a/..b/c', undefined],
  ])('hostPathProblem(%j) = %j', (path, problem) => {
    expect(hostPathProblem(path)).toBe(problem);
  });

  it.each([
    ['/srv/data', '/srv/data', true], ['/srv/data/x', '/srv/data', true], ['/srv/data/x', '/srv/data/', true], ['/anything', '/', true],
    ['/srv/database', '/srv/data', false], ['/srv', '/srv/data', false], ['/srv/data/x', 'srv/data', false], ['/srv/data/x', '/srv/../srv/data', false],
  ])('isUnder(%j, %j) = %s', (path, prefix, want) => {
    expect(isUnder(path, prefix)).toBe(want);
  });

  it('names each refused volume by index', () => {
    const c = { apiVersion: 'drover.dev/v1alpha1', kind: 'Container', metadata: { name: 'c', namespace: 'ns' },
      spec: { volumes: [{ name: 'a', volume: 'named' }, { name: 'b', hostPath: '/ok/x' }, { name: 'c', hostPath: '/etc' }] } } as KubeObject;
    const cl = { apiVersion: 'drover.dev/v1alpha1', kind: 'Cluster', metadata: { name: 'ns' }, spec: { policy: { allowedHostPaths: ['/ok'] } } } as KubeObject;
    expect(hostPathCauses(c, cl)).toEqual([{ reason: 'FieldValueForbidden', field: 'spec.volumes[2].hostPath',
      message: 'Forbidden: "/etc" is not under Cluster.spec.policy.allowedHostPaths [/ok]: add a prefix to Cluster.spec.policy.allowedHostPaths of cluster "ns" to allow it' }]);
  });
});

describe('JSON patch copies', () => {
  it('are bounded in total size', () => {
    const ops = [{ op: 'add', path: '/a', value: { s: 'x'.repeat(100_000) } },
      ...Array.from({ length: 60 }, (_, i) => ({ op: 'copy', from: '/a', path: `/a/c${i}` }))];
    expect(() => applyJsonPatch({}, ops)).toThrow(/json patch operation \d+ \(copy \/a\/c\d+\): copy operations would duplicate more than 4194304 bytes/);
  });
});

describe('audit file', () => {
  const record = (i: number): AuditRecord => ({
    time: '2026-01-01T00:00:00.000Z', requestID: `r${i}`, user: { name: 'alice', role: 'admin' }, verb: 'create',
    resource: { group: 'drover.dev', resource: 'containers' }, namespace: 'demo', name: `c${i}`, code: 201,
    method: 'POST', path: '/x', sourceIP: '127.0.0.1', userAgent: 'test',
  });

  it('appends JSON lines to a 0600 file and rotates it, keeping `keep` old files', () => {
    const dir = mkdtempSync(join(tmpdir(), 'drover-audit-'));
    dirs.push(dir);
    const path = join(dir, 'audit.log');
    writeFileSync(path, '', { mode: 0o644 });
    const sink = openAuditFile(path, { maxBytes: 1000, keep: 2 });
    for (let i = 0; i < 40; i++) sink.write(record(i));
    sink.close();
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(readdirSync(dir).sort()).toEqual(['audit.log', 'audit.log.1', 'audit.log.2']);
    const lines = [path, `${path}.1`, `${path}.2`].flatMap((p) => readFileSync(p, 'utf8').trim().split('\n'));
    for (const p of [path, `${path}.1`, `${path}.2`]) expect(statSync(p).size).toBeLessThanOrEqual(1000);
    const kept = lines.map((l) => JSON.parse(l).requestID);
    expect(kept).toContain('r39');
    expect(kept).not.toContain('r0'); // rotated away
    // reopened, it appends
    const again = openAuditFile(path, { maxBytes: 1000, keep: 2 });
    again.write(record(99));
    again.close();
    expect(readFileSync(path, 'utf8').trim().split('\n').pop()).toContain('"requestID":"r99"');
  });

  it.each([
    ['/apis/drover.dev/v1alpha1/namespaces/demo/containers/web/status', { group: 'drover.dev', resource: 'containers', subresource: 'status', namespace: 'demo', name: 'web' }],
    ['/apis/drover.dev/v1alpha1/clusters/demo', { group: 'drover.dev', resource: 'clusters', name: 'demo' }],
    ['/api/v1/join', { group: '', resource: 'join' }],
    ['/api/v1/tasks/t1/retry', { group: '', resource: 'tasks/t1/retry' }],
  ])('targetFromPath(%s)', (path, want) => {
    expect(targetFromPath(path)).toEqual(want);
  });
});
