/**
 * Tunables of the engine that are not part of the repository format (the
 * format's parameters live in the config object). Tests shrink them.
 */
import { defaultPoolSize } from '../chunking/pipeline-pool';

export interface EngineOptions {
  /** Lock lease; renewed every third of it. */
  readonly leaseMs?: number;
  /** A backup batch closes after this many files... */
  readonly batchFiles?: number;
  /** ...or this many bytes of file content. */
  readonly batchBytes?: number;
  /** Durable progress inside a batch (partial results + index) at least this often... */
  readonly checkpointMs?: number;
  /** ...or after this many bytes read. */
  readonly checkpointBytes?: number;
  /** Read size for file content. */
  readonly readSize?: number;
  /** Concurrent pack uploads. */
  readonly uploadConcurrency?: number;
  /** Packs in flight (uploaded but not indexed) before an index object is written mid-batch. */
  readonly indexEveryPacks?: number;
  /** Worker threads compressing and sealing chunks (0: on the calling thread). Default: cores - 1, at least 1. */
  readonly cpuWorkers?: number;
  /** Files read concurrently within a batch (overlaps the per-file system calls). */
  readonly fileConcurrency?: number;
}

export type ResolvedEngineOptions = Required<EngineOptions>;

export function resolveEngineOptions(o: EngineOptions = {}): ResolvedEngineOptions {
  return {
    leaseMs: o.leaseMs ?? 120_000,
    batchFiles: o.batchFiles ?? 20_000,
    batchBytes: o.batchBytes ?? 4 * 1024 ** 3,
    checkpointMs: o.checkpointMs ?? 30_000,
    checkpointBytes: o.checkpointBytes ?? 1024 ** 3,
    readSize: o.readSize ?? 4 * 1024 * 1024,
    uploadConcurrency: o.uploadConcurrency ?? 3,
    indexEveryPacks: o.indexEveryPacks ?? 32,
    cpuWorkers: o.cpuWorkers ?? defaultPoolSize(),
    fileConcurrency: o.fileConcurrency ?? 6,
  };
}
