import { describe, it, expect } from '@jest/globals';
import { createWorkQueue } from '../../controllers/work-queue.ts';
import { FakeClock, flushMicrotasks } from '../../core/clock.ts';

/** Drain whatever is ready right now, marking each key done. */
async function drain(q: ReturnType<typeof createWorkQueue>): Promise<string[]> {
  const out: string[] = [];
  while (q.len() > 0) {
    const k = (await q.get())!;
    out.push(k);
    q.done(k);
  }
  return out;
}

describe('work queue', () => {
  it.each([
    { name: 'same key added three times while queued', adds: ['a', 'a', 'a'], expected: ['a'] },
    { name: 'two keys interleaved', adds: ['a', 'b', 'a', 'b', 'a'], expected: ['a', 'b'] },
    { name: 'order of first add is kept', adds: ['c', 'a', 'b', 'c'], expected: ['c', 'a', 'b'] },
  ])('de-duplicates: $name', async ({ adds, expected }) => {
    const q = createWorkQueue({ clock: new FakeClock() });
    for (const k of adds) q.add(k);
    expect(q.len()).toBe(expected.length);
    expect(await drain(q)).toEqual(expected);
  });

  it('re-queues a key added while it was being processed, only after done()', async () => {
    const q = createWorkQueue({ clock: new FakeClock() });
    q.add('a');
    const k = await q.get();
    q.add('a');
    q.add('a');
    expect(q.len()).toBe(0); // not handed out again while in process
    q.done(k!);
    expect(q.len()).toBe(1);
    expect(await drain(q)).toEqual(['a']);
    expect(q.len()).toBe(0);
  });

  it('hands a waiting worker the key as soon as it is added', async () => {
    const q = createWorkQueue({ clock: new FakeClock() });
    const pending = q.get();
    q.add('x');
    expect(await pending).toBe('x');
  });

  it('never gives one key to two workers at once (1,000 adds, 4 workers)', async () => {
    const q = createWorkQueue({ clock: new FakeClock() });
    const inFlight = new Set<string>();
    const lastAdd = new Map<string, number>();
    const lastStart = new Map<string, number>();
    let seq = 0;
    let overlaps = 0;
    let processed = 0;

    const worker = async () => {
      for (;;) {
        const key = await q.get();
        if (key === undefined) return;
        if (inFlight.has(key)) overlaps++;
        inFlight.add(key);
        lastStart.set(key, ++seq);
        processed++;
        for (let i = 0; i < (processed % 3) + 1; i++) await flushMicrotasks();
        inFlight.delete(key);
        q.done(key);
      }
    };
    const workers = Array.from({ length: 4 }, worker);

    for (let i = 0; i < 1000; i++) {
      const key = `k${(i * 7) % 13}`;
      q.add(key);
      lastAdd.set(key, ++seq);
      if (i % 10 === 0) await flushMicrotasks();
    }
    // Let everything settle, then stop the workers.
    while (q.len() > 0 || inFlight.size > 0) await flushMicrotasks();
    q.shutDown();
    await Promise.all(workers);

    expect(overlaps).toBe(0);
    expect(processed).toBeLessThan(1000); // de-duplication did work
    // Every key was processed after its last add: no update is lost.
    for (const [key, added] of lastAdd) expect(lastStart.get(key)!).toBeGreaterThan(added);
  });

  it.each([
    { failures: 1, delay: 10 },
    { failures: 2, delay: 20 },
    { failures: 3, delay: 40 },
    { failures: 4, delay: 80 },
    { failures: 5, delay: 100 }, // capped
    { failures: 8, delay: 100 },
  ])('rate-limited retry #$failures waits $delay ms', async ({ failures, delay }) => {
    const clock = new FakeClock();
    const q = createWorkQueue({ clock, baseDelayMs: 10, maxDelayMs: 100 });
    for (let i = 1; i < failures; i++) {
      q.addRateLimited('a');
      clock.advance(1000);
      await drain(q);
    }
    q.addRateLimited('a');
    clock.advance(delay - 1);
    expect(q.len()).toBe(0);
    clock.advance(1);
    expect(q.len()).toBe(1);
    expect(q.numRequeues('a')).toBe(failures);
  });

  it('forget() resets the backoff to the base delay', () => {
    const clock = new FakeClock();
    const q = createWorkQueue({ clock, baseDelayMs: 10, maxDelayMs: 100 });
    q.addRateLimited('a');
    q.addRateLimited('a');
    q.addRateLimited('a');
    q.forget('a');
    expect(q.numRequeues('a')).toBe(0);
    q.addRateLimited('b');
    clock.advance(10);
    expect(q.len()).toBe(2); // 'a' (first delay 10) and 'b'
  });

  it('addAfter keeps the earlier of two deadlines for one key', () => {
    const clock = new FakeClock();
    const q = createWorkQueue({ clock });
    q.addAfter('a', 500);
    q.addAfter('a', 50);
    q.addAfter('a', 900);
    clock.advance(50);
    expect(q.len()).toBe(1);
    expect(clock.pending()).toBe(0);
  });

  it('shutDown wakes waiting workers with undefined and leaves no timers', async () => {
    const clock = new FakeClock();
    const q = createWorkQueue({ clock });
    const waiting = q.get();
    q.addAfter('later', 1000);
    q.shutDown();
    expect(await waiting).toBeUndefined();
    expect(await q.get()).toBeUndefined();
    expect(clock.pending()).toBe(0);
    q.add('x');
    expect(q.len()).toBe(0);
  });
});
