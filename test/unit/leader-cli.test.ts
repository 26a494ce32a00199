// `--leader-lease-ttl` parsing, the election key prefix, and the leader line of `drover status`.
import { describe, it, expect } from '@jest/globals';
import { electionPrefix, parseLeaderLeaseTtl } from '../../cli/leader.ts';
import { leaderLine } from '../../cli/commands/status.ts';
import { EtcdKeys } from '../../store/etcd-keys.ts';
import type { LeaderStatus } from '../../core/leader-election.ts';

describe('--leader-lease-ttl', () => {
  it.each([
    ['3s', 'etcd', 3],
    ['10s', 'etcd', 10],
    ['1m', 'etcd', 60],
    [undefined, 'etcd', undefined],
    [undefined, 'sqlite', undefined],
  ])('%s with --store %s → %s seconds', (text, store, want) => {
    expect(parseLeaderLeaseTtl(text, store)).toBe(want);
  });

  it.each([
    ['1s', 'etcd', 'at least 2s'],
    ['2500ms', 'etcd', 'whole seconds'],
    ['soon', 'etcd', '--leader-lease-ttl'],
    ['3s', 'sqlite', 'needs --store etcd'],
  ])('refuses %s with --store %s', (text, store, message) => {
    expect(() => parseLeaderLeaseTtl(text, store)).toThrow(message);
  });
});

describe('election keys', () => {
  it('live under the store prefix as bookkeeping, never parsed as an object', () => {
    const keys = new EtcdKeys('/drover/');
    const p = electionPrefix(keys.prefix);
    expect(p).toBe('/drover/~election/controller-manager/');
    expect(keys.parse(`${p}694d8a3c5e1f2b07`)).toBeUndefined();
  });
});

describe('the leader line of drover status', () => {
  const self = { id: 'mgr-b', url: 'https://10.0.0.2:8443', host: 'b', pid: 2 };
  const leader = { id: 'mgr-a', url: 'https://10.0.0.1:8443', host: 'a', pid: 1, since: '2026-11-23T18:57:52.469Z' };
  it.each<[string, LeaderStatus | undefined, string[]]>([
    ['no /leader (older manager)', undefined, []],
    ['one manager on SQLite', { store: 'sqlite', self: leader, isLeader: true, leader }, []],
    ['asked a standby', { store: 'etcd', self, isLeader: false, leader, leaseTtlSeconds: 10 },
      ['  leader        mgr-a at https://10.0.0.1:8443 since 2026-11-23T18:57:52.469Z (etcd, lease 10s; answered by mgr-b)']],
    ['asked the leader', { store: 'etcd', self: leader, isLeader: true, leader, leaseTtlSeconds: 3 },
      ['  leader        mgr-a at https://10.0.0.1:8443 since 2026-11-23T18:57:52.469Z (etcd, lease 3s; answered by the leader)']],
    ['nobody leads', { store: 'etcd', self, isLeader: false, error: 'cannot read the election from etcd: deadline exceeded' },
      ['  leader        none elected yet (cannot read the election from etcd: deadline exceeded)']],
  ])('%s', (_what, status, want) => {
    expect(leaderLine(status)).toEqual(want);
  });
});
