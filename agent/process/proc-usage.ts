// Readers of Linux /proc: per-process-group cpu/memory and host totals. Everything degrades to
// "no data" (undefined / zero) when /proc is missing, so the runtime still works on other OSes.
import { readdirSync, readFileSync } from 'node:fs';

/** Kernel clock ticks per second (USER_HZ); 100 on every mainstream Linux ABI. */
export const CLK_TCK = 100;

export interface ProcStat {
  pid: number;
  ppid: number;
  pgrp: number;
  /** R, S, D, Z, T … */
  state: string;
  /** utime + stime + cutime + cstime, in ticks. */
  cpuTicks: number;
  /** Start time after boot, in ticks: with the pid it identifies one process for good. */
  startTicks: number;
}

/** Parse the text of /proc/<pid>/stat (the command name may hold spaces and parentheses). */
export function parseProcStat(text: string): ProcStat {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) throw new RangeError(`not a /proc/<pid>/stat line: ${text.slice(0, 80)}`);
  const f = text.slice(close + 2).trim().split(/\s+/);
  // f[0] is field 3 (state) of proc(5); field N is f[N - 3].
  const n = (field: number) => Number(f[field - 3]);
  return {
    pid: Number(text.slice(0, open).trim()),
    state: f[0],
    ppid: n(4),
    pgrp: n(5),
    cpuTicks: n(14) + n(15) + n(16) + n(17),
    startTicks: n(22),
  };
}

export function readProcStat(pid: number): ProcStat | undefined {
  try {
    return parseProcStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch (err) {
    if (isGone(err)) return undefined;
    throw new Error(`cannot read /proc/${pid}/stat`, { cause: err });
  }
}

/** Every live (non-zombie) process on the host. */
export function listProcesses(): ProcStat[] {
  let names: string[];
  try {
    names = readdirSync('/proc');
  } catch (err) {
    if (isGone(err)) return [];
    throw new Error('cannot list /proc', { cause: err });
  }
  const out: ProcStat[] = [];
  for (const name of names) {
    if (!/^\d+$/.test(name)) continue;
    const st = readProcStat(Number(name));
    if (st && st.state !== 'Z') out.push(st);
  }
  return out;
}

/** Resident memory of one process in bytes (0 when it is gone or a kernel thread). */
export function rssBytes(pid: number): number {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch (err) {
    if (isGone(err)) return 0;
    throw new Error(`cannot read /proc/${pid}/status`, { cause: err });
  }
}

/** The environment a process started with (empty when unreadable). */
export function processEnviron(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
  } catch (err) {
    if (isGone(err) || (err as NodeJS.ErrnoException).code === 'EACCES') return [];
    throw new Error(`cannot read /proc/${pid}/environ`, { cause: err });
  }
}

export function uptimeSeconds(): number {
  try {
    return Number(readFileSync('/proc/uptime', 'utf8').split(/\s+/)[0]);
  } catch (err) {
    if (isGone(err)) return 0;
    throw new Error('cannot read /proc/uptime', { cause: err });
  }
}

export interface GroupSample {
  ticks: number;
  atMs: number;
}

/** Usage of one process group: millicores since the previous sample (or since start), and summed RSS. */
export function groupUsage(members: ProcStat[], leaderStartTicks: number, prev: GroupSample | undefined, nowMs: number): { cpuMillis: number; memoryBytes: number; sample: GroupSample } {
  const ticks = members.reduce((s, p) => s + p.cpuTicks, 0);
  const memory = members.reduce((s, p) => s + rssBytes(p.pid), 0);
  let cpuMillis: number;
  if (prev && nowMs - prev.atMs >= 200) {
    cpuMillis = ((ticks - prev.ticks) / CLK_TCK / ((nowMs - prev.atMs) / 1000)) * 1000;
  } else {
    // First look: the average since the group's leader started.
    const lived = uptimeSeconds() - leaderStartTicks / CLK_TCK;
    cpuMillis = lived > 0 ? (ticks / CLK_TCK / lived) * 1000 : 0;
  }
  return { cpuMillis: Math.max(0, Math.round(cpuMillis)), memoryBytes: memory, sample: { ticks, atMs: nowMs } };
}

export interface CpuTimes {
  busy: number;
  total: number;
}

/** The aggregate `cpu` line of /proc/stat (jiffies): busy = everything but idle and iowait. */
export function parseCpuTimes(procStat: string): CpuTimes {
  const line = procStat.split('\n').find((l) => l.startsWith('cpu '));
  if (!line) throw new RangeError('no aggregate cpu line in /proc/stat');
  const v = line.trim().split(/\s+/).slice(1, 9).map(Number);
  const total = v.reduce((a, b) => a + b, 0);
  return { busy: total - v[3] - (v[4] ?? 0), total };
}

export function readCpuTimes(): CpuTimes | undefined {
  try {
    return parseCpuTimes(readFileSync('/proc/stat', 'utf8'));
  } catch (err) {
    if (isGone(err)) return undefined;
    throw new Error('cannot read /proc/stat', { cause: err });
  }
}

/** Memory in use = MemTotal - MemAvailable, in bytes (undefined without /proc). */
export function readMemoryUsed(): number | undefined {
  try {
    const text = readFileSync('/proc/meminfo', 'utf8');
    const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(text)?.[1] ?? NaN);
    const used = kb('MemTotal') - kb('MemAvailable');
    return Number.isFinite(used) ? used * 1024 : undefined;
  } catch (err) {
    if (isGone(err)) return undefined;
    throw new Error('cannot read /proc/meminfo', { cause: err });
  }
}

/** A usage quantity as the API shows it: "12m" for cpu, "34Mi" (or Ki below 1 MiB) for memory. */
export function formatCpuUsage(millis: number): string {
  return `${Math.max(0, Math.round(millis))}m`;
}

export function formatMemoryUsage(bytes: number): string {
  return bytes >= 2 ** 20 ? `${Math.round(bytes / 2 ** 20)}Mi` : `${Math.ceil(bytes / 1024)}Ki`;
}

function isGone(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ESRCH' || code === 'ENOTDIR';
}
