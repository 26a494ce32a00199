// The docker runtime's node watchdog: its lease file and its decisions (which containers and agents a
// fence stops, when it fences). The fence itself runs against real engines in docker-e2e.
import { describe, it, expect, afterAll } from '@jest/globals';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../../core/logging.ts';
import {
  AGENT_HUNG_MS, createLeaseWriter, isFenceVictim, isNodeAgentExec, leaseExpired, monotonicNs, readLease, watchdogShouldFence, writeLease,
  type WatchdogLease,
} from '../../agent/docker/watchdog.ts';
import { agentExecCmd } from '../../agent/docker/exec-agent.ts';

const dirs: string[] = [];
const tmp = () => { const d = mkdtempSync(join(tmpdir(), 'drover-wd-')); dirs.push(d); return d; };
afterAll(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });
const logger = createLogger({ level: 'error' });
const MS = 1_000_000n;

const labels = (node: string, spec: Record<string, unknown> = {}, extra: Record<string, string> = {}) => ({
  'drover.dev/managed-by': 'drover', 'drover.dev/node': node, 'drover.dev/namespace': 'ns', 'drover.dev/name': 'c',
  'drover.dev/spec': JSON.stringify(spec), ...extra,
});

describe('the lease file', () => {
  it('round-trips, and a torn or foreign file reads as invalid rather than as a lease', () => {
    const d = tmp();
    expect(readLease(d)).toBeUndefined();
    const lease: WatchdogLease = { node: 'n1', agentPid: 42, contactNs: '1000', graceMs: 4000, aliveNs: '2000' };
    writeLease(d, lease);
    expect(readLease(d)).toEqual(lease);
    writeFileSync(join(d, 'watchdog', 'lease.json'), '{"node": "n1", "contactNs": ');
    expect(readLease(d)).toBe('invalid');
    writeFileSync(join(d, 'watchdog', 'lease.json'), JSON.stringify({ ...lease, contactNs: 'yesterday' }));
    expect(readLease(d)).toBe('invalid');
  });

  it('the agent writes the time of its last accepted heartbeat on the shared monotonic clock, at most about once a second when nothing changes', () => {
    const d = tmp();
    const note = createLeaseWriter(d, 'n1', logger);
    const before = monotonicNs();
    note(1500, 4000);
    const l = readLease(d) as WatchdogLease;
    expect(l).toMatchObject({ node: 'n1', agentPid: process.pid, graceMs: 4000 });
    const contact = BigInt(l.contactNs);
    expect(contact).toBeLessThanOrEqual(before - 1400n * MS);
    expect(contact).toBeGreaterThan(before - 2000n * MS);
    // the same contact again: not rewritten
    writeFileSync(join(d, 'watchdog', 'lease.json'), 'marker');
    note(1500, 4000);
    expect(readFileSync(join(d, 'watchdog', 'lease.json'), 'utf8')).toBe('marker');
    // a new contact, or a new grace period: written at once
    note(0, 4000);
    expect(BigInt((readLease(d) as WatchdogLease).contactNs)).toBeGreaterThan(contact);
    note(0, 9000);
    expect((readLease(d) as WatchdogLease).graceMs).toBe(9000);
  });
});

describe('when the watchdog fences', () => {
  const now = 100_000n * MS;
  const lease = (silenceMs: number, aliveAgoMs: number): WatchdogLease => ({
    node: 'n1', agentPid: 1, graceMs: 4000, contactNs: String(now - BigInt(silenceMs) * MS), aliveNs: String(now - BigInt(aliveAgoMs) * MS),
  });

  it('not while the last contact is younger than the grace period, even with the agent dead', () => {
    expect(leaseExpired(lease(3999, 0), now)).toBe(false);
    expect(watchdogShouldFence(lease(3999, 10_000), now, false)).toBe(false);
  });

  it('past the grace period when the agent is dead or hung', () => {
    expect(watchdogShouldFence(lease(4000, 10_000), now, false)).toBe(true);
    expect(watchdogShouldFence(lease(4000, AGENT_HUNG_MS), now, true)).toBe(true);
  });

  it('not when a live, responsive agent is past the grace period: it fences itself (two fencers would fight its restart policy)', () => {
    expect(watchdogShouldFence(lease(60_000, 200), now, true)).toBe(false);
  });
});

describe('what a fence stops', () => {
  it('running and restarting unpinned drover containers of this node only', () => {
    expect(isFenceVictim({ Labels: labels('n1'), State: 'running' }, 'n1')).toBe(true);
    expect(isFenceVictim({ Labels: labels('n1'), State: 'restarting' }, 'n1')).toBe(true);
    expect(isFenceVictim({ Labels: labels('n1'), State: 'exited' }, 'n1')).toBe(false);
    expect(isFenceVictim({ Labels: labels('n2'), State: 'running' }, 'n1')).toBe(false); // another node agent on the same engine
    expect(isFenceVictim({ Labels: labels('n1', { nodeName: 'n1' }), State: 'running' }, 'n1')).toBe(false); // pinned: never moved
    expect(isFenceVictim({ Labels: { 'drover.dev/agent-capable': 'true' }, State: 'running' }, 'n1')).toBe(false); // discovered: never stopped
    expect(isFenceVictim({ Labels: { ...labels('n1'), 'drover.dev/spec': '{not json' }, State: 'running' }, 'n1')).toBe(true);
  });

  it('agents this node exec\'d, in any container; older markers without a node only in this node\'s containers', () => {
    const args = (node?: string) => agentExecCmd({ name: 'bot', uid: 'u', command: ['sleep', '1'] }, node).slice(1);
    expect(isNodeAgentExec(args('n1'), 'n1', undefined)).toEqual({ name: 'bot' });
    expect(isNodeAgentExec(args('n2'), 'n1', 'n1')).toBeUndefined();
    expect(isNodeAgentExec(args(), 'n1', 'n1')).toEqual({ name: 'bot' });
    expect(isNodeAgentExec(args(), 'n1', undefined)).toBeUndefined();
    expect(isNodeAgentExec(['-c', 'echo hi'], 'n1', 'n1')).toBeUndefined();
  });
});
