/**
 * Repeated runs of the operations that leave the repository as it was
 * (restore, verify). On these machines one run's time depends on what ran
 * just before it (how much of the freed memory the host still backs: a
 * process touching more fresh memory pays more), so one run per tool in a
 * fixed order favours whichever tool happens to follow a memory-heavy one.
 * Rounds rotate the order and each tool reports its median run.
 */
import type { Operation, OpResult } from './runner';

export const REPEATED_OPERATIONS: ReadonlySet<Operation> = new Set<Operation>(['restore', 'verify']);

/** Rounds for restore and verify: COFFER_BENCH_ROUNDS (default 3, at least 1). */
export function roundsFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.COFFER_BENCH_ROUNDS;
  if (raw === undefined || raw.trim() === '') return 3;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 20) throw new RangeError(`COFFER_BENCH_ROUNDS must be a whole number from 1 to 20, got ${JSON.stringify(raw)}`);
  return n;
}

/** `items` starting at position `round` (wrapping), so every item leads once in `items.length` rounds. */
export function rotated<T>(items: readonly T[], round: number): T[] {
  if (items.length === 0) return [];
  const k = ((round % items.length) + items.length) % items.length;
  return [...items.slice(k), ...items.slice(0, k)];
}

/**
 * The run with the median time (for an even count, the slower of the middle
 * two), with the highest peak RSS of all runs and every run's seconds in
 * `detail.runSeconds`.
 */
export function medianRun(runs: readonly OpResult[]): OpResult {
  if (runs.length === 0) throw new RangeError('medianRun: no runs');
  const sorted = [...runs].sort((a, b) => a.seconds - b.seconds);
  const median = sorted[Math.floor(sorted.length / 2)];
  const rss = runs.map((r) => r.peakRssKiB).filter((v): v is number => v !== undefined);
  return {
    seconds: median.seconds,
    peakRssKiB: rss.length === 0 ? undefined : Math.max(...rss),
    detail: { ...median.detail, runSeconds: runs.map((r) => r.seconds) },
  };
}
