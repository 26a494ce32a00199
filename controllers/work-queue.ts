// Keyed, de-duplicating work queue with per-key exponential backoff (client-go/controller-runtime
// semantics): a key is handed to at most one worker at a time and queued at most once.
import { realClock, type Clock, type TimerHandle } from '../core/clock.ts';

export interface WorkQueueOptions {
  clock?: Clock;
  /** First rate-limited retry delay; doubles per consecutive failure. */
  baseDelayMs?: number;
  /** Ceiling for the rate-limited delay. */
  maxDelayMs?: number;
}

export const DEFAULT_QUEUE_BASE_DELAY_MS = 10;
export const DEFAULT_QUEUE_MAX_DELAY_MS = 5 * 60 * 1000;

export interface WorkQueue {
  add(key: string): void;
  /** Add after a delay; a key already waiting keeps the earlier of the two times. */
  addAfter(key: string, ms: number): void;
  /** Add after the key's current backoff (base * 2^failures, capped), then count one more failure. */
  addRateLimited(key: string): void;
  /** Reset the key's backoff (call after a successful reconcile). */
  forget(key: string): void;
  /** Consecutive rate-limited requeues of this key since the last forget. */
  numRequeues(key: string): number;
  /** Next key to process; undefined once the queue is shut down. */
  get(): Promise<string | undefined>;
  /** Mark a key handed out by get() as finished; re-queues it if it was added meanwhile. */
  done(key: string): void;
  shutDown(): void;
  isShuttingDown(): boolean;
  /** Keys ready to be handed out (not counting delayed or in-process ones). */
  len(): number;
}

export function createWorkQueue(opts: WorkQueueOptions = {}): WorkQueue {
  const clock = opts.clock ?? realClock;
  const baseDelayMs = opts.baseDelayMs ?? DEFAULT_QUEUE_BASE_DELAY_MS;
  const maxDelayMs = opts.maxDelayMs ?? DEFAULT_QUEUE_MAX_DELAY_MS;

  const queue: string[] = [];
  const dirty = new Set<string>(); // wants processing (queued, or to re-queue after done)
  const processing = new Set<string>();
  const waiters: Array<(key: string | undefined) => void> = [];
  const delayed = new Map<string, { at: number; handle: TimerHandle }>();
  const failures = new Map<string, number>();
  let shuttingDown = false;

  function hand(key: string): void {
    const waiter = waiters.shift();
    if (waiter) {
      dirty.delete(key);
      processing.add(key);
      waiter(key);
    } else {
      queue.push(key);
    }
  }

  const q: WorkQueue = {
    add(key) {
      if (shuttingDown || dirty.has(key)) return;
      dirty.add(key);
      if (processing.has(key)) return; // done() re-queues it
      hand(key);
    },

    addAfter(key, ms) {
      if (shuttingDown) return;
      if (ms <= 0) return q.add(key);
      const at = clock.now() + ms;
      const existing = delayed.get(key);
      if (existing && existing.at <= at) return;
      if (existing) clock.clearTimeout(existing.handle);
      const handle = clock.setTimeout(() => {
        delayed.delete(key);
        q.add(key);
      }, ms);
      delayed.set(key, { at, handle });
    },

    addRateLimited(key) {
      const n = failures.get(key) ?? 0;
      failures.set(key, n + 1);
      // 2^n overflows to Infinity for large n, which min() caps anyway.
      q.addAfter(key, Math.min(maxDelayMs, baseDelayMs * 2 ** n));
    },

    forget(key) {
      failures.delete(key);
    },

    numRequeues(key) {
      return failures.get(key) ?? 0;
    },

    get() {
      if (shuttingDown) return Promise.resolve(undefined);
      const key = queue.shift();
      if (key !== undefined) {
        dirty.delete(key);
        processing.add(key);
        return Promise.resolve(key);
      }
      return new Promise((resolve) => waiters.push(resolve));
    },

    done(key) {
      processing.delete(key);
      if (!shuttingDown && dirty.has(key)) hand(key);
    },

    shutDown() {
      if (shuttingDown) return;
      shuttingDown = true;
      for (const { handle } of delayed.values()) clock.clearTimeout(handle);
      delayed.clear();
      for (const w of waiters.splice(0)) w(undefined);
    },

    isShuttingDown: () => shuttingDown,
    len: () => queue.length,
  };
  return q;
}
