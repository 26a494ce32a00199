// Controllers run only while this manager leads: started with the term's fence guard on election, stopped
// on deposition (also when it comes while they are still starting), never two terms' controllers at once.
import { describe, it, expect } from '@jest/globals';
import { nullLogger } from '../../core/logging.ts';
import type { FenceGuard, LeaderElectionHandlers, LeaderElector, LeaderRecord, Leadership } from '../../core/leader-election.ts';
import { runControllersWhileLeader } from '../../controllers/leader-controllers.ts';

function fakeElector() {
  let h: LeaderElectionHandlers | undefined;
  let current: Leadership | undefined;
  const self: LeaderRecord = { id: 'me', host: 'h', pid: 1 };
  const elector: LeaderElector & { stopped: boolean } = {
    ttlSeconds: 3,
    self,
    stopped: false,
    start: (handlers) => { h = handlers; },
    leader: async () => current?.record,
    current: () => current,
    async stop() { this.stopped = true; },
  };
  return {
    elector,
    elect(n: number): Leadership {
      current = { guard: { key: `/e/${n}`, createRevision: String(n) }, record: { ...self, since: 'now' } };
      h!.elected(current);
      return current;
    },
    depose(reason = 'lease lost') {
      current = undefined;
      h!.deposed(reason);
    },
  };
}

const tick = () => new Promise((r) => setTimeout(r, 5));
async function eventuallyTrue(f: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !f(); i++) await tick();
}

/** Records every start/stop; a start can be held open to model informers still listing. */
function recorder() {
  const log: string[] = [];
  const holds: Array<() => void> = [];
  let hold = false;
  return {
    log,
    holdNextStart() { hold = true; },
    release() { holds.splice(0).forEach((f) => f()); },
    async start(guard: FenceGuard) {
      log.push(`start ${guard.key}@${guard.createRevision}`);
      if (hold) {
        hold = false;
        await new Promise<void>((r) => holds.push(r));
      }
      log.push(`running ${guard.key}`);
      return { stop: async () => { await tick(); log.push(`stop ${guard.key}`); } };
    },
  };
}

describe('runControllersWhileLeader', () => {
  it('starts the controllers with the fence guard when elected and stops them when deposed', async () => {
    const e = fakeElector();
    const r = recorder();
    const lc = runControllersWhileLeader({ elector: e.elector, startControllers: r.start, logger: nullLogger() });
    expect(lc.leading()).toBe(false);
    e.elect(1);
    await tick();
    expect(lc.leading()).toBe(true);
    expect(r.log).toEqual(['start /e/1@1', 'running /e/1']);
    e.depose();
    expect(lc.leading()).toBe(false);
    await tick();
    await tick();
    expect(r.log).toEqual(['start /e/1@1', 'running /e/1', 'stop /e/1']);
  });

  it('stops controllers that were still starting when the term ended', async () => {
    const e = fakeElector();
    const r = recorder();
    runControllersWhileLeader({ elector: e.elector, startControllers: r.start, logger: nullLogger() });
    r.holdNextStart();
    e.elect(1);
    await tick();
    e.depose();
    r.release();
    await tick();
    await tick();
    expect(r.log).toEqual(['start /e/1@1', 'running /e/1', 'stop /e/1']);
  });

  it('never runs two terms at once: a new term starts after the old one has stopped', async () => {
    const e = fakeElector();
    const r = recorder();
    runControllersWhileLeader({ elector: e.elector, startControllers: r.start, logger: nullLogger() });
    e.elect(1);
    await tick();
    e.depose();
    e.elect(2);
    await tick();
    await tick();
    await tick();
    expect(r.log).toEqual(['start /e/1@1', 'running /e/1', 'stop /e/1', 'start /e/2@2', 'running /e/2']);
  });

  it('skips a term that ended before its turn came', async () => {
    const e = fakeElector();
    const r = recorder();
    runControllersWhileLeader({ elector: e.elector, startControllers: r.start, logger: nullLogger() });
    r.holdNextStart();
    e.elect(1);
    await tick();
    e.depose();
    e.elect(2);
    e.depose();
    r.release();
    await tick();
    await tick();
    await tick();
    expect(r.log).toEqual(['start /e/1@1', 'running /e/1', 'stop /e/1']);
  });

  it('retries starting controllers that failed to start, while the term lasts', async () => {
    const e = fakeElector();
    const log: string[] = [];
    let fail = 2;
    const lc = runControllersWhileLeader({
      elector: e.elector, logger: nullLogger(), retryDelayMs: 1,
      startControllers: async (guard) => {
        if (fail-- > 0) throw new Error('etcd unavailable');
        log.push(`running ${guard.key}`);
        return { stop: async () => { log.push('stopped'); } };
      },
    });
    e.elect(1);
    await eventuallyTrue(() => log.length > 0);
    expect(log).toEqual(['running /e/1']);
    expect(lc.leading()).toBe(true);
    await lc.stop();
    expect(log).toEqual(['running /e/1', 'stopped']);
  });

  it('stop() stops the controllers, then resigns', async () => {
    const e = fakeElector();
    const r = recorder();
    const lc = runControllersWhileLeader({ elector: e.elector, startControllers: r.start, logger: nullLogger() });
    e.elect(1);
    await tick();
    await lc.stop();
    expect(r.log.at(-1)).toBe('stop /e/1');
    expect(e.elector.stopped).toBe(true);
    expect(lc.leading()).toBe(false);
  });
});
