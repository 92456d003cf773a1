import fs from 'node:fs';

/** Linux's USER_HZ: /proc gives CPU times in these ticks. */
const CLOCK_TICKS_PER_SECOND = 100;

/**
 * The fields of /proc/<pid>/stat after the command name (which may hold spaces and parentheses):
 * [0] state, [1] ppid, [2] pgrp, … [11] utime, [12] stime, [13] cutime, [14] cstime. Null once
 * the process is gone.
 */
export function procStatFields(pid: number): string[] | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return null;
  }
}

/**
 * CPU time (user + system, ms) a process has used so far, and with `children` that of the
 * children it reaped: counted, not timed, so load does not inflate it. Null once it is gone.
 */
export function processCpuMs(pid: number | undefined, options: { children?: boolean } = {}): number | null {
  const fields = pid === undefined ? null : procStatFields(pid);
  if (!fields) return null;
  const ticks = [11, 12, ...(options.children ? [13, 14] : [])].reduce((sum, i) => sum + Number(fields[i] ?? 0), 0);
  return (ticks * 1000) / CLOCK_TICKS_PER_SECOND;
}

/**
 * CPU time (ms) of a PostgreSQL cluster so far: its postmaster with the processes it reaped,
 * and those still running (the connections, the writer, the WAL writer…). Null when the
 * cluster's pid cannot be read from its data directory.
 */
export function postgresClusterCpuMs(dataDirectory: string): number | null {
  let postmaster: number;
  try {
    postmaster = Number(fs.readFileSync(`${dataDirectory}/postmaster.pid`, 'utf8').split('\n')[0]);
  } catch {
    return null;
  }
  let total = processCpuMs(postmaster, { children: true });
  if (total === null) return null;
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    if (Number(procStatFields(Number(entry))?.[1]) === postmaster) total += processCpuMs(Number(entry)) ?? 0;
  }
  return total;
}
