// Per-principal token buckets for mutating requests (POST, PUT, PATCH, DELETE): one client — a user
// token, a node credential, the admin — cannot flood the store's fsyncs for everyone else. Reads,
// watches and log pushes (POST …/log: node agents ship each container's output every second, into a
// bounded memory buffer, never the store) are not limited. A client a little over the limit is slowed (its request waits up to
// `maxDelayMs` for its token, so a sequential `drover apply` of a big directory just runs at the limit);
// one far over it gets 429 with a Status and `Retry-After` (whole seconds, ≥ 1).
import type { RequestHandler } from 'express';
import { TooManyRequests } from '../core/errors.ts';
import type { Principal } from './auth.ts';

export interface RateLimitOptions {
  /** Sustained requests per second. */
  qps: number;
  /** Requests allowed at once after a quiet period (bucket size). */
  burst: number;
  /** A request waits at most this long for its token before it is refused with 429; default 1000, 0 = never wait. */
  maxDelayMs?: number;
}

/** Well above what one person or one node agent sends; a runaway script is slowed to this. */
export const DEFAULT_RATE_LIMIT: RateLimitOptions = { qps: 50, burst: 100 };
export const MUTATING_METHODS: ReadonlySet<string> = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
/** Idle buckets are forgotten past this many principals (a full bucket carries no state). */
const MAX_BUCKETS = 10_000;

/** `--rate-limit QPS[,BURST]`: `0` turns limiting off (undefined); BURST defaults to 2×QPS (at least 1). */
export function parseRateLimit(text: string): RateLimitOptions | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(?:,\s*(\d+)\s*)?$/.exec(text);
  if (!m) throw new Error(`--rate-limit must be QPS[,BURST] such as 50,100 (0 = off), got "${text}"`);
  const qps = Number(m[1]);
  if (qps === 0) return undefined;
  const burst = m[2] !== undefined ? Number(m[2]) : Math.max(1, Math.ceil(qps * 2));
  if (burst < 1) throw new Error(`--rate-limit burst must be at least 1, got "${text}"`);
  return { qps, burst };
}

/** ok: go ahead after `delayMs` (0 = at once); otherwise refuse, naming when to come back. */
export type TakeResult = { ok: true; delayMs: number } | { ok: false; retryAfterSeconds: number };
export const DEFAULT_MAX_DELAY_MS = 1000;

interface Bucket {
  tokens: number;
  at: number;
}

/** Token buckets keyed by principal; `now` in milliseconds (injectable for tests). */
export class TokenBuckets {
  private readonly buckets = new Map<string, Bucket>();
  private readonly opts: RateLimitOptions;
  private readonly now: () => number;

  constructor(opts: RateLimitOptions, now: () => number = Date.now) {
    if (!(opts.qps > 0) || !(opts.burst >= 1)) throw new Error(`rate limit needs qps > 0 and burst ≥ 1 (got ${opts.qps}, ${opts.burst})`);
    this.opts = opts;
    this.now = now;
  }

  get size(): number {
    return this.buckets.size;
  }

  get limits(): RateLimitOptions {
    return { ...this.opts };
  }

  /** Tokens left in `key`'s bucket now (negative: borrowed by waiting requests). */
  tokens(key: string): number {
    return this.refill(key, this.now()).tokens;
  }

  /**
   * Spend one token of `key`'s bucket. When the bucket is empty the token may be borrowed from the
   * next `maxDelayMs` of refill (the caller waits `delayMs`); past that, say how many whole seconds
   * until a token is there again.
   */
  take(key: string): TakeResult {
    const now = this.now();
    const b = this.refill(key, now);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return { ok: true, delayMs: 0 };
    }
    const waitMs = ((1 - b.tokens) / this.opts.qps) * 1000;
    if (waitMs <= (this.opts.maxDelayMs ?? DEFAULT_MAX_DELAY_MS)) {
      b.tokens -= 1;
      return { ok: true, delayMs: Math.ceil(waitMs) };
    }
    return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil(waitMs / 1000)) };
  }

  private refill(key: string, now: number): Bucket {
    let b = this.buckets.get(key);
    if (!b) {
      if (this.buckets.size >= MAX_BUCKETS) this.sweep(now);
      b = { tokens: this.opts.burst, at: now };
      this.buckets.set(key, b);
      return b;
    }
    const elapsed = Math.max(0, now - b.at) / 1000;
    b.tokens = Math.min(this.opts.burst, b.tokens + elapsed * this.opts.qps);
    b.at = now;
    return b;
  }

  /** Drop buckets that have refilled completely: they would start full anyway. */
  private sweep(now: number): void {
    for (const [k, b] of this.buckets) {
      if (b.tokens + (Math.max(0, now - b.at) / 1000) * this.opts.qps >= this.opts.burst) this.buckets.delete(k);
    }
  }
}

/** The bucket of a principal: role, Cluster and name (two Clusters may each have a node called node-1). */
export function principalKey(p: Principal): string {
  return `${p.role}\u0000${p.cluster ?? ''}\u0000${p.name}`;
}

/** Express middleware, mounted after authentication (it needs res.locals.principal). */
export function rateLimiter(buckets: TokenBuckets): RequestHandler {
  return (req, res, next) => {
    const principal = res.locals.principal as Principal | undefined;
    if (!principal || !MUTATING_METHODS.has(req.method) || req.path.endsWith('/log')) {
      next();
      return;
    }
    const r = buckets.take(principalKey(principal));
    if (r.ok) {
      if (r.delayMs > 0) setTimeout(next, r.delayMs);
      else next();
      return;
    }
    res.setHeader('Retry-After', String(r.retryAfterSeconds));
    throw new TooManyRequests(
      `too many requests: ${principal.role} "${principal.name}" may send ${buckets.limits.qps} writes per second (burst ${buckets.limits.burst}); retry after ${r.retryAfterSeconds}s`,
      { retryAfterSeconds: r.retryAfterSeconds },
    );
  };
}
