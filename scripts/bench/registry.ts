/**
 * The benchmarked tools, in output order. To add a variant (e.g. Coffer
 * through Temporal workflows), implement `Runner` (./runner) and register its
 * factory here; select tools with COFFER_BENCH_TOOLS=coffer,restic,borg,…
 */
import { createCofferRunner } from './coffer';
import { createBorgRunner, createResticRunner } from './peers';
import type { RunnerFactory } from './runner';

export const RUNNERS: ReadonlyMap<string, RunnerFactory> = new Map<string, RunnerFactory>([
  ['coffer', createCofferRunner],
  ['restic', createResticRunner],
  ['borg', createBorgRunner],
]);

/** Tools run when COFFER_BENCH_TOOLS is not set. */
export const DEFAULT_TOOLS: readonly string[] = ['coffer', 'restic', 'borg'];
