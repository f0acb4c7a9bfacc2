/**
 * Safe restore of a snapshot tree into a target directory. The snapshot is
 * treated as hostile even though it decrypted with a valid key:
 *
 * - every tree is validated first (scan.ts): a bad or duplicate name or a
 *   directory cycle anywhere fails the WHOLE restore with UnsafePath before
 *   anything is written (the safer choice over skipping the entry);
 * - every directory is created by this run (or found as a real directory on
 *   resume) and checked with lstat; an existing symlink or file where a
 *   directory belongs is refused, so nothing is written through a symlink;
 * - files, FIFOs and devices are written under a temporary name in their final
 *   directory (O_CREAT|O_EXCL|O_NOFOLLOW), made durable, given their metadata
 *   and only then renamed: a final path never holds a half-written file.
 *   Complete temp files wait in a group that one syncfs makes durable before
 *   they are all renamed (durable.ts); only the first file of a hard-link
 *   group, whose final path others wait for, is fsynced on its own;
 * - hard links point only at files this run restored (or found complete)
 *   inside the target; symlinks are created after all other entries, and
 *   directory metadata is applied last, children before parents;
 * - holes are skipped and the size set with ftruncate, so they stay sparse.
 *
 * Files are restored by bounded pools of concurrent tasks (directories and
 * the walks themselves stay sequential): large files in their own lane,
 * queued by a first walk, their large chunks decoded, checked and written at
 * their offsets by the CPU pool; everything else by a second walk on this
 * thread at the same time. A large chunk written more than once (duplicate
 * files) is decoded once and kept between its uses (repeated-chunks.ts). The first failure stops the others, which remove
 * their temp files before the error is thrown.
 *
 * Interrupted and run again, it skips files whose final path already has the
 * snapshot's size and mtime (metadata is applied before the rename, so such a
 * file is complete). On ENOSPC it throws NoSpace after removing its temp file.
 */
import { constants, lstatSync, renameSync, write as writeCallback } from 'node:fs';
import type { BigIntStats } from 'node:fs';
import { link, lstat, mkdir, open, readdir, rename, stat, symlink, unlink } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { resolve } from 'node:path';

import { InvalidInput } from '../../errors';
import { IntegrityError } from '../../crypto/errors';
import type { ContentRef, TreeNode } from '../../repository/tree';
import type { Progress, RestoreResult } from '../api';
import { applyNodeMetadata, applyXattrs, errorCode, localOwner, parseNs } from '../fs/metadata';
import { nativeFs } from '../fs/native';
import { readPieces } from './chunk-stream';
import { makeDurable } from './durable';
import { NoSpace, UnsafePath } from './errors';
import { PathFilter } from './glob';
import type { SnapshotReader } from './reader';
import { RepeatedChunks } from './repeated-chunks';
import { isLargeFile, loadCheckedTree, scanSnapshot, SMALL_FILE } from './scan';
import type { SnapshotTotals } from './scan';
import { SmallFileWriter } from './small-files';
import { TaskPool } from './task-pool';
import { TEMP_NAME, tempName } from './temp-name';
import { displayPath } from './validate';

export interface RestoreWarning {
  readonly path: string;
  readonly message: string;
}

export interface RestoreOptions {
  readonly include?: readonly string[];
  readonly exclude?: readonly string[];
  readonly signal?: AbortSignal;
  readonly onProgress?: (progress: Progress) => void;
  /** Restore owners (lchown). Default: when running as root. */
  readonly owner?: boolean;
  /**
   * Make each file durable before its rename (default true): a crash never
   * leaves a complete-looking empty file. Files are synced in groups (one
   * syncfs per group), hard-link group leaders one by one.
   */
  readonly fsync?: boolean;
  /** Chunks loaded ahead of the one being written, per file (default 8). */
  readonly readAhead?: number;
  /** Files restored at the same time next to the large-file lane (default FILE_CONCURRENCY). */
  readonly concurrency?: number;
  /** Things restored partly: devices without privilege, xattrs the target refuses. */
  readonly onWarning?: (warning: RestoreWarning) => void;
}

interface DirContext {
  readonly abs: string;
  readonly rel: readonly string[];
  readonly node?: TreeNode;
  readonly parent?: DirContext;
  /** Entry names of this directory in the snapshot (so leftover sweeping never touches them). */
  names: ReadonlySet<string>;
  ready: boolean;
  /** Created empty by this run: nothing of an earlier run can be in it, so no per-file existence check. */
  created?: boolean;
  /** Subdirectories met so far, kept so both walks share one context per directory. */
  children?: Map<string, DirContext>;
}

/**
 * The tree is walked twice. The first walk only queues the large files (and
 * creates their directories), so they are being restored from the start,
 * their chunks decoded and written on the CPU pool, while the second walk
 * creates everything else on this thread. In a single walk the two kinds of
 * work took turns, and the last large files ran alone at the end.
 */
type Walk = 'large-files' | 'the-rest';

interface PendingSymlink {
  readonly dir: DirContext;
  readonly abs: string;
  readonly rel: readonly string[];
  readonly node: TreeNode;
}

/**
 * A group of complete temp files is synced and renamed at this many files or
 * bytes. A sync per group starts the write-back of what was restored so far
 * while the restore goes on, instead of all of it at the end.
 */
const GROUP_FILES = 2048;
/**
 * Large files restored at the same time, next to the small ones. With decodes
 * for small files served first by the CPU pool, four files with 8 chunks in
 * flight each keep the workers fed: 1 GiB restore 3.9 s -> 3.75 s against 2 x 4.
 */
const LARGE_FILE_LANE = 4;
const GROUP_BYTES = 64 * 1024 * 1024;
/**
 * Small files in flight at once. Each waits for a pack range to be read and
 * decoded, so with 8 the small files finished last, on one core, after the
 * large-file lane was done; 32 keeps reads and decodes queued (1 GiB restore
 * 4.65 s -> 4.21 s median of 4 A/B runs; 64: 4.29 s). At most ~1 MiB each.
 */
const FILE_CONCURRENCY = 32;
/** Directories given their metadata at once (siblings and cousins only). */
const DIR_CONCURRENCY = 16;
/**
 * Plaintext of chunks written more than once, kept between their uses. In the
 * benchmark's tree 128 MiB avoids 213 of the 263 MiB decoded again (64 MiB:
 * 149), against a restore peak of ~430 MiB.
 */
const REPEATED_CHUNK_BUDGET = 128 * 1024 * 1024;

interface PendingRename {
  readonly tmp: string;
  readonly abs: string;
  readonly size: number;
}

const SPECIAL_TYPE_BITS: Readonly<Record<string, number>> = {
  fifo: constants.S_IFIFO,
  socket: constants.S_IFSOCK,
  chardev: constants.S_IFCHR,
  blockdev: constants.S_IFBLK,
};

function lstatSyncIfExists(path: string): BigIntStats | undefined {
  try {
    return lstatSync(path, { bigint: true });
  } catch (err) {
    if (errorCode(err) === 'ENOENT') return undefined;
    throw err;
  }
}

async function lstatIfExists(path: string): Promise<BigIntStats | undefined> {
  try {
    return await lstat(path, { bigint: true });
  } catch (err) {
    if (errorCode(err) === 'ENOENT') return undefined;
    throw err;
  }
}

async function removeQuietly(path: string): Promise<void> {
  try {
    await unlink(path);
  } catch {
    // Already gone, or never created.
  }
}

function writeAt(fd: number, data: Buffer, offset: number, length: number, position: number): Promise<number> {
  return new Promise((resolve, reject) => {
    writeCallback(fd, data, offset, length, position, (err, written) => (err === null ? resolve(written) : reject(err)));
  });
}

async function writeAllAt(fd: number, data: Buffer, position: number): Promise<void> {
  let done = 0;
  while (done < data.length) done += await writeAt(fd, data, done, data.length - done, position + done);
}

function isNoSpace(err: unknown): boolean {
  const code = errorCode(err);
  return code === 'ENOSPC' || code === 'EDQUOT';
}

/** Turns ENOSPC/EDQUOT of one entry's work into NoSpace naming that entry. */
async function noSpaceAt(rel: readonly string[], work: Promise<void>): Promise<void> {
  try {
    await work;
  } catch (err) {
    throw isNoSpace(err) ? new NoSpace(displayPath(rel), { cause: err }) : err;
  }
}

class RestoreRun {
  private readonly owner: boolean;
  private readonly fsync: boolean;
  private readonly readAhead: number;
  /** hardlinkKey -> absolute path of the first file restored (or found complete) with it; undefined if that failed. */
  private readonly links = new Map<string, Promise<string | undefined>>();
  private readonly controller = new AbortController();
  /** The caller's signal or an internal abort after the first failure. */
  private readonly signal: AbortSignal;
  readonly pool: TaskPool;
  /** The large-file lane: queued by the first walk, restored next to everything else. */
  readonly largeFiles: TaskPool;
  private readonly smallFiles = new SmallFileWriter();
  private readonly repeated: RepeatedChunks | undefined;
  /** The reader's loadChunk, serving repeated chunks from `repeated`. */
  private readonly chunkSource: Pick<SnapshotReader, 'loadChunk'>;
  private readonly symlinks: PendingSymlink[] = [];
  /** Directories made ready, parents before children. */
  private readonly dirs: DirContext[] = [];
  private files = 0;
  private dirCount = 0;
  private bytes = 0;
  private skipped = 0;
  private filesDone = 0;
  private bytesDone = 0;
  /** Snapshot-relative path being worked on, for NoSpace and progress (formatted only when asked for). */
  private currentRel: readonly string[] = [];
  get current(): string {
    return displayPath(this.currentRel);
  }
  set current(path: readonly string[]) {
    this.currentRel = path;
  }
  /** Files written and given their metadata, waiting for a group sync before their rename. */
  private group: PendingRename[] = [];
  private groupBytes = 0;
  /** Groups being synced and renamed (their temp files are theirs to remove on failure). */
  private readonly flushing = new Set<Promise<void>>();

  constructor(
    private readonly root: string,
    private readonly reader: SnapshotReader,
    private readonly filter: PathFilter,
    private readonly totals: SnapshotTotals,
    private readonly options: RestoreOptions,
  ) {
    this.repeated = totals.repeated === undefined || totals.repeated.size === 0 ? undefined : new RepeatedChunks(totals.repeated, REPEATED_CHUNK_BUDGET);
    this.chunkSource = { loadChunk: (id, opts) => this.repeated?.use(id, () => reader.loadChunk(id, opts)) ?? reader.loadChunk(id, opts) };
    this.owner = options.owner ?? process.getuid?.() === 0;
    this.fsync = options.fsync ?? true;
    this.readAhead = Math.max(1, options.readAhead ?? 8);
    this.signal = options.signal === undefined ? this.controller.signal : AbortSignal.any([options.signal, this.controller.signal]);
    this.pool = new TaskPool(Math.max(1, options.concurrency ?? FILE_CONCURRENCY), this.controller);
    this.largeFiles = new TaskPool(LARGE_FILE_LANE, this.controller);
  }

  result(): RestoreResult {
    return { files: this.files, dirs: this.dirCount, bytes: this.bytes, skipped: this.skipped };
  }

  private progress(): void {
    if (this.options.onProgress === undefined) return;
    this.options.onProgress({
      filesDone: this.filesDone,
      filesTotal: this.totals.files,
      bytesDone: this.bytesDone,
      bytesTotal: this.totals.bytes,
      currentPath: this.current,
    });
  }

  private warn(rel: readonly string[], message: string): void {
    this.options.onWarning?.({ path: displayPath(rel), message });
  }

  private async applyMetadata(abs: string, rel: readonly string[], node: TreeNode): Promise<void> {
    const outcome = await applyNodeMetadata(abs, node, { owner: this.owner });
    for (const name of outcome.skippedXattrs) this.warn(rel, `extended attribute ${name} not restored (not permitted here)`);
  }

  async visit(treeId: string, dir: DirContext, ancestors: Set<string>, walk: Walk = 'the-rest'): Promise<void> {
    this.signal.throwIfAborted();
    const tree = await loadCheckedTree(this.reader, treeId, dir.rel, ancestors);
    dir.names = new Set(tree.nodes.map((node) => node.name));
    ancestors.add(treeId);
    for (const node of tree.nodes) {
      this.signal.throwIfAborted();
      const rel = [...dir.rel, node.name];
      const abs = `${dir.abs}/${node.name}`;
      this.current = rel;
      if (node.type === 'dir') {
        if (!this.filter.descends(rel)) continue;
        dir.children ??= new Map();
        let child = dir.children.get(node.name);
        if (child === undefined) {
          child = { abs, rel, node, parent: dir, names: new Set(), ready: false };
          dir.children.set(node.name, child);
        }
        await this.visit(node.subtree as string, child, ancestors, walk);
        // An empty directory that is itself selected still exists in the result.
        if (walk === 'the-rest' && !child.ready && this.filter.selects(rel)) await this.ensureDir(child);
        continue;
      }
      if (!this.filter.selects(rel)) continue;
      const large = isLargeFile(node);
      if (large !== (walk === 'large-files')) continue;
      await this.ensureDir(dir);
      if (large) {
        // Nobody waits for a file outside a hard-link group, so it may wait in the queue.
        this.largeFiles.enqueue(() => noSpaceAt(rel, this.restoreFile(dir, abs, rel, node)));
      } else if (node.type === 'symlink') this.symlinks.push({ dir, abs, rel, node });
      else if (node.type === 'file') await this.dispatchFile(dir, abs, rel, node);
      else await this.pool.run(() => noSpaceAt(rel, this.restoreSpecial(dir, abs, rel, node)));
    }
    ancestors.delete(treeId);
    // Only needed while the directory's entries are being restored.
    dir.names = new Set();
  }

  /** Creates the directory (and its parents) on first use, refusing anything that is not a real directory. */
  private async ensureDir(dir: DirContext): Promise<void> {
    if (dir.ready) return;
    if (dir.parent !== undefined) await this.ensureDir(dir.parent);
    let existed = false;
    try {
      // Private until its own mode is applied at the end.
      await mkdir(dir.abs, 0o700);
    } catch (err) {
      if (errorCode(err) !== 'EEXIST') throw err;
      existed = true;
    }
    const st = await lstat(dir.abs);
    if (!st.isDirectory()) {
      throw new UnsafePath(displayPath(dir.rel), 'exists in the target and is not a directory (symlink or other entry); refusing to write through it');
    }
    if (existed) await this.sweepLeftovers(dir);
    dir.ready = true;
    dir.created = !existed;
    this.dirs.push(dir);
    this.dirCount++;
  }

  /** Removes temporary entries a crashed earlier run left behind (never an entry the snapshot names). */
  private async sweepLeftovers(dir: DirContext): Promise<void> {
    for (const name of await readdir(dir.abs)) {
      if (TEMP_NAME.test(name) && !dir.names.has(name)) await removeQuietly(`${dir.abs}/${name}`);
    }
  }

  private recordDone(size: number): void {
    this.filesDone++;
    this.bytesDone += size;
    this.progress();
  }

  /**
   * Queues a file. The first entry of a hard-link group publishes its final
   * path once complete; later entries of the group wait for it and link to it.
   */
  private async dispatchFile(dir: DirContext, abs: string, rel: readonly string[], node: TreeNode): Promise<void> {
    const key = node.hardlinkKey;
    const first = key === undefined ? undefined : this.links.get(key);
    if (first !== undefined) {
      await this.pool.run(async () => {
        const source = await first;
        // The first entry failed: that failure is the restore's error.
        if (source === undefined) return;
        await noSpaceAt(rel, this.restoreHardlink(dir, source, abs));
        this.recordDone(node.size ?? 0);
      });
      return;
    }
    let publish: (path: string | undefined) => void = () => undefined;
    if (key !== undefined) this.links.set(key, new Promise((resolve) => (publish = resolve)));
    await this.pool.run(async () => {
      try {
        await noSpaceAt(rel, this.restoreFile(dir, abs, rel, node));
        publish(abs);
      } catch (err) {
        publish(undefined);
        throw err;
      }
    });
  }

  private async restoreFile(dir: DirContext, abs: string, rel: readonly string[], node: TreeNode): Promise<void> {
    const size = node.size ?? 0;
    const existing = dir.created === true ? undefined : lstatSyncIfExists(abs);
    if (existing?.isFile() && existing.size === BigInt(size) && existing.mtimeNs === parseNs(node.mtimeNs, 'mtime')) {
      this.skipped++;
      this.recordDone(size);
      return;
    }
    // Hard-link group leaders publish their final path when done, so they are not held back in a group.
    if (size <= SMALL_FILE && node.hardlinkKey === undefined) {
      await this.restoreSmallFile(dir, abs, rel, node, size);
      return;
    }
    const tmp = `${dir.abs}/${tempName()}`;
    let handle: FileHandle | undefined;
    let writtenEnd = 0;
    try {
      handle = await open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
      writtenEnd = await this.writeContent(handle.fd, rel, node.content ?? []);
      // A trailing hole: set the size without writing it, so it stays sparse.
      if (writtenEnd !== size) await handle.truncate(size);
      // A hard-link group leader publishes its final path as soon as it is done, so it is synced on its own.
      const leader = node.hardlinkKey !== undefined;
      if (this.fsync && leader) await handle.sync();
      await handle.close();
      handle = undefined;
      await this.applyMetadata(tmp, rel, node);
      if (this.fsync && !leader) {
        // Durable with the next group sync, renamed only after it (the group owns the temp file from here).
        await this.enqueueRename(tmp, abs, size);
        return;
      }
      await rename(tmp, abs);
    } catch (err) {
      if (handle !== undefined) await handle.close().catch(() => undefined);
      await removeQuietly(tmp);
      throw err;
    }
    this.files++;
    this.bytes += size;
    this.filesDone++;
    this.progress();
  }

  /**
   * Writes a large file's chunks at their offsets, up to `readAhead` at once
   * (positional writes: order does not matter). Chunks the reader can write
   * itself (decoded and written on a CPU-pool worker) never come back to this
   * thread; the others are loaded and written here. Holes are skipped. Returns
   * where the last data ends. Every write has settled before this returns or
   * throws, so the caller may close the file.
   */
  private async writeContent(fd: number, rel: readonly string[], content: readonly ContentRef[]): Promise<number> {
    const path = (): string => displayPath(rel);
    const inFlight = new Set<Promise<void>>();
    let failure: { readonly error: unknown } | undefined;
    const writeOne = async (ref: { chunk: string; size: number }, at: number): Promise<void> => {
      const kept = this.repeated?.use(ref.chunk, () => this.reader.loadChunk(ref.chunk, { signal: this.signal }));
      const direct = kept !== undefined || this.reader.writeChunk === undefined ? false : await this.reader.writeChunk(ref.chunk, ref.size, fd, at, { signal: this.signal, path });
      if (!direct) {
        const data = await (kept ?? this.reader.loadChunk(ref.chunk, { signal: this.signal }));
        if (data.length !== ref.size) throw new IntegrityError(`chunk ${ref.chunk} of ${JSON.stringify(path())} has ${data.length} bytes, the tree says ${ref.size}`);
        await writeAllAt(fd, data, at);
      }
      this.bytesDone += ref.size;
      this.progress();
    };
    let offset = 0;
    let end = 0;
    try {
      for (const ref of content) {
        if ('hole' in ref) {
          offset += ref.hole;
          this.bytesDone += ref.hole;
          continue;
        }
        while (inFlight.size >= this.readAhead && failure === undefined) await Promise.race(inFlight);
        if (failure !== undefined) break;
        this.signal.throwIfAborted();
        const task = writeOne(ref, offset).catch((error: unknown) => {
          failure ??= { error };
        });
        inFlight.add(task);
        void task.finally(() => inFlight.delete(task));
        offset += ref.size;
        end = offset;
      }
    } finally {
      // Never return (and let the caller close the file) while a write to it may still happen.
      await Promise.all(inFlight);
    }
    if (failure !== undefined) throw failure.error;
    return end;
  }

  /**
   * A small file: content loaded (asynchronously, through the pack-range
   * cache), then created, written and given its owner, mode and times by the
   * batch writer on the thread pool; xattrs (rare) after that, by path; then
   * queued for a group sync and rename.
   */
  private async restoreSmallFile(dir: DirContext, abs: string, rel: readonly string[], node: TreeNode, size: number): Promise<void> {
    const pieces: { offset: number; data: Buffer }[] = [];
    for await (const piece of readPieces(this.chunkSource, node.content ?? [], { signal: this.signal, readAhead: this.readAhead, path: () => displayPath(rel) })) {
      if ('data' in piece) pieces.push(piece);
    }
    this.signal.throwIfAborted();
    const tmp = `${dir.abs}/${tempName()}`;
    const mtimeNs = parseNs(node.mtimeNs, 'mtime');
    const owner = this.owner ? localOwner(node) : { uid: -1, gid: -1 };
    const file = { path: tmp, pieces, size, mode: node.mode & 0o7777, ...owner, atimeNs: node.atimeNs === undefined ? mtimeNs : parseNs(node.atimeNs, 'atime'), mtimeNs };
    // On failure the writer has removed the file.
    await this.smallFiles.write(file);
    if (node.xattrs !== undefined && Object.keys(node.xattrs).length > 0) {
      try {
        for (const name of applyXattrs(tmp, node)) this.warn(rel, `extended attribute ${name} not restored (not permitted here)`);
      } catch (err) {
        await removeQuietly(tmp);
        throw err;
      }
    }
    this.bytesDone += size;
    if (!this.fsync) {
      await this.renameInto(tmp, abs, size);
      return;
    }
    await this.enqueueRename(tmp, abs, size);
  }

  /**
   * Queues a complete temp file (data written, metadata applied, closed) for
   * the next group sync, after which it is renamed to its final path. The
   * caller's task waits when the group is full and being flushed, which is
   * the backpressure that bounds the files waiting for their rename.
   */
  private async enqueueRename(tmp: string, abs: string, size: number): Promise<void> {
    this.group.push({ tmp, abs, size });
    this.groupBytes += size;
    if (this.group.length >= GROUP_FILES || this.groupBytes >= GROUP_BYTES) await this.flushGroup();
  }

  private async renameInto(tmp: string, abs: string, size: number): Promise<void> {
    try {
      renameSync(tmp, abs);
    } catch (err) {
      await removeQuietly(tmp);
      throw err;
    }
    this.recordRenamed(size);
  }

  private recordRenamed(size: number): void {
    this.files++;
    this.bytes += size;
    this.filesDone++;
    this.progress();
  }

  /** Waits for both lanes; the first failure aborts the other lane too. */
  async drainAll(): Promise<void> {
    await Promise.all([this.pool.drain(), this.largeFiles.drain()]);
  }

  /** Stops both lanes and waits until their tasks have removed their temp files. */
  async cancelAll(reason: unknown): Promise<void> {
    await Promise.all([this.pool.cancel(reason), this.largeFiles.cancel(reason)]);
  }

  /** Syncs the waiting files with one syncfs, then renames them into place. */
  async flushGroup(): Promise<void> {
    const group = this.group;
    this.group = [];
    this.groupBytes = 0;
    if (group.length === 0) return;
    const work = (async () => {
      let renamed = 0;
      try {
        await makeDurable(this.root, group.map((g) => g.tmp));
        // All renames in one call on the thread pool: one by one here, they held up the event loop.
        const [count, failure] = await nativeFs().renameAll(group.map((g) => g.tmp), group.map((g) => g.abs));
        for (; renamed < count; renamed++) this.recordRenamed(group[renamed].size);
        if (failure !== null) throw failure;
      } catch (err) {
        for (const g of group.slice(renamed)) await removeQuietly(g.tmp);
        throw err;
      }
    })();
    this.flushing.add(work);
    try {
      await work;
    } finally {
      this.flushing.delete(work);
    }
  }

  /**
   * After a failure or an abort: the waiting files are complete, so they
   * are still synced and renamed (a run again skips them); if even that fails,
   * their temp files are removed.
   */
  async settleGroup(): Promise<void> {
    await Promise.allSettled([...this.flushing]);
    await this.flushGroup().catch(() => undefined);
  }

  /** Links `abs` to a file restored earlier in this run (inside the target by construction). */
  private async restoreHardlink(dir: DirContext, first: string, abs: string): Promise<void> {
    const source = await lstat(first, { bigint: true });
    const existing = await lstatIfExists(abs);
    if (existing !== undefined && existing.dev === source.dev && existing.ino === source.ino) {
      this.skipped++;
      return;
    }
    const tmp = `${dir.abs}/${tempName()}`;
    // link(2) never follows a symlink at `first`; `first` is a regular file this run wrote or verified.
    await link(first, tmp);
    try {
      await rename(tmp, abs);
    } catch (err) {
      await removeQuietly(tmp);
      throw err;
    }
    this.files++;
  }

  private async restoreSpecial(dir: DirContext, abs: string, rel: readonly string[], node: TreeNode): Promise<void> {
    const tmp = `${dir.abs}/${tempName()}`;
    try {
      nativeFs().mknod(tmp, (SPECIAL_TYPE_BITS[node.type] ?? constants.S_IFIFO) | 0o600, node.rdev ?? 0);
    } catch (err) {
      if (errorCode(err) === 'EPERM' && (node.type === 'chardev' || node.type === 'blockdev')) {
        this.warn(rel, 'device node not restored (creating devices needs root)');
        this.recordDone(0);
        return;
      }
      throw err;
    }
    try {
      await this.applyMetadata(tmp, rel, node);
      await rename(tmp, abs);
    } catch (err) {
      await removeQuietly(tmp);
      throw err;
    }
    this.files++;
    this.recordDone(0);
  }

  /** Symlinks last: no later write of this run can pass through one. */
  async createSymlinks(): Promise<void> {
    for (const { dir, abs, rel, node } of this.symlinks) {
      this.signal.throwIfAborted();
      this.current = rel;
      const tmp = `${dir.abs}/${tempName()}`;
      await symlink(node.linkTarget as string, tmp);
      try {
        await this.applyMetadata(tmp, rel, node);
        await rename(tmp, abs);
      } catch (err) {
        await removeQuietly(tmp);
        throw err;
      }
      this.files++;
      this.recordDone(0);
    }
  }

  /**
   * Directory mode, owner, xattrs and times after all their children exist,
   * children first (a parent may lose its search permission): deepest level
   * first, and within a level (where none is another's parent) several at
   * once, as one by one each cost three thread-pool round trips in sequence.
   */
  async finishDirectories(): Promise<void> {
    const levels = new Map<number, DirContext[]>();
    for (const dir of this.dirs) {
      if (dir.node === undefined) continue;
      const level = levels.get(dir.rel.length);
      if (level === undefined) levels.set(dir.rel.length, [dir]);
      else level.push(dir);
    }
    for (const depth of [...levels.keys()].sort((a, b) => b - a)) {
      const level = levels.get(depth) ?? [];
      let next = 0;
      const worker = async (): Promise<void> => {
        for (let dir = level[next++]; dir !== undefined; dir = level[next++]) await this.finishDirectory(dir);
      };
      await Promise.all(Array.from({ length: Math.min(DIR_CONCURRENCY, level.length) }, worker));
    }
  }

  private async finishDirectory(dir: DirContext): Promise<void> {
    this.signal.throwIfAborted();
    this.current = dir.rel;
    const st = await lstat(dir.abs);
    if (!st.isDirectory()) throw new UnsafePath(displayPath(dir.rel), 'directory was replaced during the restore');
    await this.applyMetadata(dir.abs, dir.rel, dir.node as TreeNode);
  }
}

/**
 * Restores the tree `rootTreeId` into `target` (created if missing). Fails
 * with UnsafePath (nothing unsafe written), NoSpace, IntegrityError (chunk or
 * tree malformed), or the AbortSignal's reason; every failure removes the
 * temporary file in flight, so no partial file is left at a final path.
 */
export async function restoreTree(
  reader: SnapshotReader,
  rootTreeId: string,
  target: string,
  options: RestoreOptions = {},
): Promise<RestoreResult> {
  const filter = new PathFilter(options.include, options.exclude);
  const totals = await scanSnapshot(reader, rootTreeId, filter, options.signal, reader.expectChunks !== undefined);
  const root = resolve(target);
  const run = new RestoreRun(root, reader, filter, totals, options);
  reader.expectChunks?.(totals.chunks?.keys());
  try {
    await mkdir(root, { recursive: true });
    if (!(await stat(root)).isDirectory()) throw new InvalidInput(`restore target ${JSON.stringify(target)} is not a directory`);
    const rootDir: DirContext = { abs: root, rel: [], names: new Set(), ready: true };
    try {
      if (totals.largeFiles > 0) await run.visit(rootTreeId, rootDir, new Set(), 'large-files');
      await run.visit(rootTreeId, rootDir, new Set(), 'the-rest');
      await run.drainAll();
      await run.flushGroup();
    } catch (err) {
      // Let in-flight files stop and remove their temp files before reporting.
      await run.cancelAll(err);
      await run.settleGroup();
      throw err;
    }
    await run.createSymlinks();
    await run.finishDirectories();
  } catch (err) {
    if (isNoSpace(err)) throw new NoSpace(run.current, { cause: err });
    throw err;
  } finally {
    reader.expectChunks?.(undefined);
  }
  return run.result();
}
