// Process groups: signalling one, and finding the strays a crashed agent left behind.
import { listProcesses, processEnviron, readProcStat } from './proc-usage.ts';

/** Environment variable that marks every process of one spawn, so recover() can find strays. */
export const INSTANCE_ENV = 'DROVER_INSTANCE_ID';

/** What recover() needs to find a group left behind by a crashed agent (kept in a state file). */
export interface PidRecord {
  pid: number;
  startTicks: number;
  instanceId: string;
  what: string;
}

/** Signal a whole process group; a group that is already gone is not an error. */
export function killGroup(pgid: number, sig: NodeJS.Signals): boolean {
  try {
    process.kill(-pgid, sig);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw new Error(`cannot send ${sig} to process group ${pgid}`, { cause: err });
  }
}

/**
 * SIGKILL what is left of a recorded group: processes in that group that are either the recorded
 * leader (same pid and start time) or carry its instance marker. Pids are never signalled on
 * the group number alone, since a reused pid may lead an unrelated group. Returns the pids killed.
 */
export function reapStaleGroup(rec: PidRecord): number[] {
  const marker = `${INSTANCE_ENV}=${rec.instanceId}`;
  const killed: number[] = [];
  for (const p of listProcesses()) {
    if (p.pgrp !== rec.pid) continue;
    const isLeader = p.pid === rec.pid && p.startTicks === rec.startTicks;
    if (!isLeader && !processEnviron(p.pid).includes(marker)) continue;
    try {
      process.kill(p.pid, 'SIGKILL');
      killed.push(p.pid);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw new Error(`cannot kill stale process ${p.pid}`, { cause: err });
    }
  }
  return killed;
}

/** Whether a pid names a live process (zombies count as gone: they only wait to be reaped). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw new Error(`cannot probe pid ${pid}`, { cause: err });
  }
  const st = readProcStat(pid);
  return st !== undefined && st.state !== 'Z';
}
