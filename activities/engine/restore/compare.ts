/**
 * Compares a directory with a snapshot tree: type, content (holes checked
 * without reading them via SEEK_DATA), mode, mtime (ns), owner, symlink target, device numbers, xattrs
 * and hard-link structure. Entries on disk that the snapshot lacks are
 * reported too (within the include/exclude selection).
 *
 * Content: when the reader can compute chunk ids, each stretch of the file
 * that a chunk covers is hashed as the backup hashed it (keyed BLAKE3, 256
 * bits) and compared with the snapshot's chunk id, so the repository is not
 * read at all (a restore then a compare used to read and decrypt everything
 * twice); otherwise the chunks are loaded and compared byte for byte.
 */
import { constants } from 'node:fs';
import type { BigIntStats } from 'node:fs';
import { lstat, open, readdir, readlink } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { resolve } from 'node:path';

import type { TreeNode } from '../../repository/tree';
import type { CompareResult } from '../api';
import { groupId, userId } from '../fs/accounts';
import { errorCode, nodeTypeOf, parseNs, readXattrs } from '../fs/metadata';
import { nativeFs } from '../fs/native';
import { readPieces } from './chunk-stream';
import { PathFilter } from './glob';
import type { SnapshotReader } from './reader';
import { loadCheckedTree } from './scan';
import { displayPath } from './validate';

export interface CompareOptions {
  readonly include?: readonly string[];
  readonly exclude?: readonly string[];
  readonly signal?: AbortSignal;
  /** Compare uid/gid too. Default: when running as root (as restore does). */
  readonly owner?: boolean;
  /** Differences listed at most (default 1000); the rest are counted in one last entry. */
  readonly maxDifferences?: number;
  readonly readAhead?: number;
}

type Difference = { readonly path: string; readonly what: string };

const READ_BLOCK = 1 << 20;

async function lstatIfExists(path: string): Promise<BigIntStats | undefined> {
  try {
    return await lstat(path, { bigint: true });
  } catch (err) {
    if (errorCode(err) === 'ENOENT') return undefined;
    throw err;
  }
}

async function readExactly(handle: FileHandle, length: number, offset: number): Promise<Buffer> {
  const buffer = Buffer.allocUnsafe(length);
  let done = 0;
  while (done < length) {
    const { bytesRead } = await handle.read(buffer, done, length - done, offset + done);
    if (bytesRead === 0) return buffer.subarray(0, done);
    done += bytesRead;
  }
  return buffer;
}

/** True when [offset, offset+length) of the file reads as zeros; data extents inside it are read, holes are not. */
async function isZeroRange(handle: FileHandle, offset: number, length: number): Promise<boolean> {
  const addon = nativeFs();
  const end = offset + length;
  let pos = offset;
  while (pos < end) {
    const data = addon.seekData(handle.fd, pos);
    if (data < 0 || data >= end) return true;
    const hole = addon.seekHole(handle.fd, data);
    const upto = hole < 0 ? end : Math.min(hole, end);
    for (let at = data; at < upto; at += READ_BLOCK) {
      const block = await readExactly(handle, Math.min(READ_BLOCK, upto - at), at);
      if (block.some((byte) => byte !== 0)) return false;
    }
    pos = upto;
  }
  return true;
}

function sameXattrs(disk: Readonly<Record<string, string>> | undefined, snap: Readonly<Record<string, string>> | undefined): boolean {
  const a = Object.entries(disk ?? {}).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0));
  const b = Object.entries(snap ?? {}).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0));
  return a.length === b.length && a.every(([key, value], i) => b[i]?.[0] === key && b[i][1] === value);
}

class CompareRun {
  private matched = 0;
  private readonly differences: Difference[] = [];
  private omitted = 0;
  private readonly owner: boolean;
  private readonly maxDifferences: number;
  /** hardlinkKey -> inode and first path; inode -> key. */
  private readonly linkInode = new Map<string, { inode: string; path: string }>();
  private readonly inodeKey = new Map<string, string>();

  constructor(
    private readonly reader: SnapshotReader,
    private readonly filter: PathFilter,
    private readonly options: CompareOptions,
  ) {
    this.owner = options.owner ?? process.getuid?.() === 0;
    this.maxDifferences = options.maxDifferences ?? 1000;
  }

  result(): CompareResult {
    const differences = [...this.differences];
    if (this.omitted > 0) differences.push({ path: '', what: `${this.omitted} more differences not listed` });
    return { matched: this.matched, differences };
  }

  private differ(rel: readonly string[], what: string): void {
    if (this.differences.length < this.maxDifferences) this.differences.push({ path: displayPath(rel), what });
    else this.omitted++;
  }

  async visit(treeId: string, rel: readonly string[], abs: string, ancestors: Set<string>): Promise<void> {
    this.options.signal?.throwIfAborted();
    const tree = await loadCheckedTree(this.reader, treeId, rel, ancestors);
    ancestors.add(treeId);
    const names = new Set(tree.nodes.map((node) => node.name));
    for (const name of await readdir(abs)) {
      if (!names.has(name) && this.filter.selects([...rel, name])) this.differ([...rel, name], 'not in the snapshot');
    }
    for (const node of tree.nodes) {
      const path = [...rel, node.name];
      const entryAbs = `${abs}/${node.name}`;
      if (node.type === 'dir') {
        if (!this.filter.descends(path)) continue;
        const st = await lstatIfExists(entryAbs);
        if (st === undefined && !this.filter.selects(path)) {
          // Only a container of selected entries: each of those is what is missing.
          await this.reportMissing(node.subtree as string, path, ancestors);
          continue;
        }
        if (st === undefined || !st.isDirectory()) {
          this.differ(path, st === undefined ? 'missing' : `type: ${nodeTypeOf(st)} on disk, dir in the snapshot`);
          continue;
        }
        await this.visit(node.subtree as string, path, entryAbs, ancestors);
        if (this.filter.selects(path)) await this.compareEntry(entryAbs, path, node, st);
        continue;
      }
      if (!this.filter.selects(path)) continue;
      const st = await lstatIfExists(entryAbs);
      if (st === undefined) {
        this.differ(path, 'missing');
        continue;
      }
      await this.compareEntry(entryAbs, path, node, st);
    }
    ancestors.delete(treeId);
  }

  /** Reports the selected entries below a directory that is absent on disk (and not selected itself). */
  private async reportMissing(treeId: string, rel: readonly string[], ancestors: Set<string>): Promise<void> {
    const tree = await loadCheckedTree(this.reader, treeId, rel, ancestors);
    ancestors.add(treeId);
    for (const node of tree.nodes) {
      const path = [...rel, node.name];
      if (this.filter.selects(path)) this.differ(path, 'missing');
      else if (node.type === 'dir' && this.filter.descends(path)) await this.reportMissing(node.subtree as string, path, ancestors);
    }
    ancestors.delete(treeId);
  }

  private async compareEntry(abs: string, rel: readonly string[], node: TreeNode, st: BigIntStats): Promise<void> {
    this.options.signal?.throwIfAborted();
    const found: string[] = [];
    const type = nodeTypeOf(st);
    if (type !== node.type) {
      this.differ(rel, `type: ${type} on disk, ${node.type} in the snapshot`);
      return;
    }
    const mode = Number(st.mode & 0o7777n);
    if (type !== 'symlink' && mode !== node.mode) found.push(`mode: ${mode.toString(8)} on disk, ${node.mode.toString(8)} in the snapshot`);
    if (st.mtimeNs !== parseNs(node.mtimeNs, 'mtime')) found.push(`mtime: ${st.mtimeNs} ns on disk, ${node.mtimeNs} in the snapshot`);
    if (this.owner) {
      const uid = (node.user === undefined ? undefined : userId(node.user)) ?? node.uid;
      const gid = (node.group === undefined ? undefined : groupId(node.group)) ?? node.gid;
      if (Number(st.uid) !== uid || Number(st.gid) !== gid) found.push(`owner: ${st.uid}:${st.gid} on disk, ${uid}:${gid} in the snapshot`);
    }
    if (!sameXattrs(readXattrs(abs), node.xattrs)) found.push('extended attributes differ');
    if (type === 'symlink') {
      const target = await readlink(abs);
      if (target !== node.linkTarget) found.push(`symlink target: ${JSON.stringify(target)} on disk, ${JSON.stringify(node.linkTarget)} in the snapshot`);
    }
    if ((type === 'chardev' || type === 'blockdev') && Number(st.rdev) !== node.rdev) found.push('device number differs');
    if (type === 'file') {
      this.checkHardlink(rel, node, st, found);
      const size = node.size ?? 0;
      if (st.size !== BigInt(size)) found.push(`size: ${st.size} on disk, ${size} in the snapshot`);
      else {
        const contentDiff = await this.compareContent(abs, rel, node);
        if (contentDiff !== undefined) found.push(contentDiff);
      }
    }
    if (found.length === 0) this.matched++;
    for (const what of found) this.differ(rel, what);
  }

  private checkHardlink(rel: readonly string[], node: TreeNode, st: BigIntStats, found: string[]): void {
    const inode = `${st.dev}:${st.ino}`;
    const key = node.hardlinkKey;
    const ownerKey = this.inodeKey.get(inode);
    if (key === undefined) {
      if (ownerKey !== undefined) found.push('hard-linked on disk to an entry it is not linked to in the snapshot');
      return;
    }
    const group = this.linkInode.get(key);
    if (group === undefined) {
      if (ownerKey !== undefined) found.push('hard-linked on disk to another link group');
      this.linkInode.set(key, { inode, path: displayPath(rel) });
      this.inodeKey.set(inode, key);
    } else if (group.inode !== inode) {
      found.push(`not hard-linked to ${JSON.stringify(group.path)} as in the snapshot`);
    }
  }

  private async compareContent(abs: string, rel: readonly string[], node: TreeNode): Promise<string | undefined> {
    const handle = await open(abs, constants.O_RDONLY | constants.O_NOFOLLOW);
    try {
      const idOf = this.reader.chunkIdOf?.bind(this.reader);
      if (idOf !== undefined) return await this.compareByChunkId(handle, node, idOf);
      for await (const piece of readPieces(this.reader, node.content ?? [], {
        signal: this.options.signal,
        readAhead: Math.max(1, this.options.readAhead ?? 4),
        path: displayPath(rel),
      })) {
        if ('data' in piece) {
          const disk = await readExactly(handle, piece.data.length, piece.offset);
          if (!disk.equals(piece.data)) return `content differs in bytes ${piece.offset}..${piece.offset + piece.data.length}`;
        } else if (!(await isZeroRange(handle, piece.offset, piece.hole))) {
          return `content differs in bytes ${piece.offset}..${piece.offset + piece.hole} (a hole in the snapshot)`;
        }
      }
      return undefined;
    } finally {
      await handle.close();
    }
  }

  /** Each chunk's stretch of the file, hashed and compared with the chunk's id; holes must read as zeros. */
  private async compareByChunkId(handle: FileHandle, node: TreeNode, idOf: (bytes: Uint8Array) => string): Promise<string | undefined> {
    let offset = 0;
    for (const ref of node.content ?? []) {
      this.options.signal?.throwIfAborted();
      if ('hole' in ref) {
        if (!(await isZeroRange(handle, offset, ref.hole))) return `content differs in bytes ${offset}..${offset + ref.hole} (a hole in the snapshot)`;
        offset += ref.hole;
        continue;
      }
      const disk = await readExactly(handle, ref.size, offset);
      if (disk.length !== ref.size || idOf(disk) !== ref.chunk) return `content differs in bytes ${offset}..${offset + ref.size}`;
      offset += ref.size;
    }
    return undefined;
  }
}

/** Compares directory `dir` with the snapshot tree `rootTreeId` (the directory's own metadata is not compared). */
export async function compareTree(
  reader: SnapshotReader,
  rootTreeId: string,
  dir: string,
  options: CompareOptions = {},
): Promise<CompareResult> {
  const run = new CompareRun(reader, new PathFilter(options.include, options.exclude), options);
  await run.visit(rootTreeId, [], resolve(dir), new Set());
  return run.result();
}
