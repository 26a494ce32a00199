// Leader election on etcd: a lease-bound key campaign, as etcd's own concurrency.Election does it. Each
// candidate puts PREFIX/<lease id> bound to a lease it keeps alive; the key with the lowest create revision
// leads. A dead leader's key goes when its lease expires (at most the TTL), the next candidate sees the
// delete on its watch and leads. The leader's (key, create revision) is the fence guard its controllers'
// writes carry (Store.fenced): once the key is gone no write of the old leader can commit.
//
// A leader also deposes itself, before etcd does, when it cannot prove its lease is alive: its lease lives
// at least until (send time of the last answered keep-alive + TTL), and it steps down just before that.
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { Etcd3, EtcdLeaseInvalidError, type Lease, type Watcher, type IKeyValue } from 'etcd3';
import type { Logger } from '../core/logging.ts';
import { DEFAULT_LEADER_LEASE_TTL_SECONDS, type LeaderElectionHandlers, type LeaderElector, type LeaderRecord, type Leadership } from '../core/leader-election.ts';

/** The default store prefix's election (cli/leader.ts electionPrefix('/drover/')). */
export const DEFAULT_ELECTION_PREFIX = '/drover/~election/controller-manager/';

export interface EtcdElectionOptions {
  /** An etcd3 client to share (not closed by stop()), or the endpoints of a client of its own. */
  client?: Etcd3;
  endpoints?: string[];
  /** Candidates' keys live under this prefix (one election per prefix). */
  prefix?: string;
  ttlSeconds?: number;
  /** Where this replica serves the API (shown as the leader's address). */
  url?: string;
  logger: Logger;
  /** Timeout of one etcd call (default: a third of the TTL, at most 2 s). */
  callTimeoutMs?: number;
}

/** An id for this process, unique across restarts. */
export function candidateId(): string {
  return `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
}

interface Term {
  n: number;
  lease: Lease;
  leaseId?: string;
  key?: string;
  createRevision?: string;
  watcher?: Watcher;
  timers: Set<ReturnType<typeof setTimeout>>;
  watchdog?: ReturnType<typeof setTimeout>;
  /** Our lease lives at least until then (monotonic clock, performance.now()). */
  validUntil: number;
  leading: boolean;
}

/** Monotonic milliseconds: lease deadlines must not move with the wall clock. */
const mono = () => performance.now();

const sleepIn = (term: Term, ms: number) => new Promise<void>((done) => {
  const t = setTimeout(() => {
    term.timers.delete(t);
    done();
  }, ms);
  t.unref();
  term.timers.add(t);
});

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`etcd: ${what} timed out after ${ms} ms`)), ms);
    t.unref();
    p.then((v) => { clearTimeout(t); resolve(v); }, (e: unknown) => { clearTimeout(t); reject(e); });
  });
}

export function createEtcdElector(opts: EtcdElectionOptions): LeaderElector {
  if (!opts.client && !opts.endpoints?.length) throw new Error('etcd election: give a client or endpoints');
  const ttlSeconds = opts.ttlSeconds ?? DEFAULT_LEADER_LEASE_TTL_SECONDS;
  if (!Number.isInteger(ttlSeconds) || ttlSeconds < 2) throw new Error(`etcd election: the lease TTL must be a whole number of seconds, at least 2 (got ${ttlSeconds})`);
  const ttlMs = ttlSeconds * 1000;
  const callTimeoutMs = opts.callTimeoutMs ?? Math.min(2000, Math.floor(ttlMs / 3));
  const prefix = opts.prefix ?? DEFAULT_ELECTION_PREFIX;
  const log = opts.logger.child({ component: 'leader-election' });
  const ownClient = !opts.client;
  const client = opts.client ?? new Etcd3({
    hosts: opts.endpoints!,
    dialTimeout: callTimeoutMs,
    defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + callTimeoutMs }),
  });
  const self: LeaderRecord = { id: candidateId(), ...(opts.url ? { url: opts.url } : {}), host: hostname(), pid: process.pid };
  /** Step down this long before the lease could expire, so no controller outlives it. */
  const marginMs = Math.min(500, Math.floor(ttlMs / 6));

  let handlers: LeaderElectionHandlers | undefined;
  let stopped = false;
  let termSeq = 0;
  let term: Term | undefined;
  let leadership: Leadership | undefined;
  let failures = 0;

  const live = (t: Term) => !stopped && term === t;

  function clearTimers(t: Term): void {
    for (const x of t.timers) clearTimeout(x);
    t.timers.clear();
  }

  /** End a term: stop its timers and watch, revoke its lease (best effort: the TTL ends it anyway). */
  function endTerm(t: Term): Promise<void> {
    clearTimers(t);
    const w = t.watcher;
    t.watcher = undefined;
    void w?.cancel().catch(() => undefined);
    return withTimeout(t.lease.revoke({ deadline: Date.now() + callTimeoutMs }), callTimeoutMs + 500, 'lease revoke')
      .catch((e: unknown) => {
        log.debug('could not revoke the election lease', { err: errText(e) });
      });
  }

  /** This term is over (lost or broken): step down if leading, then campaign again. */
  function lose(t: Term, reason: string): void {
    if (!live(t)) return;
    term = undefined;
    const wasLeading = t.leading;
    t.leading = false;
    leadership = undefined;
    if (wasLeading) {
      log.warn('lost leadership', { id: self.id, reason, key: t.key });
      handlers?.deposed(reason);
    } else {
      log.info('election campaign interrupted', { id: self.id, reason });
    }
    void endTerm(t);
    retryLater();
  }

  function retryLater(): void {
    if (stopped) return;
    failures++;
    const delay = Math.min(250 * 2 ** Math.min(failures - 1, 5), ttlMs);
    const t = setTimeout(() => void campaign(), delay);
    t.unref();
  }

  /** Step down at validUntil − margin unless a renewal moved it; one watchdog per term, re-armed as it moves. */
  function armWatchdog(t: Term): void {
    if (t.watchdog) {
      clearTimeout(t.watchdog);
      t.timers.delete(t.watchdog);
    }
    // timers may fire a fraction of a millisecond early: round up, and check again when they do
    const tm = setTimeout(() => {
      t.timers.delete(tm);
      t.watchdog = undefined;
      if (!live(t)) return;
      if (mono() >= t.validUntil - marginMs) lose(t, `lease not renewed within ${ttlSeconds}s`);
      else armWatchdog(t);
    }, Math.max(0, Math.ceil(t.validUntil - marginMs - mono())));
    tm.unref();
    t.watchdog = tm;
    t.timers.add(tm);
  }

  async function keepAlive(t: Term): Promise<void> {
    while (live(t)) {
      const sentAt = mono();
      try {
        const res = await withTimeout(t.lease.keepaliveOnce({ deadline: Date.now() + callTimeoutMs }), callTimeoutMs + 200, 'lease keep-alive');
        if (!live(t)) return;
        const ttl = Number(res.TTL);
        if (!(ttl > 0)) return lose(t, 'lease expired');
        t.validUntil = Math.max(t.validUntil, sentAt + ttl * 1000);
        armWatchdog(t);
        await sleepIn(t, Math.floor(ttlMs / 3));
      } catch (e) {
        if (!live(t)) return;
        if (e instanceof EtcdLeaseInvalidError) return lose(t, 'lease expired');
        log.debug('lease keep-alive failed, retrying', { err: errText(e) });
        await sleepIn(t, Math.min(250, Math.floor(ttlMs / 6)));
      }
    }
  }

  /** Who leads: the candidate key with the lowest create revision. Returns the revision of the read. */
  async function evaluate(t: Term): Promise<string | undefined> {
    const res = await client.getAll().prefix(prefix).sort('Create', 'Ascend').exec();
    if (!live(t)) return undefined;
    const kvs: IKeyValue[] = res.kvs;
    const mine = kvs.find((kv) => kv.key.toString() === t.key);
    if (!mine) {
      lose(t, 'our election key is gone');
      return undefined;
    }
    t.createRevision = mine.create_revision;
    if (!t.leading && kvs[0].key.toString() === t.key) await becomeLeader(t);
    return res.header.revision;
  }

  async function becomeLeader(t: Term): Promise<void> {
    if (mono() >= t.validUntil - marginMs) return lose(t, `lease not renewed within ${ttlSeconds}s`);
    const record: LeaderRecord = { ...self, since: new Date().toISOString() };
    const guard = { key: t.key!, createRevision: t.createRevision! };
    // Proclaim: the stored record says since when we lead. Only while the key is still ours.
    try {
      await client.if(guard.key, 'Create', '==', guard.createRevision)
        .then(client.put(guard.key).value(JSON.stringify(record)).lease(t.leaseId!))
        .commit();
    } catch (e) {
      log.debug('could not record the leadership time', { err: errText(e) });
    }
    if (!live(t) || t.leading) return;
    t.leading = true;
    failures = 0;
    leadership = { guard, record };
    log.info('became leader', { id: self.id, key: guard.key, createRevision: guard.createRevision, leaseTtlSeconds: ttlSeconds });
    handlers?.elected(leadership);
  }

  async function watchCandidates(t: Term, fromRevision: string): Promise<void> {
    const w = await client.watch().prefix(prefix).startRevision(String(BigInt(fromRevision) + 1n)).create();
    if (!live(t)) {
      void w.cancel().catch(() => undefined);
      return;
    }
    t.watcher = w;
    let busy: Promise<unknown> = Promise.resolve();
    const recheck = () => {
      busy = busy.then(() => (live(t) ? evaluate(t) : undefined)).catch((e: unknown) => log.debug('election check failed', { err: errText(e) }));
    };
    // A candidate ahead of us (or we) left: someone new may lead.
    w.on('delete', (kv) => {
      if (kv.key.toString() === t.key) lose(t, 'our election key was deleted');
      else recheck();
    });
    w.on('error', (e) => lose(t, `election watch failed: ${errText(e)}`));
    // A safety net for anything a watch could miss: look again every TTL.
    const again = () => {
      const tm = setTimeout(() => {
        t.timers.delete(tm);
        if (!live(t)) return;
        recheck();
        again();
      }, ttlMs);
      tm.unref();
      t.timers.add(tm);
    };
    again();
  }

  async function campaign(): Promise<void> {
    if (stopped || term) return;
    const n = ++termSeq;
    const grantAt = mono();
    const lease = client.lease(ttlSeconds, { autoKeepAlive: false, deadline: Date.now() + callTimeoutMs });
    lease.on('lost', () => undefined); // we watch the lease ourselves (keep-alive answers, the watchdog)
    const t: Term = { n, lease, timers: new Set(), validUntil: grantAt + ttlMs, leading: false };
    term = t;
    try {
      t.leaseId = await withTimeout(lease.grant(), callTimeoutMs + 200, 'lease grant');
      if (!live(t)) return;
      armWatchdog(t);
      t.key = `${prefix}${BigInt(t.leaseId).toString(16)}`;
      await client.put(t.key).value(JSON.stringify(self)).lease(t.leaseId).exec();
      if (!live(t)) return;
      void keepAlive(t);
      const rev = await evaluate(t);
      if (!live(t) || rev === undefined) return;
      await watchCandidates(t, rev);
      if (!live(t)) return;
      failures = 0;
      // Deletes between the read and the watch start are replayed by the watch (it starts at rev + 1).
      if (!t.leading) log.info('campaigning for leadership', { id: self.id, key: t.key, createRevision: t.createRevision });
    } catch (e) {
      if (live(t)) lose(t, `campaign failed: ${errText(e)}`);
    }
  }

  return {
    ttlSeconds,
    self,
    start(h) {
      if (handlers) throw new Error('election already started');
      handlers = h;
      void campaign();
    },
    async leader() {
      const res = await client.getAll().prefix(prefix).sort('Create', 'Ascend').limit(1).exec();
      const kv = res.kvs[0];
      if (!kv) return undefined;
      try {
        return JSON.parse(kv.value.toString()) as LeaderRecord;
      } catch {
        return { id: kv.key.toString().slice(prefix.length), host: '', pid: 0 };
      }
    },
    current: () => leadership,
    async stop() {
      if (stopped) return;
      stopped = true;
      const t = term;
      term = undefined;
      leadership = undefined;
      if (t) {
        if (t.leading) log.info('resigning leadership', { id: self.id });
        t.leading = false;
        await endTerm(t);
      }
      if (ownClient) client.close();
    },
  };
}

function errText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
