/**
 * Copying snapshots between repositories (3-2-1 replication).
 *
 * Chunk ids are keyed MACs, so the same plaintext has different ids in two
 * repositories with different chunk-id keys. Two cases:
 *
 * - Shared lifetime keys (a destination made with `initReplica`, like restic's
 *   `init --copy-chunker-params`): ids, and therefore tree bytes and tree ids,
 *   are equal in both repositories. A chunk the destination lacks is
 *   authenticated in the source and re-sealed under the destination's epoch
 *   keys and repository id, without recompressing; trees are copied byte for
 *   byte. The destination can tell what it lacks from its index alone, and
 *   its own backups (same chunker seed, same boundaries) deduplicate against
 *   copied data. This is the recommended setup.
 * - Independent keys: every referenced chunk is read from the source (its
 *   destination id can only be computed from the plaintext), re-hashed with
 *   the destination's key, and uploaded if missing; trees are rewritten with
 *   the new ids (new tree ids). Chunk boundaries stay those of the source
 *   chunker, so copied data deduplicates with other copies but not with
 *   backups made directly into the destination.
 *
 * Write order in the destination is the usual packs → index → snapshot, per
 * snapshot; a snapshot keeps its id, so a re-run skips snapshots already
 * there without reading anything, and an interrupted run resumes with the
 * chunks it already indexed (index objects are written every few packs).
 */
import { timingSafeEqual } from 'node:crypto';
import { IntegrityError } from '../crypto/errors';
import { Keyring } from '../crypto/keyring';
import { randomBytes } from '../crypto/random';
import { InvalidInput } from '../errors';
import type { Backend } from '../storage/backend';
import { NotFound } from '../storage/errors';
import { Names } from '../repository/format';
import type { ChunkLocation } from '../repository/master-index';
import { decodeTree, encodeTree } from '../repository/tree-codec';
import type { ContentRef, Tree } from '../repository/tree';
import type { CopyReport, InitOptions, Repository, RunOptions, SnapshotSummary, Unlock } from './api';
import type { RepoCore } from './core';
import { initRepository } from './open';
import { PackPool } from './pack-pool';
import { resolveSnapshot } from './snapshots';

/** Exported form of `source.copySnapshots(destination, …)`. */
export function copySnapshots(source: Repository, destination: Repository, snapshotIds: readonly string[], options: RunOptions = {}): Promise<CopyReport> {
  return source.copySnapshots(destination, snapshotIds, options);
}

/**
 * A keyring for a replica: the source's chunk-id key and chunker seed, fresh
 * audit MAC key and epoch-1 data and metadata keys.
 */
export function keyringSharingLifetimeKeys(source: Keyring): Keyring {
  const doc = JSON.parse(source.serialize().toString('utf8')) as Record<string, unknown>;
  const fresh = (): string => randomBytes(32).toString('base64');
  const serialized = Buffer.from(JSON.stringify({
    ...doc,
    auditMacKey: fresh(),
    currentEpoch: 1,
    epochs: [{ epoch: 1, dataKey: fresh(), metadataKey: fresh() }],
  }), 'utf8');
  try {
    return Keyring.deserialize(serialized);
  } finally {
    serialized.fill(0);
  }
}

export async function initReplica(source: RepoCore, backend: Backend, unlock: Unlock, options: InitOptions = {}): Promise<RepoCore> {
  const averageChunkSize = options.averageChunkSize ?? source.config.chunker.avgSize;
  return initRepository(backend, unlock, { ...options, averageChunkSize }, source.options, keyringSharingLifetimeKeys(source.keyring));
}

export function shareChunkIds(a: RepoCore, b: RepoCore): boolean {
  return timingSafeEqual(a.keyring.chunkIdKey, b.keyring.chunkIdKey);
}

interface Counters {
  chunksCopied: number;
  chunksSkipped: number;
  bytesCopied: number;
}

/** Ranged reads that cover less than this share of useful bytes are split per chunk. */
const SPAN_SLACK = 2;

class SnapshotCopier {
  /** Source tree id → destination tree id, for trees whose whole content is in the destination or the pool. */
  private readonly trees = new Map<string, string>();
  /** Source data chunk id → destination id (independent keys only). */
  private readonly chunks = new Map<string, string>();
  readonly counters: Counters = { chunksCopied: 0, chunksSkipped: 0, bytesCopied: 0 };
  readonly pool: PackPool;

  constructor(
    private readonly src: RepoCore,
    private readonly dst: RepoCore,
    private readonly shared: boolean,
    private readonly options: RunOptions,
  ) {
    this.pool = new PackPool(dst, {
      openPacks: 1,
      packSize: dst.config.packSize,
      compressionLevel: dst.config.compressionLevel,
      uploadConcurrency: dst.options.uploadConcurrency,
      signal: options.signal,
    });
  }

  /** Copies a tree and everything below it; returns its id in the destination. */
  async copyTree(srcId: string, onTree: () => void): Promise<string> {
    const known = this.trees.get(srcId);
    if (known !== undefined) return known;
    this.options.signal?.throwIfAborted();
    const plain = await this.src.loadChunk(srcId, 'tree', this.options.signal);
    const tree = decodeTree(plain, `tree ${srcId}`);
    await this.copyData(tree);
    const subtrees = new Map<string, string>();
    for (const node of tree.nodes) {
      if (node.subtree !== undefined && !subtrees.has(node.subtree)) subtrees.set(node.subtree, await this.copyTree(node.subtree, onTree));
    }
    let dstId: string;
    let bytes: Buffer;
    if (this.shared) {
      dstId = srcId;
      bytes = plain;
    } else {
      bytes = encodeTree(this.rewrite(tree, subtrees));
      dstId = this.dst.treeIdOf(bytes);
    }
    if (this.pool.has(dstId)) {
      this.counters.chunksSkipped++;
    } else {
      await this.pool.add(dstId, 'tree', bytes);
      this.counters.chunksCopied++;
      this.counters.bytesCopied += bytes.length;
    }
    this.trees.set(srcId, dstId);
    if (this.pool.uploadedCount >= this.dst.options.indexEveryPacks) await this.pool.indexUploaded();
    onTree();
    return dstId;
  }

  private rewrite(tree: Tree, subtrees: ReadonlyMap<string, string>): Tree {
    return {
      nodes: tree.nodes.map((node) => ({
        ...node,
        ...(node.content !== undefined ? { content: node.content.map((c): ContentRef => ('chunk' in c ? { chunk: this.chunks.get(c.chunk)!, size: c.size } : c)) } : {}),
        ...(node.subtree !== undefined ? { subtree: subtrees.get(node.subtree)! } : {}),
      })),
    };
  }

  /** Uploads the data chunks of one directory's files that the destination lacks. */
  private async copyData(tree: Tree): Promise<void> {
    const wanted = new Set<string>();
    for (const node of tree.nodes) {
      for (const c of node.content ?? []) {
        if (!('chunk' in c) || wanted.has(c.chunk)) continue;
        if (this.shared) {
          if (this.pool.has(c.chunk)) {
            if (!this.chunks.has(c.chunk)) this.counters.chunksSkipped++;
            this.chunks.set(c.chunk, c.chunk);
            continue;
          }
        } else if (this.chunks.has(c.chunk)) continue;
        wanted.add(c.chunk);
      }
    }
    await this.fetch([...wanted], async (srcId, plain, stored, loc) => {
      const dstId = this.shared ? srcId : this.dst.idOf('data', plain);
      this.chunks.set(srcId, dstId);
      if (this.pool.has(dstId)) {
        this.counters.chunksSkipped++;
        return;
      }
      await this.pool.add(dstId, 'data', plain, { data: stored, compressed: loc.compressed });
      this.counters.chunksCopied++;
      this.counters.bytesCopied += plain.length;
    });
  }

  /** Reads and authenticates chunks from the source, one request per pack where the chunks lie close together. */
  private async fetch(ids: readonly string[], each: (id: string, plain: Buffer, stored: Buffer, loc: ChunkLocation) => Promise<void>): Promise<void> {
    const byPack = new Map<string, { id: string; loc: ChunkLocation }[]>();
    for (const id of ids) {
      const loc = this.src.index.get(id);
      if (loc === undefined) throw new IntegrityError(`chunk ${id} is not in the source repository's index (missing data)`);
      if (loc.type !== 'data') throw new IntegrityError(`chunk ${id} is a ${loc.type} chunk, expected data`);
      const list = byPack.get(loc.pack) ?? [];
      list.push({ id, loc });
      byPack.set(loc.pack, list);
    }
    for (const [pack, list] of byPack) {
      this.options.signal?.throwIfAborted();
      const name = Names.pack(pack);
      list.sort((a, b) => a.loc.offset - b.loc.offset);
      const start = list[0].loc.offset;
      const end = Math.max(...list.map((e) => e.loc.offset + e.loc.length));
      const useful = list.reduce((sum, e) => sum + e.loc.length, 0);
      const span = end - start <= SPAN_SLACK * useful + 65_536 ? await this.load(name, start, end - start) : undefined;
      for (const { id, loc } of list) {
        const sealed = span !== undefined ? span.subarray(loc.offset - start, loc.offset - start + loc.length) : await this.load(name, loc.offset, loc.length);
        if (sealed.length !== loc.length) throw new IntegrityError(`chunk ${id}: pack ${name} is truncated`);
        const { plain, stored } = this.src.openVerifiedBlob(id, loc, sealed, name);
        await each(id, plain, stored, loc);
      }
    }
  }

  private async load(name: string, offset: number, length: number): Promise<Buffer> {
    try {
      return await this.src.backend.load(name, { offset, length }, { signal: this.options.signal });
    } catch (err) {
      if (err instanceof NotFound) throw new IntegrityError(`pack ${name} is missing in the source repository`, { cause: err });
      throw err;
    }
  }
}

/**
 * Copies the given snapshots (ids, unique prefixes or 'latest') from `src`
 * to `dst`. Shared locks on both: prune (exclusive) waits, backups continue.
 */
export async function copyBetween(src: RepoCore, dst: RepoCore, snapshotIds: readonly string[], options: RunOptions = {}): Promise<CopyReport> {
  if (src.repoId === dst.repoId) throw new InvalidInput('the source and destination are the same repository');
  if (snapshotIds.length === 0) throw new InvalidInput('name at least one snapshot to copy');
  const shared = shareChunkIds(src, dst);
  return src.withLock('shared', 'copy-source', () => dst.withLock('shared', 'copy', async () => {
    await src.refreshIndex();
    await dst.refreshIndex();
    const resolved = new Map<string, SnapshotSummary>();
    for (const ref of snapshotIds) {
      const s = await resolveSnapshot(src, ref);
      resolved.set(s.id, s);
    }
    const order = [...resolved.values()].sort((a, b) => a.time.localeCompare(b.time) || a.id.localeCompare(b.id));
    const present = await dst.listSnapshotObjects();
    const copier = new SnapshotCopier(src, dst, shared, options);
    let snapshotsCopied = 0;
    let snapshotsSkipped = 0;
    let treesDone = 0;
    const progress = (): void => options.onProgress?.({
      filesDone: snapshotsCopied + snapshotsSkipped,
      filesTotal: order.length,
      bytesDone: copier.counters.bytesCopied,
      bytesUploaded: copier.pool.bytesUploaded,
      currentPath: `${treesDone} trees`,
    });
    for (const snapshot of order) {
      if (present.has(snapshot.id)) {
        snapshotsSkipped++;
        continue;
      }
      const rootTree = await copier.copyTree(snapshot.rootTree, () => {
        treesDone++;
        if (treesDone % 64 === 0) progress();
      });
      await copier.pool.flushAndIndex();
      await dst.saveSnapshot({ ...snapshot, rootTree, keyEpoch: dst.keyring.currentEpoch });
      snapshotsCopied++;
      progress();
    }
    return {
      snapshotsCopied,
      snapshotsSkipped,
      chunksCopied: copier.counters.chunksCopied,
      chunksSkipped: copier.counters.chunksSkipped,
      bytesCopied: copier.counters.bytesCopied,
      bytesUploaded: copier.pool.bytesUploaded,
      sharedChunkIds: shared,
    };
  }));
}
