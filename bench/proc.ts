import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/** Resource use of another process, read from Linux's /proc (proc(5)). */

/** ProcSample is one reading of a process's CPU time and resident memory. */
export interface ProcSample {
  /** cpuSeconds is user plus system time since the process started (utime + stime). */
  readonly cpuSeconds: number;
  readonly rssBytes: number;
}

let ticks: number | undefined;

function clockTicks(): number {
  ticks ??= Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  return ticks;
}

/** statFields are the fields of /proc/PID/stat after the command name (field 3 onwards). */
function statFields(pid: number): string[] {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

/** sampleProc reads `pid`'s CPU seconds and RSS. */
export function sampleProc(pid: number): ProcSample {
  const fields = statFields(pid);
  // utime and stime are fields 14 and 15 (1-based), so 11 and 12 here.
  const cpuSeconds = (Number(fields[11]) + Number(fields[12])) / clockTicks();
  const rssKiB = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  return { cpuSeconds, rssBytes: Number(rssKiB ?? 0) * 1024 };
}

/** childPid finds the one process whose parent is `parent` (the harness starts commands under a bash tether). */
export function childPid(parent: number): number {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (Number(statFields(Number(entry))[1]) === parent) return Number(entry);
    } catch {
      // the process ended while we looked
    }
  }
  throw new Error(`no child process of ${parent}`);
}

/** commandLine is the process's arguments, joined by spaces. */
export function commandLine(pid: number): string {
  return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
}
