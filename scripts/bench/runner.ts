/**
 * What every benchmarked tool implements. main.ts drives the same sequence for
 * each: setup (repository init, not timed as a metric) -> first backup ->
 * unchanged second backup -> restore into a fresh directory (then checked
 * against the dataset's hash manifest) -> read-data verify -> repository size.
 *
 * Variants (e.g. "Coffer through Temporal", coffer-temporal.ts: the
 * backup/restore/verify workflows on a real worker) implement this interface
 * and register in registry.ts.
 */

export type Operation = 'first-backup' | 'second-backup' | 'restore' | 'verify';
export const OPERATIONS: readonly Operation[] = ['first-backup', 'second-backup', 'restore', 'verify'];

export interface OpResult {
  /** Wall-clock seconds of the whole command (process start to exit). */
  readonly seconds: number;
  /** Peak resident set size of the process in KiB, if measured. */
  readonly peakRssKiB: number | undefined;
  /** Tool-reported extra facts (e.g. Coffer's in-process seconds, bytes uploaded). */
  readonly detail?: Readonly<Record<string, unknown>>;
}

export interface BenchContext {
  /** The absolute directory to back up (the dataset tree). */
  readonly source: string;
  /** A fresh directory this runner may use for its repository, caches and logs. */
  readonly workDir: string;
  /** Repository passphrase for this run (never printed). */
  readonly passphrase: string;
  readonly log: (line: string) => void;
}

export interface Runner {
  /** Short lower-case name used in output lines (e.g. `coffer`, `restic`, `borg`). */
  readonly name: string;
  /** How the tool is configured, for the report (version, compression, …); called after setup(). */
  describe(): Promise<string>;
  /** Creates the repository. Not part of the timed metrics. */
  setup(): Promise<void>;
  firstBackup(): Promise<OpResult>;
  /** A second backup of the unchanged source (each tool's change detection at work). */
  secondBackup(): Promise<OpResult>;
  /** Restores the latest snapshot into `target` (an empty, existing directory). */
  restore(target: string): Promise<OpResult>;
  /** Where, inside `target`, the restored copy of the source directory lands. */
  restoredRoot(target: string): string;
  /** Reads, authenticates and checks all stored data. */
  verify(): Promise<OpResult>;
  /** Size of the repository in bytes (`du -sb` of its directory). */
  repoSizeBytes(): Promise<number>;
  /** Stops what setup() started (a worker process, a connection); called once at the end, also after a failure. */
  close?(): Promise<void>;
}

export type RunnerFactory = (ctx: BenchContext) => Runner;
