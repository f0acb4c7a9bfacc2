/**
 * backupBatch: read each file of one batch once, chunk, deduplicate,
 * compress and seal new chunks into packs; record each file's content list.
 * Durable progress (packs, then an index object, then a `part` object naming
 * the files done) is written at checkpoints, so a retried batch skips what is
 * recorded. Files unchanged since the parent snapshot reuse its content list
 * without being read.
 */
import type { BigIntStats } from 'node:fs';
import { closeSync, constants, fstatSync, lstatSync, openSync, read } from 'node:fs';
import { open } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { Chunker } from '../../chunking/fastcdc';
import { chunkId } from '../../crypto/chunk-id';
import { InvalidInput } from '../../errors';
import { AlreadyExists } from '../../storage/errors';
import { lastSegment, Names, ObjectType } from '../../repository/format';
import type { ContentRef, TreeNode } from '../../repository/tree';
import { nativeFs, readNodeMetadata } from '../fs';
import { groupName, userName } from '../fs/accounts';
import type { BatchCursor, BatchResult, RunOptions } from '../api';
import type { RepoCore } from '../core';
import { PackPool } from '../pack-pool';
import { ParentLookup } from './parent';
import { loadPlan } from './plan';
import type { BatchDoc, BatchStats, FileResult, PlanFile, PlanFilesDoc } from './plan-doc';
import { addStats, emptyStats } from './plan-doc';

/** Files up to this size (and not sparse) are read synchronously in one piece. */
const SMALL_FILE = 1024n * 1024n;

/** All-zero chunks at least this long are stored as holes. */
const MIN_HOLE = 4096;

function reasonOf(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  return e.code !== undefined ? `${e.code}: ${e.syscall ?? 'read'} failed` : err instanceof Error ? err.message : String(err);
}

/** A Node file-system error (has a syscall), as opposed to a storage or engine error. */
function isFsError(err: unknown): boolean {
  return err instanceof Error && typeof (err as NodeJS.ErrnoException).syscall === 'string';
}

function sameVersion(a: BigIntStats, b: BigIntStats): boolean {
  return a.size === b.size && a.mtimeNs === b.mtimeNs && a.ctimeNs === b.ctimeNs && a.ino === b.ino;
}

export type BatchOptions = RunOptions & { onCursor?: (cursor: BatchCursor) => void };

export function batchResultOf(doc: BatchDoc): BatchResult {
  return {
    batch: doc.batch,
    filesDone: doc.stats.filesDone,
    bytesRead: doc.stats.bytesRead,
    bytesUploaded: doc.stats.bytesUploaded,
    chunksNew: doc.stats.chunksNew,
    chunksDeduplicated: doc.stats.chunksDeduplicated,
    filesUnchanged: doc.stats.filesUnchanged,
    unreadable: doc.unreadable,
    changedDuringRead: doc.changedDuringRead,
  };
}

export async function loadBatchDoc(core: RepoCore, planId: string, batch: number): Promise<BatchDoc | undefined> {
  return (await core.tryLoadJson(ObjectType.batch, Names.batch(planId, batch), `${planId}/batch-${batch}`)) as BatchDoc | undefined;
}

async function loadParts(core: RepoCore, planId: string, batch: number): Promise<{ parts: BatchDoc[]; next: number }> {
  const prefix = Names.batchPartPrefix(planId, batch);
  const names: { name: string; k: number }[] = [];
  for await (const obj of core.backend.list(prefix)) {
    const k = Number(obj.name.slice(prefix.length));
    if (Number.isSafeInteger(k)) names.push({ name: obj.name, k });
  }
  names.sort((a, b) => a.k - b.k);
  const parts: BatchDoc[] = [];
  for (const { name } of names) {
    parts.push((await core.loadJson(ObjectType.batch, name, `${planId}/${lastSegment(name)}`)).value as BatchDoc);
  }
  return { parts, next: names.length === 0 ? 0 : names[names.length - 1].k + 1 };
}

class BatchRun {
  private readonly pool: PackPool;
  private readonly chunkIdKey: Buffer;
  private readonly zero: Buffer;
  stats: BatchStats = emptyStats();

  files: FileResult[] = [];
  unreadable: { path: string; reason: string }[] = [];
  changed: string[] = [];

  constructor(
    private readonly core: RepoCore,
    private readonly parent: ParentLookup,
    private readonly signal: AbortSignal | undefined,
  ) {
    const cfg = core.config;
    this.pool = new PackPool(core, {
      openPacks: cfg.openPacks,
      packSize: cfg.packSize,
      compressionLevel: cfg.compressionLevel,
      uploadConcurrency: core.options.uploadConcurrency,
      signal,
    });
    this.chunkIdKey = core.keyring.chunkIdKey;
    this.zero = Buffer.alloc(cfg.chunker.maxSize);
  }

  get bytesUploaded(): number {
    return this.pool.bytesUploaded;
  }

  private async storeChunk(chunk: Buffer, content: ContentRef[]): Promise<void> {
    const len = chunk.length;
    if (len >= MIN_HOLE && chunk.equals(this.zero.subarray(0, len))) {
      pushHole(content, len);
      return;
    }
    const id = chunkId(this.chunkIdKey, chunk);
    content.push({ chunk: id, size: len });
    if (this.pool.has(id)) {
      this.stats.chunksDeduplicated++;
      return;
    }
    await this.pool.add(id, 'data', chunk);
    this.stats.chunksNew++;
    this.stats.bytesNew += len;
    if (this.pool.uploadedCount >= this.core.options.indexEveryPacks) await this.pool.indexUploaded();
  }

  /** Reads [start, end) of the file through the chunker. */
  private async readRange(fh: FileHandle, start: number, end: number, content: ContentRef[]): Promise<number> {
    const chunker = new Chunker(this.core.config.chunker, this.core.keyring.chunkerSeed);
    const readSize = this.core.options.readSize;
    let pos = start;
    let total = 0;
    const readAt = (at: number): Promise<{ bytesRead: number; buffer: Buffer }> => {
      const buf = Buffer.allocUnsafe(Math.min(readSize, Math.max(1, end - at)));
      return fh.read(buf, 0, buf.length, at);
    };
    let pendingRead = pos < end ? readAt(pos) : undefined;
    while (pendingRead !== undefined) {
      this.signal?.throwIfAborted();
      const { bytesRead, buffer } = await pendingRead;
      if (bytesRead === 0) break;
      pos += bytesRead;
      total += bytesRead;
      // Start the next read before chunking this one so disk and CPU overlap.
      pendingRead = pos < end ? readAt(pos) : undefined;
      for (const chunk of chunker.push(buffer.subarray(0, bytesRead))) await this.storeChunk(chunk, content);
    }
    for (const chunk of chunker.finish()) await this.storeChunk(chunk, content);
    return total;
  }

  async processFile(file: PlanFile): Promise<void> {
    const name = file.path.slice(file.path.lastIndexOf('/') + 1);
    let st: BigIntStats;
    try {
      // Synchronous: a thread-pool round trip costs more than the call itself on local file systems.
      st = lstatSync(file.abs, { bigint: true });
    } catch (err) {
      this.unreadable.push({ path: file.abs, reason: reasonOf(err) });
      return;
    }
    // Unchanged since the parent (size, mtime, ctime, inode): its content list and its xattrs are reused
    // without reading either (a change of mode, owner, xattrs or link count moves ctime).
    const before = st.isFile() ? await this.parent.lookup(file.path) : undefined;
    if (
      before?.type === 'file' &&
      before.size === Number(st.size) &&
      before.mtimeNs === st.mtimeNs.toString() &&
      before.ctimeNs === st.ctimeNs.toString() &&
      before.inode === st.ino.toString() &&
      before.content !== undefined &&
      before.content.every((c) => !('chunk' in c) || this.pool.has(c.chunk))
    ) {
      this.files.push({ path: file.path, node: unchangedNode(before, name, st) });
      this.stats.filesDone++;
      this.stats.filesUnchanged++;
      return;
    }
    let meta: TreeNode;
    try {
      meta = { ...(await readNodeMetadata(file.abs, name, st)), ctimeNs: st.ctimeNs.toString(), inode: st.ino.toString() };
    } catch (err) {
      this.unreadable.push({ path: file.abs, reason: reasonOf(err) });
      return;
    }
    if (!st.isFile()) {
      // Became something else since planning: record what it is now.
      this.files.push({ path: file.path, node: meta });
      this.stats.filesDone++;
      return;
    }
    if (st.size <= SMALL_FILE && st.blocks * 512n >= st.size) {
      await this.processSmallFile(file, st, meta);
      return;
    }
    let fh: FileHandle;
    try {
      fh = await open(file.abs, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    } catch (err) {
      this.unreadable.push({ path: file.abs, reason: reasonOf(err) });
      return;
    }
    try {
      const first = await fh.stat({ bigint: true });
      if (!first.isFile()) {
        this.unreadable.push({ path: file.abs, reason: 'replaced by a non-file while opening' });
        return;
      }
      const content: ContentRef[] = [];
      let read = 0;
      try {
        read = await this.readContent(fh, first, content);
      } catch (err) {
        if (this.signal?.aborted === true || !isFsError(err)) throw err;
        this.unreadable.push({ path: file.abs, reason: reasonOf(err) });
        return;
      }
      const after = await fh.stat({ bigint: true });
      if (!sameVersion(first, after) || read !== Number(first.size)) this.changed.push(file.abs);
      const size = content.reduce((s, c) => s + ('chunk' in c ? c.size : c.hole), 0);
      this.files.push({
        path: file.path,
        node: { ...meta, mtimeNs: first.mtimeNs.toString(), ctimeNs: first.ctimeNs.toString(), size, content },
      });
      this.stats.filesDone++;
      this.stats.bytesRead += read;
    } finally {
      await fh.close();
    }
  }

  /**
   * Small files are read in one go: open, fstat and close synchronously (they
   * hit inodes the plan's lstat cached; a thread-pool round trip would cost
   * more), the read itself asynchronously (it may wait for the disk).
   */
  private async processSmallFile(file: PlanFile, st: BigIntStats, meta: TreeNode): Promise<void> {
    const size = Number(st.size);
    let data: Buffer;
    let after: BigIntStats;
    let fd: number;
    try {
      fd = openSync(file.abs, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    } catch (err) {
      this.unreadable.push({ path: file.abs, reason: reasonOf(err) });
      return;
    }
    try {
      // One byte more than expected, to notice a file that grew.
      const buf = Buffer.allocUnsafe(size + 1);
      let read = 0;
      for (;;) {
        // The read itself goes to the thread pool: on a cold cache it waits for the disk, and the
        // other files in flight keep the main thread busy meanwhile (open/fstat/close hit cached inodes).
        const n = await readAt(fd, buf, read, buf.length - read, read);
        if (n === 0) break;
        read += n;
        if (read === buf.length) break;
      }
      data = buf.subarray(0, Math.min(read, size));
      after = fstatSync(fd, { bigint: true });
      if (!after.isFile()) throw Object.assign(new Error('not a regular file any more'), { code: 'EINVAL', syscall: 'fstat' });
      if (read !== size || !sameVersion(st, after)) this.changed.push(file.abs);
    } catch (err) {
      this.unreadable.push({ path: file.abs, reason: reasonOf(err) });
      return;
    } finally {
      closeSync(fd);
    }
    const content: ContentRef[] = [];
    const chunker = new Chunker(this.core.config.chunker, this.core.keyring.chunkerSeed);
    for (const chunk of [...chunker.push(data), ...chunker.finish()]) await this.storeChunk(chunk, content);
    this.files.push({ path: file.path, node: { ...meta, mtimeNs: after.mtimeNs.toString(), ctimeNs: after.ctimeNs.toString(), size: data.length, content } });
    this.stats.filesDone++;
    this.stats.bytesRead += data.length;
  }

  /** Whole file, or for sparse files only the data regions (holes found with SEEK_DATA/SEEK_HOLE). */
  private async readContent(fh: FileHandle, st: BigIntStats, content: ContentRef[]): Promise<number> {
    const size = Number(st.size);
    const sparse = st.blocks * 512n < st.size;
    if (!sparse) return this.readRange(fh, 0, size, content);
    const fs = nativeFs();
    let read = 0;
    let pos = 0;
    while (pos < size) {
      const data = fs.seekData(fh.fd, pos);
      if (data < 0 || data >= size) {
        pushHole(content, size - pos);
        break;
      }
      if (data > pos) pushHole(content, data - pos);
      let hole = fs.seekHole(fh.fd, data);
      if (hole < 0 || hole > size) hole = size;
      read += await this.readRange(fh, data, hole, content);
      pos = hole;
    }
    return read;
  }

  /** Uploads open packs and indexes them: everything recorded so far is durable. */
  async flush(): Promise<void> {
    await this.pool.flushAndIndex();
  }

  private uploadedAtTake = 0;

  /** Hands over the results gathered since the last call (synchronously, so nothing is lost in between). */
  take(): BatchDoc & { count: number } {
    const uploaded = this.pool.bytesUploaded;
    const doc = { batch: -1, stats: { ...this.stats, bytesUploaded: uploaded - this.uploadedAtTake }, files: this.files, unreadable: this.unreadable, changedDuringRead: this.changed };
    this.uploadedAtTake = uploaded;
    this.stats = emptyStats();
    this.files = [];
    this.unreadable = [];
    this.changed = [];
    return { ...doc, count: doc.files.length + doc.unreadable.length };
  }
}

/**
 * The node of a file unchanged since the parent snapshot: what lstat tells
 * afresh (mode, owner, times, link identity), the rest (xattrs, content) from the parent.
 */
function unchangedNode(before: TreeNode, name: string, st: BigIntStats): TreeNode {
  const uid = Number(st.uid);
  const gid = Number(st.gid);
  const user = userName(uid);
  const group = groupName(gid);
  return {
    name,
    type: 'file',
    mode: Number(st.mode & 0o7777n),
    uid,
    gid,
    ...(user === undefined ? {} : { user }),
    ...(group === undefined ? {} : { group }),
    mtimeNs: st.mtimeNs.toString(),
    atimeNs: st.atimeNs.toString(),
    ctimeNs: st.ctimeNs.toString(),
    inode: st.ino.toString(),
    size: Number(st.size),
    ...(st.nlink > 1n ? { hardlinkKey: `${st.dev}:${st.ino}` } : {}),
    ...(before.xattrs === undefined ? {} : { xattrs: before.xattrs }),
    content: before.content,
  };
}

function readAt(fd: number, buffer: Buffer, offset: number, length: number, position: number): Promise<number> {
  return new Promise((resolve, reject) => {
    read(fd, buffer, offset, length, position, (err, bytesRead) => (err === null ? resolve(bytesRead) : reject(err)));
  });
}

function pushHole(content: ContentRef[], n: number): void {
  if (n <= 0) return;
  const last = content[content.length - 1];
  if (last !== undefined && 'hole' in last) content[content.length - 1] = { hole: last.hole + n };
  else content.push({ hole: n });
}

export async function backupBatch(core: RepoCore, planId: string, batch: number, resume: BatchCursor | undefined, options: BatchOptions = {}): Promise<BatchResult> {
  const plan = await loadPlan(core, planId);
  if (plan === undefined) throw new InvalidInput(`backup plan ${planId} does not exist (already committed or never created)`);
  if (!Number.isInteger(batch) || batch < 0 || batch >= plan.batches) throw new InvalidInput(`plan ${planId.slice(0, 12)} has no batch ${batch}`);
  const done = await loadBatchDoc(core, planId, batch);
  if (done !== undefined) return batchResultOf(done);

  return core.withLock('shared', 'backup', async () => {
    await core.refreshIndex();
    const { files } = (await core.loadJson(ObjectType.planFiles, Names.planFiles(planId, batch), `${planId}/files-${batch}`)).value as PlanFilesDoc;
    // Parts are the truth about progress; the cursor is only a hint.
    const { parts, next } = await loadParts(core, planId, batch);
    let partNo = next;
    const recorded = new Set<string>();
    let prior = emptyStats();
    const allFiles: FileResult[] = [];
    const allUnreadable: { path: string; reason: string }[] = [];
    const allChanged: string[] = [];
    for (const p of parts) {
      for (const f of p.files) recorded.add(f.path);
      for (const u of p.unreadable) recorded.add(u.path);
      prior = addStats(prior, p.stats);
      allFiles.push(...p.files);
      allUnreadable.push(...p.unreadable);
      allChanged.push(...p.changedDuringRead);
    }
    const unreadablePaths = new Set(allUnreadable.map((u) => u.path));
    void resume;

    const parent = new ParentLookup(core, plan.parentRootTree);
    const run = new BatchRun(core, parent, options.signal);
    const uploadedBefore = prior.bytesUploaded;
    let lastCheckpoint = Date.now();
    let readAtCheckpoint = 0;
    let filesCompleted = recorded.size;

    // Called only when no file is in flight: every chunk of every finished file is then in a pack being flushed.
    const checkpoint = async (): Promise<void> => {
      await run.flush();
      const part = run.take();
      lastCheckpoint = Date.now();
      if (part.count === 0) return;
      const doc: BatchDoc = { batch, stats: part.stats, files: part.files, unreadable: part.unreadable, changedDuringRead: part.changedDuringRead };
      const name = Names.batchPart(planId, batch, partNo);
      await core.saveJson(ObjectType.batch, name, `${planId}/${lastSegment(name)}`, doc);
      partNo++;
      prior = addStats(prior, part.stats);
      allFiles.push(...part.files);
      allUnreadable.push(...part.unreadable);
      allChanged.push(...part.changedDuringRead);
      filesCompleted += part.count;
      options.onCursor?.({ batch, filesCompleted });
    };

    // Several files in flight so their system calls overlap; a checkpoint waits for all of them.
    const inFlight = new Set<Promise<void>>();
    let failure: unknown;
    const settle = async (all: boolean): Promise<void> => {
      if (all) await Promise.all(inFlight);
      else await Promise.race(inFlight);
      if (failure !== undefined) throw failure instanceof Error ? failure : new Error('backup batch failed');
    };
    let lastProgress = 0;
    for (const file of files) {
      if (recorded.has(file.path) || unreadablePaths.has(file.abs)) continue;
      options.signal?.throwIfAborted();
      while (inFlight.size >= core.options.fileConcurrency) await settle(false);
      const now = Date.now();
      if (now - lastCheckpoint >= core.options.checkpointMs || prior.bytesRead + run.stats.bytesRead - readAtCheckpoint >= core.options.checkpointBytes) {
        await settle(true);
        await checkpoint();
        readAtCheckpoint = prior.bytesRead;
      }
      const task = run.processFile(file).catch((err: unknown) => {
        failure ??= err;
      });
      inFlight.add(task);
      void task.finally(() => inFlight.delete(task));
      if (options.onProgress !== undefined && now - lastProgress >= 200) {
        lastProgress = now;
        options.onProgress({
          filesDone: filesCompleted + run.files.length + run.unreadable.length,
          filesTotal: files.length,
          bytesDone: prior.bytesRead + run.stats.bytesRead,
          bytesUploaded: uploadedBefore + run.bytesUploaded,
          currentPath: file.abs,
        });
      }
    }
    await settle(true);
    await checkpoint();
    const doc: BatchDoc = { batch, stats: prior, files: allFiles, unreadable: allUnreadable, changedDuringRead: allChanged };
    try {
      await core.saveJson(ObjectType.batch, Names.batch(planId, batch), `${planId}/batch-${batch}`, doc);
    } catch (err) {
      // A concurrent run of the same batch finished first: its result stands.
      if (!(err instanceof AlreadyExists)) throw err;
      const existing = await loadBatchDoc(core, planId, batch);
      if (existing !== undefined) return batchResultOf(existing);
      throw err;
    }
    return batchResultOf(doc);
  });
}
