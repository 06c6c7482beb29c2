import { readFileSync } from 'node:fs';

/** Samples a process's resident set size (Linux /proc) until stopped; resolves to the largest, in MB. */
export function sampleRss(pid: number, everyMs = 200): { stop(): number } {
  let maxKb = 0;
  const sample = (): void => {
    try {
      const match = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      maxKb = Math.max(maxKb, Number(match?.[1] ?? 0));
    } catch {
      // The process is gone or /proc is not there: the largest sample so far stands.
    }
  };
  sample();
  const timer = setInterval(sample, everyMs);
  return {
    stop: () => {
      clearInterval(timer);
      sample();
      return Math.round(maxKb / 1024);
    },
  };
}
