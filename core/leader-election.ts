// The LeaderElector port: which manager replica runs the controllers. Every replica serves the API; the
// one holding the election runs the controllers and writes through a store view fenced on its election
// key (Store.fenced), so a replica that lost the election cannot write even if it has not noticed yet.
// Backend: store/etcd-election.ts (a lease-bound key campaign). The embedded store has one manager, which
// always leads.

import type { FenceGuard } from './store.ts';

export type { FenceGuard };

/** Default lease TTL of the controller leader election (`drover manager --leader-lease-ttl`). */
export const DEFAULT_LEADER_LEASE_TTL_SECONDS = 10;

/** What a candidate announces about itself; the leader's record is what `/leader` and `drover status` show. */
export interface LeaderRecord {
  /** Stable for the life of the process, e.g. `host-4711-ab12cd`. */
  id: string;
  /** Where this replica serves the API. */
  url?: string;
  host: string;
  pid: number;
  /** RFC 3339: when it won the election (absent while it only campaigns). */
  since?: string;
}

export interface Leadership {
  guard: FenceGuard;
  record: LeaderRecord;
}

export interface LeaderElectionHandlers {
  /** This replica now leads; start the controllers, writing through store.fenced(leadership.guard). */
  elected(leadership: Leadership): void;
  /** This replica no longer leads (lease lost or not renewed in time, key gone): stop the controllers now. */
  deposed(reason: string): void;
}

export interface LeaderElector {
  /** The lease TTL: how long a dead leader can keep the election before another replica takes over. */
  readonly ttlSeconds: number;
  /** Campaign until stop(), telling `handlers` about every change of this replica's leadership. */
  start(handlers: LeaderElectionHandlers): void;
  /** The current leader as stored (any replica can ask); undefined while nobody leads. */
  leader(): Promise<LeaderRecord | undefined>;
  /** This replica's leadership while it holds it. */
  current(): Leadership | undefined;
  /** This replica's own record. */
  readonly self: LeaderRecord;
  /** Stop campaigning; a leader resigns, so another replica takes over at once instead of after the TTL. */
  stop(): Promise<void>;
}

/** What `/leader` answers. */
export interface LeaderStatus {
  /** `sqlite`: one manager, always the leader; `etcd`: elected. */
  store: string;
  self: LeaderRecord;
  isLeader: boolean;
  leader?: LeaderRecord;
  leaseTtlSeconds?: number;
  /** Why the leader could not be read (e.g. etcd unreachable). */
  error?: string;
}
