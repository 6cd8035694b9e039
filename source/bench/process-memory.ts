import { readFileSync } from 'node:fs';

/**
 * The resident set size of process `pid` in bytes, from `/proc/<pid>/status`
 * (Linux); undefined where that cannot be read.
 */
export function residentBytes(pid: number): number | undefined {
  try {
    const match = /^VmRSS:\s+(\d+)\s+kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'latin1'));
    return match ? Number(match[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}
