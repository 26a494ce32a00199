// Store selection on the command line: `drover manager --store/--etcd-endpoints/--etcd-prefix`, the
// `sqlite:PATH` / `etcd:URLS` specs of `drover admin`, and the etcd key layout.
import { describe, it, expect } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseStoreFlags } from '../../cli/commands/server.ts';
import { parseStoreSpec, describeSpec } from '../../cli/store-transfer.ts';
import { parseEndpoints } from '../../store/etcd-endpoints.ts';
import { EtcdKeys, prefixEnd } from '../../store/etcd-keys.ts';

describe('manager store flags', () => {
  it.each([
    [{ store: 'sqlite' }, { store: 'sqlite' }],
    [{ store: 'etcd', etcdEndpoints: 'http://127.0.0.1:2379' }, { store: 'etcd', etcdEndpoints: ['http://127.0.0.1:2379'], etcdPrefix: '/drover/' }],
    [{ store: 'etcd', etcdEndpoints: ' 127.0.0.1:2379 , http://[::1]:22379/', etcdPrefix: '/team-a/' }, { store: 'etcd', etcdEndpoints: ['127.0.0.1:2379', 'http://[::1]:22379'], etcdPrefix: '/team-a/' }],
  ])('%j → %j', (flags, want) => {
    expect(parseStoreFlags(flags)).toEqual(want);
  });

  it.each([
    [{ store: 'postgres' }, '--store must be one of sqlite, etcd (got "postgres")'],
    [{ store: 'etcd' }, '--store etcd needs --etcd-endpoints'],
    [{ store: 'sqlite', etcdEndpoints: 'http://127.0.0.1:2379' }, '--etcd-endpoints needs --store etcd'],
    [{ store: 'etcd', etcdEndpoints: 'https://e:2379' }, 'TLS to etcd is not supported yet'],
    [{ store: 'etcd', etcdEndpoints: 'http://e' }, 'is not http://HOST:PORT'],
    [{ store: 'etcd', etcdEndpoints: 'http://e:1', etcdPrefix: 'drover' }, '--etcd-prefix must start and end with "/"'],
  ])('%j is a usage error', (flags, message) => {
    expect(() => parseStoreFlags(flags)).toThrow(expect.objectContaining({ exitCode: 2, message: expect.stringContaining(message) }));
  });

  it('rejects an empty endpoint list', () => {
    expect(() => parseEndpoints(' , ')).toThrow(/no etcd endpoints/);
  });
});

describe('admin store specs', () => {
  it('sqlite: a file, or a data dir holding drover.db; etcd: endpoints and the prefix', () => {
    const dir = mkdtempSync(join(tmpdir(), 'drover-spec-'));
    try {
      expect(parseStoreSpec(`sqlite:${dir}`)).toEqual({ kind: 'sqlite', path: join(dir, 'drover.db') });
      expect(parseStoreSpec('sqlite:x/my.db', { cwd: dir })).toEqual({ kind: 'sqlite', path: join(dir, 'x/my.db') });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const e = parseStoreSpec('etcd:http://a:1,http://b:2', { etcdPrefix: '/x/' });
    expect(e).toEqual({ kind: 'etcd', endpoints: ['http://a:1', 'http://b:2'], prefix: '/x/' });
    expect(describeSpec(e)).toBe('etcd:http://a:1,http://b:2 (prefix /x/)');
  });

  it.each([['mysql:x'], ['sqlite:'], ['etcd:nohost']])('%s is a usage error', (spec) => {
    expect(() => parseStoreSpec(spec, { flag: '--from' })).toThrow(expect.objectContaining({ exitCode: 2, message: expect.stringContaining('--from') }));
  });
});

describe('etcd key layout', () => {
  const keys = new EtcdKeys('/drover/');
  it.each([
    ['agentdeployments.drover.dev', 'c1', 'web', '/drover/drover.dev/agentdeployments/c1/web'],
    ['clusters.drover.dev', '', 'customer1', '/drover/drover.dev/clusters/customer1'],
    ['events', 'ns', 'e1', '/drover/core/events/ns/e1'],
  ])('%s %s/%s ↔ %s', (resource, namespace, name, key) => {
    expect(keys.object(resource, namespace, name)).toBe(key);
    expect(keys.parse(key)).toEqual({ resource, namespace, name });
  });

  it('bookkeeping and foreign keys are not objects', () => {
    expect(keys.parse(keys.meta('compacted'))).toBeUndefined();
    expect(keys.parse(keys.auth('tokens/abc'))).toBeUndefined();
    expect(keys.parse('/other/drover.dev/clusters/x')).toBeUndefined();
    expect(keys.parse('/drover/drover.dev/a/b/c/d')).toBeUndefined();
  });

  it('a prefix range ends right after its last key', () => {
    expect(prefixEnd('/drover/x/').toString()).toBe('/drover/x0');
    expect(() => new EtcdKeys('/drover')).toThrow(/must end with/);
  });
});
