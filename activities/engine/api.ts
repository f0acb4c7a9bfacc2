/**
 * The engine's public API: what activities, the offline break-glass CLI path
 * and the benchmark call. Implemented in activities/engine/ and
 * activities/repository/; nothing here imports @temporalio/*.
 *
 * Long operations take an AbortSignal and report progress through a callback
 * (activities turn that into heartbeats). Every result is plain JSON-safe data:
 * it may travel in a Temporal payload, so it never holds key material.
 */
import type { Backend } from '../storage/backend';
import type { Tree } from '../repository/tree';

export interface Progress {
  readonly filesDone: number;
  readonly filesTotal?: number;
  readonly bytesDone: number;
  readonly bytesTotal?: number;
  /** Bytes actually sent to storage (after dedup, compression, encryption). */
  readonly bytesUploaded?: number;
  readonly currentPath?: string;
}

export interface RunOptions {
  readonly signal?: AbortSignal;
  readonly onProgress?: (progress: Progress) => void;
}

/** How the repository key is unlocked. Never stored in a workflow payload. */
export type Unlock =
  | { readonly passphrase: string }
  | { readonly x25519SecretKey: Uint8Array; readonly x25519PublicKey: Uint8Array };

export interface InitOptions {
  /** Average chunk size in bytes (default 1 MiB). */
  readonly averageChunkSize?: number;
  /** Target pack size in bytes (default 16 MiB). */
  readonly packSize?: number;
  /** zstd level (default 1). */
  readonly compressionLevel?: number;
  /** Argon2id cost; tests pass cheap values. */
  readonly kdf?: { readonly opsLimit: number; readonly memLimitBytes: number };
  /** Retain every object this long (S3 Object Lock / Azure immutability), if the backend supports it. */
  readonly retentionDays?: number;
}

export interface SnapshotSummary {
  readonly id: string;
  /** ISO-8601 time the backup started. */
  readonly time: string;
  readonly host: string;
  readonly paths: readonly string[];
  readonly tags: readonly string[];
  readonly parent?: string;
  readonly rootTree: string;
  readonly keyEpoch: number;
  readonly stats: {
    readonly files: number;
    readonly dirs: number;
    readonly bytes: number;
    readonly bytesNew: number;
    readonly bytesUploaded: number;
    readonly chunksNew: number;
    readonly chunksDeduplicated: number;
    readonly filesUnchanged: number;
    readonly errors: number;
    /** Files read because new or changed since the parent (files - filesUnchanged); absent in snapshots before this field. */
    readonly filesChanged?: number;
    /** Bytes read from new or changed files; absent in snapshots before this field. */
    readonly bytesChanged?: number;
  };
}

export interface BackupRequest {
  /** Absolute paths on this host. */
  readonly paths: readonly string[];
  readonly host: string;
  readonly tags?: readonly string[];
  /** Parent snapshot id, or 'auto' to use the latest snapshot of the same host and paths. */
  // eslint-disable-next-line @typescript-eslint/no-redundant-type-constituents -- 'auto' documents the special value
  readonly parent?: string | 'auto';
  readonly excludes?: readonly string[];
  /** Files whose change fails the backup (ransomware canaries), relative to a source path. */
  readonly canaries?: readonly string[];
  /**
   * Where a path's content is actually read from, by requested path: the
   * snapshot records the requested (virtual) path, e.g. `/coffer-commands/pg`
   * read from a spool directory. Paths not listed are read where they are.
   */
  readonly readFrom?: Readonly<Record<string, string>>;
}

export interface BackupPlan {
  /** Id of the plan object stored in the repository (outside workflow history). */
  readonly planId: string;
  readonly batches: number;
  readonly files: number;
  readonly bytes: number;
}

export interface BatchResult {
  readonly batch: number;
  readonly filesDone: number;
  readonly bytesRead: number;
  readonly bytesUploaded: number;
  readonly chunksNew: number;
  readonly chunksDeduplicated: number;
  /** Files reused from the parent without reading (absent from engines before this field). */
  readonly filesUnchanged?: number;
  /** Files that could not be read (reported, backup continues). */
  readonly unreadable: readonly { readonly path: string; readonly reason: string }[];
  /** Files that changed while being read. */
  readonly changedDuringRead: readonly string[];
}

/** Cursor an interrupted batch resumes from (a heartbeat detail). */
export interface BatchCursor {
  readonly batch: number;
  /** Files of the batch already completed and recorded. */
  readonly filesCompleted: number;
}

export interface RestoreRequest {
  readonly snapshot: string;
  /** Directory to restore into; created if missing. */
  readonly target: string;
  readonly include?: readonly string[];
  readonly exclude?: readonly string[];
}

export interface RestoreResult {
  readonly files: number;
  readonly dirs: number;
  readonly bytes: number;
  /** Files skipped because a previous interrupted run already restored them. */
  readonly skipped: number;
}

export interface CompareResult {
  readonly matched: number;
  /** Paths (relative to the target) whose content or metadata differ, with why. */
  readonly differences: readonly { readonly path: string; readonly what: string }[];
}

export type VerifyLevel = 'structure' | 'read-data';

export interface VerifyRequest {
  readonly level: VerifyLevel;
  /** Check part n of t of the packs (1-based); over t runs every pack is read. */
  readonly subset?: { readonly n: number; readonly t: number };
}

export interface Finding {
  /** e.g. 'missing-pack', 'pack-size', 'chunk-integrity', 'unindexed-chunk', 'snapshot-unreadable'. */
  readonly kind: string;
  /** The storage object concerned, e.g. `data/ab/ab12…`. */
  readonly object: string;
  readonly detail: string;
  readonly snapshots: readonly string[];
  /** Affected files as `<snapshot>:<path>`, bounded in count. */
  readonly files: readonly string[];
}

export interface VerifyReport {
  readonly level: VerifyLevel;
  readonly snapshotsChecked: number;
  readonly packsChecked: number;
  readonly chunksChecked: number;
  readonly bytesRead: number;
  readonly findings: readonly Finding[];
}

export interface PruneRequest {
  /** Snapshots that stay; every other snapshot is forgotten. */
  readonly keep: readonly string[];
  /** Packs younger than this are never deleted, so a concurrent backup keeps its chunks. */
  readonly graceMs: number;
  readonly dryRun?: boolean;
}

export interface PruneReport {
  readonly snapshotsRemoved: readonly string[];
  readonly packsDeleted: number;
  readonly packsRepacked: number;
  readonly bytesFreed: number;
  readonly dryRun: boolean;
}

export interface KeyInfo {
  readonly id: string;
  readonly kind: 'passphrase' | 'x25519';
  readonly created: string;
  readonly label?: string;
}

export interface RotationStatus {
  readonly newEpoch: number;
  readonly packsTotal: number;
  readonly packsRemaining: number;
}

/**
 * A checkpoint of the catalog's audit chain kept in the repository
 * (`audit/head-<seq>`): the newest entry's seq and MAC when it was written.
 * The catalog's log must reach this seq with this MAC, or it was truncated,
 * rolled back or rewritten.
 */
export interface AuditHeadCheckpoint {
  readonly seq: number;
  /** The entry's MAC (HMAC-SHA256, 64 hex characters). */
  readonly mac: string;
  /** ISO-8601 time the checkpoint was taken. */
  readonly time: string;
}

/** A DR drill's result as stored in the repository (same shape as the catalog's DrillReportRecord). */
export interface DrillReport {
  readonly repoId: string;
  /** The drill's workflow id: unique per drill. */
  readonly drillId: string;
  readonly snapshotId: string;
  /** ISO-8601 time the drill started. */
  readonly time: string;
  readonly passed: boolean;
  readonly rtoMs: number;
  readonly rpoMs: number;
  readonly objectives: { readonly rtoMs: number; readonly rpoMs: number };
  readonly figures?: Readonly<Record<string, number>>;
  readonly problems?: readonly string[];
}

/** What saveDrillReport takes: repoId may be omitted (it is the repository's own). */
export type DrillReportInput = Omit<DrillReport, 'repoId'> & { readonly repoId?: string };

export interface CopyReport {
  /** Snapshots written to the destination by this call. */
  readonly snapshotsCopied: number;
  /** Requested snapshots the destination already had (nothing read or written for them). */
  readonly snapshotsSkipped: number;
  /** Chunks (data and tree) uploaded to the destination. */
  readonly chunksCopied: number;
  /** Chunks the destination already had. */
  readonly chunksSkipped: number;
  /** Plaintext bytes of the chunks copied. */
  readonly bytesCopied: number;
  /** Bytes of packs uploaded to the destination (index and snapshot objects are small and not counted). */
  readonly bytesUploaded: number;
  /** Whether the two repositories share their chunk-id key (ids and trees are copied verbatim). */
  readonly sharedChunkIds: boolean;
}

export interface Repository {
  readonly id: string;
  readonly location: string;
  readonly currentEpoch: number;

  // Backup in three resumable steps (activities), or all at once (offline, bench).
  planBackup(request: BackupRequest, options?: RunOptions): Promise<BackupPlan>;
  backupBatch(planId: string, batch: number, resume: BatchCursor | undefined, options?: RunOptions & { onCursor?: (cursor: BatchCursor) => void }): Promise<BatchResult>;
  commitBackup(planId: string): Promise<SnapshotSummary>;
  backup(request: BackupRequest, options?: RunOptions): Promise<SnapshotSummary>;

  listSnapshots(): Promise<SnapshotSummary[]>;
  /** 'latest', a full or unique-prefix id, or { asOf } (latest at or before that time). Filters by host/paths/tags. */
  resolveSnapshot(ref: string | { readonly asOf: string }, filter?: { readonly host?: string; readonly tags?: readonly string[] }): Promise<SnapshotSummary>;
  loadTree(id: string): Promise<Tree>;
  loadChunk(id: string, options?: { readonly signal?: AbortSignal }): Promise<Buffer>;

  restore(request: RestoreRequest, options?: RunOptions): Promise<RestoreResult>;
  /** Byte-for-byte (and metadata) comparison of a directory with a snapshot. */
  compare(request: RestoreRequest, options?: RunOptions): Promise<CompareResult>;
  verify(request: VerifyRequest, options?: RunOptions): Promise<VerifyReport>;
  prune(request: PruneRequest, options?: RunOptions): Promise<PruneReport>;

  listKeys(): Promise<KeyInfo[]>;
  addKey(unlock: Unlock, label?: string): Promise<KeyInfo>;
  removeKey(id: string): Promise<void>;
  /** Starts a new epoch used at once for new data. */
  beginRotation(): Promise<RotationStatus>;
  /** Re-encrypts up to `maxPacks` packs of older epochs; resumable, idempotent. */
  rotateBatch(maxPacks: number, options?: RunOptions): Promise<RotationStatus>;
  /** Retires old epochs after a fresh open proves every object decrypts with the new one. */
  finishRotation(): Promise<RotationStatus>;

  /**
   * The keyring's audit MAC key (a copy), for the worker's audit chain in the
   * catalog. Secret: never put it in a payload, result, log or error.
   */
  auditMacKey(): Uint8Array;
  /** Stores an audit chain checkpoint (create-if-absent; the same checkpoint again is a no-op). */
  writeAuditHead(head: AuditHeadCheckpoint): Promise<{ readonly created: boolean }>;
  /** The checkpoint with the highest seq, or undefined if none was written. */
  readAuditHead(): Promise<AuditHeadCheckpoint | undefined>;
  /** Same as readAuditHead: lets a Repository serve as the catalog's RepositoryView. */
  auditHead(): Promise<AuditHeadCheckpoint | undefined>;
  /** Stores a drill report (idempotent per drillId: a retry keeps the first); returns its object id. */
  saveDrillReport(report: DrillReportInput): Promise<string>;
  /** Every stored drill report, oldest first. */
  listDrillReports(): Promise<DrillReport[]>;

  /**
   * Copies snapshots, and only the chunks the destination lacks, into another
   * repository (3-2-1 replication): packs, then index, then each snapshot.
   * Re-running copies nothing new. Snapshots keep their ids.
   */
  copySnapshots(destination: Repository, snapshotIds: readonly string[], options?: RunOptions): Promise<CopyReport>;
  /**
   * Creates a new repository on `backend` that shares this one's chunk-id key
   * and chunker seed (its own data, metadata and audit keys), so that copies
   * between the two move chunks verbatim and backups into either deduplicate
   * against copied data. Config defaults to this repository's chunk size.
   */
  initReplica(backend: Backend, unlock: Unlock, options?: InitOptions): Promise<Repository>;

  /**
   * Picks up index objects other writers stored since this one was opened
   * (and drops the cached index if one vanished, e.g. after a prune), so a
   * long-lived open repository sees their chunks and snapshots.
   */
  refresh(): Promise<void>;
  /** Releases the engine's state (caches, worker threads); the backend stays open: its opener closes it. */
  close(): Promise<void>;
}

export interface Engine {
  init(backend: Backend, unlock: Unlock, options?: InitOptions): Promise<Repository>;
  open(backend: Backend, unlock: Unlock): Promise<Repository>;
}
