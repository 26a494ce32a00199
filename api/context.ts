// What every API handler needs, built once by createApiServer.
import type { Logger } from '../core/logging.ts';
import type { ResourceRegistry, ResourceType } from '../core/resources.ts';
import type { KubeObject } from '../core/types.ts';
import type { Authenticator, TokenStore } from './auth.ts';
import type { InstrumentedStore } from './instrumented-store.ts';
import type { ApiMetrics } from './metrics.ts';
import type { WatchSessions } from './watch.ts';
import type { Store } from '../core/store.ts';
import type { LeaderStatus } from '../core/leader-election.ts';
import type { RebalancePlanner } from './rebalance-routes.ts';
import type { AuditSink } from './audit.ts';
import type { RateLimitOptions } from './rate-limit.ts';

/** core/validation.ts createValidator(registry): defaults and validates, throws Invalid listing every bad field. */
export interface Validator {
  admit(rt: ResourceType, obj: KubeObject, opts?: { subresource?: 'status' }): KubeObject | Promise<KubeObject>;
}

export interface ApiServerOptions {
  store: Store;
  registry: ResourceRegistry;
  validator: Validator;
  authenticator: Authenticator;
  /** Issues node credentials at /api/v1/join; default: the authenticator when it is a TokenStore. */
  tokens?: TokenStore;
  logger: Logger;
  /** Created (with process metrics) when absent. */
  metrics?: ApiMetrics;
  /** Default 3 MiB, like Kubernetes. */
  maxBodyBytes?: number;
  /** Default `v0.1.0-drover`. */
  version?: { gitVersion: string };
  /** Interval of BOOKMARK events on watches that allow them; default 60000. */
  bookmarkIntervalMs?: number;
  /** A watch whose client reads slower than it is fed is closed past this many buffered bytes; default 16 MiB. */
  maxWatchBufferBytes?: number;
  /** planRebalance from reconcilers/ (api/ may not import it); without it the rebalance routes answer 500. */
  rebalancePlanner?: RebalancePlanner;
  /** Audit log of writes and denials (api/audit.ts); none when absent. */
  audit?: AuditSink;
  /** Per-principal limit of mutating requests (api/rate-limit.ts); unlimited when absent. */
  rateLimit?: RateLimitOptions;
  /** Set when the manager serves https (api/tls.ts): the CA is published at GET /api/v1/ca and pinned by join tokens. */
  tls?: { caCert: string; caSha256: string };
  /** Lifetime of node credentials (default 24 h); the node agent renews at two thirds. */
  nodeCredentialTtlMs?: number;
  /** Which manager replica runs the controllers, for GET /leader (core/leader-election.ts); 404 when absent. */
  leaderStatus?: () => Promise<LeaderStatus>;
}

export interface ApiContext {
  store: InstrumentedStore;
  registry: ResourceRegistry;
  validator: Validator;
  logger: Logger;
  metrics: ApiMetrics;
  sessions: WatchSessions;
  bookmarkIntervalMs: number;
  maxWatchBufferBytes: number;
  nodeCredentialTtlMs?: number;
  /** Hex SHA-256 of the manager's CA (DER) when it serves https: join tokens carry it as `drvj_<secret>.<caSha256>`. */
  caSha256?: string;
}

export const DEFAULT_MAX_BODY_BYTES = 3 * 1024 * 1024;
