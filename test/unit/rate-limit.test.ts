import { describe, it, expect } from '@jest/globals';
import { DEFAULT_RATE_LIMIT, TokenBuckets, parseRateLimit, principalKey } from '../../api/rate-limit.ts';

function fakeClock(start = 1_000_000) {
  let now = start;
  return { now: () => now, advance: (ms: number) => { now += ms; } };
}

describe('TokenBuckets', () => {
  it('allows a burst at once, then refills at qps', () => {
    const clock = fakeClock();
    const b = new TokenBuckets({ qps: 2, burst: 3, maxDelayMs: 0 }, clock.now);
    expect([1, 2, 3].map(() => b.take('alice'))).toEqual([{ ok: true, delayMs: 0 }, { ok: true, delayMs: 0 }, { ok: true, delayMs: 0 }]);
    // empty: the next token is 500 ms away, which rounds up to a Retry-After of 1 s
    expect(b.take('alice')).toEqual({ ok: false, retryAfterSeconds: 1 });
    clock.advance(499);
    expect(b.take('alice').ok).toBe(false);
    clock.advance(1);
    expect(b.take('alice')).toEqual({ ok: true, delayMs: 0 });
    // a long pause refills to the burst, not beyond
    clock.advance(60_000);
    expect([1, 2, 3, 4].map(() => b.take('alice').ok)).toEqual([true, true, true, false]);
  });

  it('keeps one bucket per principal', () => {
    const clock = fakeClock();
    const b = new TokenBuckets({ qps: 1, burst: 1, maxDelayMs: 0 }, clock.now);
    expect(b.take('admin').ok).toBe(true);
    expect(b.take('admin').ok).toBe(false);
    expect(b.take('node-a').ok).toBe(true);
    expect(b.size).toBe(2);
  });

  it('lets a request wait for its token up to maxDelayMs, then refuses with the time until a token is back', () => {
    const clock = fakeClock();
    const b = new TokenBuckets({ qps: 10, burst: 1, maxDelayMs: 250 }, clock.now);
    expect(b.take('k')).toEqual({ ok: true, delayMs: 0 });
    expect(b.take('k')).toEqual({ ok: true, delayMs: 100 });
    expect(b.take('k')).toEqual({ ok: true, delayMs: 200 });
    // a third waiter would wait 300 ms > 250 ms: refused; the bucket stays at -2
    expect(b.take('k')).toEqual({ ok: false, retryAfterSeconds: 1 });
    expect(b.tokens('k')).toBeCloseTo(-2);
    clock.advance(300);
    expect(b.take('k')).toEqual({ ok: true, delayMs: 0 });
  });

  it('says how many whole seconds to wait when the rate is low', () => {
    const clock = fakeClock();
    const b = new TokenBuckets({ qps: 0.25, burst: 1, maxDelayMs: 0 }, clock.now);
    b.take('k');
    expect(b.take('k')).toEqual({ ok: false, retryAfterSeconds: 4 });
    clock.advance(1500);
    expect(b.take('k')).toEqual({ ok: false, retryAfterSeconds: 3 });
  });

  it('refuses nonsense limits', () => {
    expect(() => new TokenBuckets({ qps: 0, burst: 1 })).toThrow(/qps > 0/);
    expect(() => new TokenBuckets({ qps: 1, burst: 0 })).toThrow(/burst ≥ 1/);
  });
});

describe('parseRateLimit (--rate-limit)', () => {
  it.each([
    ['50,100', { qps: 50, burst: 100 }],
    ['5', { qps: 5, burst: 10 }],
    ['0.5', { qps: 0.5, burst: 1 }],
    [' 20 , 40 ', { qps: 20, burst: 40 }],
    ['0', undefined],
    ['0,10', undefined],
  ])('%s', (text, want) => {
    expect(parseRateLimit(text)).toEqual(want);
  });

  it.each(['', 'x', '-1', '5,', '5,0', '5,1.5', '1,2,3'])('refuses %j', (text) => {
    expect(() => parseRateLimit(text)).toThrow(/--rate-limit/);
  });

  it('defaults to 50 writes/s with a burst of 100', () => {
    expect(DEFAULT_RATE_LIMIT).toEqual({ qps: 50, burst: 100 });
  });
});

describe('principalKey', () => {
  it('separates same-named nodes of two Clusters', () => {
    expect(principalKey({ name: 'node-1', role: 'node', cluster: 'a' })).not.toBe(principalKey({ name: 'node-1', role: 'node', cluster: 'b' }));
  });
});
