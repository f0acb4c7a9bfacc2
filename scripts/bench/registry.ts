/**
 * The benchmarked tools, in output order. To add a variant, implement
 * `Runner` (./runner) and register its factory here; select tools with
 * COFFER_BENCH_TOOLS=coffer,coffer-temporal,restic,borg (coffer-temporal is
 * not in the default set: it needs the stack's Temporal server).
 */
import { createCofferRunner } from './coffer';
import { createCofferTemporalRunner } from './coffer-temporal';
import { createBorgRunner, createResticRunner } from './peers';
import type { RunnerFactory } from './runner';

export const RUNNERS: ReadonlyMap<string, RunnerFactory> = new Map<string, RunnerFactory>([
  ['coffer', createCofferRunner],
  ['restic', createResticRunner],
  ['borg', createBorgRunner],
  ['coffer-temporal', createCofferTemporalRunner],
]);

/** Tools run when COFFER_BENCH_TOOLS is not set. */
export const DEFAULT_TOOLS: readonly string[] = ['coffer', 'restic', 'borg'];
