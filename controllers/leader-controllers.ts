// Runs the controllers only while this manager replica leads (core/leader-election.ts). Each term gets a
// fresh controller manager — fresh informers from a fresh list — writing through a store view fenced on the
// term's election key, and is stopped the moment the elector says the term is over. Transitions run one at
// a time, so a new term's controllers never start before the previous term's have stopped.
import type { FenceGuard, LeaderElector, Leadership } from '../core/leader-election.ts';
import type { Logger } from '../core/logging.ts';

export interface RunningControllers {
  stop(): Promise<void>;
}

export interface LeaderControllersOptions {
  elector: LeaderElector;
  /** Start every controller writing through store.fenced(guard); resolves once they run. */
  startControllers(guard: FenceGuard): Promise<RunningControllers>;
  logger: Logger;
  /** Wait before trying again when starting the controllers failed (default 1 s). */
  retryDelayMs?: number;
}

export interface LeaderControllers {
  /** True while this replica leads and its controllers run (or are starting). */
  leading(): boolean;
  /** Stop the controllers and resign. */
  stop(): Promise<void>;
}

export function runControllersWhileLeader(opts: LeaderControllersOptions): LeaderControllers {
  const log = opts.logger.child({ component: 'leader-controllers' });
  let chain: Promise<void> = Promise.resolve();
  let running: RunningControllers | undefined;
  let term: Leadership | undefined;
  let stopped = false;

  const serially = (fn: () => Promise<void>) => {
    chain = chain.then(fn).catch((e: unknown) => {
      log.error('leadership transition failed', { err: e instanceof Error ? e.message : String(e) });
    });
    return chain;
  };

  async function stopRunning(reason: string): Promise<void> {
    const r = running;
    running = undefined;
    if (!r) return;
    const t0 = Date.now();
    await r.stop();
    log.info('controllers stopped', { reason, ms: Date.now() - t0 });
  }

  opts.elector.start({
    elected(leadership) {
      term = leadership;
      void serially(async () => {
        if (stopped || term !== leadership) return; // deposed (or stopping) before we got here
        await stopRunning('new term');
        const t0 = Date.now();
        let started: RunningControllers | undefined;
        while (!started) {
          try {
            started = await opts.startControllers(leadership.guard);
          } catch (e) {
            // leading without controllers helps nobody: try again while the term lasts
            log.error('could not start the controllers, retrying', { err: e instanceof Error ? e.message : String(e) });
            await new Promise((r) => setTimeout(r, opts.retryDelayMs ?? 1000));
            if (stopped || term !== leadership) return;
          }
        }
        if (stopped || term !== leadership) {
          // Lost the election while the informers were listing: these controllers never lead.
          await started.stop();
          return;
        }
        running = started;
        log.info('leading: controllers started', { key: leadership.guard.key, createRevision: leadership.guard.createRevision, ms: Date.now() - t0 });
      });
    },
    deposed(reason) {
      term = undefined;
      void serially(() => stopRunning(`deposed: ${reason}`));
    },
  });

  return {
    leading: () => term !== undefined && !stopped,
    async stop() {
      if (stopped) return;
      stopped = true;
      term = undefined;
      await serially(() => stopRunning('manager stopping'));
      await opts.elector.stop();
    },
  };
}
