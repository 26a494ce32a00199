// Who runs the controllers. On the embedded store there is one manager and it always does. On etcd every
// manager campaigns (store/etcd-election.ts); the winner runs the controllers through a store view fenced
// on its election key, so a manager that lost its lease cannot write even before it notices.
import { hostname } from 'node:os';
import type { Store } from '../core/store.ts';
import type { Logger } from '../core/logging.ts';
import { DEFAULT_LEADER_LEASE_TTL_SECONDS, type LeaderRecord, type LeaderStatus } from '../core/leader-election.ts';
import { startControllerManager, type StartControllerManagerOptions } from '../controllers/index.ts';
import { runControllersWhileLeader } from '../controllers/leader-controllers.ts';
import { parseDuration } from '../core/duration.ts';
import { usageError } from './cli-error.ts';

export { DEFAULT_LEADER_LEASE_TTL_SECONDS };

/** `--leader-lease-ttl`: whole seconds, at least 2 (etcd's smallest lease); only with `--store etcd`. */
export function parseLeaderLeaseTtl(text: string | undefined, store: string): number | undefined {
  if (text === undefined) return undefined;
  if (store !== 'etcd') throw usageError('--leader-lease-ttl needs --store etcd (one manager on SQLite elects nobody)');
  let ms: number;
  try {
    ms = parseDuration(text);
  } catch (e) {
    throw usageError(`--leader-lease-ttl: ${(e as Error).message}`);
  }
  if (ms < 2000 || ms % 1000 !== 0) throw usageError(`--leader-lease-ttl must be whole seconds, at least 2s (got "${text}")`);
  return ms / 1000;
}

/** Everything the controllers get but the store (which is fenced per term on etcd). */
export type ControllerSettings = Omit<StartControllerManagerOptions, 'store'>;

/** Election keys of the drover whose objects live under `etcdPrefix`: bookkeeping (`~`), never an object. */
export function electionPrefix(etcdPrefix: string): string {
  return `${etcdPrefix}~election/controller-manager/`;
}

export interface ControllerLeadership {
  /** What GET /leader answers. */
  status(): Promise<LeaderStatus>;
  /** Stop the controllers (and resign, on etcd). */
  stop(): Promise<void>;
}

/** What GET /leader answers before the controllers (or the campaign) have started. */
export function startingStatus(store: string): LeaderStatus {
  return { store, self: { id: `${hostname()}-${process.pid}`, host: hostname(), pid: process.pid }, isLeader: false, error: 'the manager is starting' };
}

/** Embedded store: this manager is the only one; start the controllers now. */
export async function startSoleControllers(opts: { store: Store; url: string; controllers: ControllerSettings }): Promise<ControllerLeadership> {
  const since = new Date().toISOString();
  const controllers = await startControllerManager({ ...opts.controllers, store: opts.store });
  const self: LeaderRecord = { id: `${hostname()}-${process.pid}`, url: opts.url, host: hostname(), pid: process.pid, since };
  return {
    status: async () => ({ store: 'sqlite', self, isLeader: true, leader: self }),
    stop: () => controllers.stop(),
  };
}

export interface ElectedControllersOptions {
  /** A store with fenced views (the etcd store). */
  store: Store;
  controllers: ControllerSettings;
  logger: Logger;
  /** This manager's API address, announced as the leader's. */
  url: string;
  etcdEndpoints: string[];
  leaseTtlSeconds?: number;
  /** Election keys live under this prefix (one election per drover installation: electionPrefix(etcd prefix)). */
  electionPrefix?: string;
}

/** etcd: campaign, and run the controllers only while leading. Returns once campaigning; the election goes on. */
export async function startElectedControllers(opts: ElectedControllersOptions): Promise<ControllerLeadership> {
  const store = opts.store;
  const fenced = store.fenced?.bind(store);
  if (!fenced) throw new Error('leader election needs a store with fenced writes (the etcd store)');
  // loaded only here: a SQLite manager and the other commands need no gRPC client
  const { createEtcdElector } = await import('../store/etcd-election.ts');
  const elector = createEtcdElector({
    endpoints: opts.etcdEndpoints, ttlSeconds: opts.leaseTtlSeconds ?? DEFAULT_LEADER_LEASE_TTL_SECONDS, url: opts.url, logger: opts.logger,
    ...(opts.electionPrefix ? { prefix: opts.electionPrefix } : {}),
  });
  const running = runControllersWhileLeader({
    elector,
    logger: opts.logger,
    startControllers: (guard) => startControllerManager({ ...opts.controllers, store: fenced(guard) }),
  });
  return {
    async status() {
      const base = { store: 'etcd', self: elector.self, isLeader: elector.current() !== undefined, leaseTtlSeconds: elector.ttlSeconds };
      try {
        const leader = await elector.leader();
        return { ...base, ...(leader ? { leader } : {}) };
      } catch (e) {
        return { ...base, error: `cannot read the election from etcd: ${e instanceof Error ? e.message : String(e)}` };
      }
    },
    stop: () => running.stop(),
  };
}
