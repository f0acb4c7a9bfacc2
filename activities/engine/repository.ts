/** The Repository API (activities/engine/api.ts) over an unlocked RepoCore. */
import type {
  AuditHeadCheckpoint,
  BackupPlan,
  BackupRequest,
  BatchCursor,
  BatchResult,
  CompareResult,
  CopyReport,
  DrillReport,
  DrillReportInput,
  InitOptions,
  KeyInfo,
  PruneReport,
  PruneRequest,
  Repository,
  RestoreRequest,
  RestoreResult,
  RotationStatus,
  RunOptions,
  SnapshotSummary,
  Unlock,
  VerifyReport,
  VerifyRequest,
} from './api';
import type { Tree } from '../repository/tree';
import type { Backend } from '../storage/backend';
import { InvalidInput } from '../errors';
import { readAuditHead, writeAuditHead } from './audit-head';
import { copyBetween, initReplica } from './copy';
import { listDrillReports, saveDrillReport } from './drill-reports';
import { backupBatch } from './backup/batch';
import { commitBackup } from './backup/commit';
import { planBackup } from './backup/plan';
import type { RepoCore } from './core';
import { addKey, listKeys, removeKey } from './keys';
import { prune } from './prune';
import { compareTree, restoreTree } from './restore';
import type { SnapshotReader } from './restore';
import { beginRotation, finishRotation, rotateBatch } from './rotation';
import { resolveSnapshot } from './snapshots';
import { verify } from './verify';

export class CofferRepository implements Repository {
  private closed = false;

  constructor(readonly core: RepoCore) {}

  get id(): string {
    return this.core.repoId;
  }

  get location(): string {
    return this.core.backend.location;
  }

  get currentEpoch(): number {
    return this.core.keyring.currentEpoch;
  }

  planBackup(request: BackupRequest, options?: RunOptions): Promise<BackupPlan> {
    return planBackup(this.core, request, options);
  }

  backupBatch(planId: string, batch: number, resume: BatchCursor | undefined, options?: RunOptions & { onCursor?: (cursor: BatchCursor) => void }): Promise<BatchResult> {
    return backupBatch(this.core, planId, batch, resume, options);
  }

  commitBackup(planId: string): Promise<SnapshotSummary> {
    return commitBackup(this.core, planId);
  }

  async backup(request: BackupRequest, options: RunOptions = {}): Promise<SnapshotSummary> {
    const plan = await this.planBackup(request, options);
    let filesBefore = 0;
    let bytesBefore = 0;
    let uploadedBefore = 0;
    for (let b = 0; b < plan.batches; b++) {
      const result = await this.backupBatch(plan.planId, b, undefined, {
        signal: options.signal,
        onProgress: options.onProgress === undefined ? undefined : (p) => options.onProgress!({
          ...p,
          filesDone: filesBefore + p.filesDone,
          filesTotal: plan.files,
          bytesDone: bytesBefore + p.bytesDone,
          bytesTotal: plan.bytes,
          bytesUploaded: uploadedBefore + (p.bytesUploaded ?? 0),
        }),
      });
      filesBefore += result.filesDone + result.unreadable.length;
      bytesBefore += result.bytesRead;
      uploadedBefore += result.bytesUploaded;
    }
    return this.commitBackup(plan.planId);
  }

  listSnapshots(): Promise<SnapshotSummary[]> {
    return this.core.loadSnapshots();
  }

  resolveSnapshot(ref: string | { readonly asOf: string }, filter?: { readonly host?: string; readonly tags?: readonly string[] }): Promise<SnapshotSummary> {
    return resolveSnapshot(this.core, ref, filter);
  }

  loadTree(id: string): Promise<Tree> {
    return this.core.loadTree(id);
  }

  loadChunk(id: string, options: { readonly signal?: AbortSignal } = {}): Promise<Buffer> {
    return this.core.loadChunk(id, 'data', options.signal);
  }

  private reader(): SnapshotReader {
    return {
      loadTree: (id) => this.core.loadTree(id),
      loadChunk: (id, options) => this.core.loadChunk(id, 'data', options?.signal),
      expectChunks: (ids) => this.core.expectChunks(ids),
      writeChunk: (id, size, fd, position, options) => this.core.writeChunkTo(id, size, fd, position, options),
      chunkIdOf: (bytes) => this.core.idOf('data', bytes),
    };
  }

  async restore(request: RestoreRequest, options: RunOptions = {}): Promise<RestoreResult> {
    const snapshot = await this.resolveSnapshot(request.snapshot);
    return restoreTree(this.reader(), snapshot.rootTree, request.target, {
      include: request.include,
      exclude: request.exclude,
      signal: options.signal,
      onProgress: options.onProgress,
    });
  }

  async compare(request: RestoreRequest, options: RunOptions = {}): Promise<CompareResult> {
    const snapshot = await this.resolveSnapshot(request.snapshot);
    return compareTree(this.reader(), snapshot.rootTree, request.target, { include: request.include, exclude: request.exclude, signal: options.signal });
  }

  verify(request: VerifyRequest, options?: RunOptions): Promise<VerifyReport> {
    return verify(this.core, request, options);
  }

  prune(request: PruneRequest, options?: RunOptions): Promise<PruneReport> {
    return prune(this.core, request, options);
  }

  listKeys(): Promise<KeyInfo[]> {
    return listKeys(this.core);
  }

  addKey(unlock: Unlock, label?: string): Promise<KeyInfo> {
    return addKey(this.core, unlock, label);
  }

  removeKey(id: string): Promise<void> {
    return removeKey(this.core, id);
  }

  beginRotation(): Promise<RotationStatus> {
    return beginRotation(this.core);
  }

  rotateBatch(maxPacks: number, options?: RunOptions): Promise<RotationStatus> {
    return rotateBatch(this.core, maxPacks, options);
  }

  finishRotation(): Promise<RotationStatus> {
    return finishRotation(this.core);
  }

  auditMacKey(): Uint8Array {
    return Buffer.from(this.core.keyring.auditMacKey);
  }

  writeAuditHead(head: AuditHeadCheckpoint): Promise<{ readonly created: boolean }> {
    return writeAuditHead(this.core, head);
  }

  readAuditHead(): Promise<AuditHeadCheckpoint | undefined> {
    return readAuditHead(this.core);
  }

  auditHead(): Promise<AuditHeadCheckpoint | undefined> {
    return readAuditHead(this.core);
  }

  saveDrillReport(report: DrillReportInput): Promise<string> {
    return saveDrillReport(this.core, report);
  }

  listDrillReports(): Promise<DrillReport[]> {
    return listDrillReports(this.core);
  }

  async copySnapshots(destination: Repository, snapshotIds: readonly string[], options?: RunOptions): Promise<CopyReport> {
    if (!(destination instanceof CofferRepository)) throw new InvalidInput('the destination must be a repository opened by this engine');
    return copyBetween(this.core, destination.core, snapshotIds, options);
  }

  async initReplica(backend: Backend, unlock: Unlock, options?: InitOptions): Promise<Repository> {
    return new CofferRepository(await initReplica(this.core, backend, unlock, options));
  }

  async refresh(): Promise<void> {
    await this.core.refreshIndex();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.core.close();
  }
}
