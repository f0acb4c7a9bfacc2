/**
 * The unlocked repository: backend, keyring, config and the in-memory index,
 * plus the primitives every operation shares (sealed metadata objects,
 * authenticated chunk reads, trees, snapshots, locks).
 */
import { createCpuPool } from '../chunking/pipeline-pool';
import type { CpuPool } from '../chunking/pipeline-pool';
import { chunkId } from '../crypto/chunk-id';
import { IntegrityError } from '../crypto/errors';
import type { Keyring } from '../crypto/keyring';
import { randomId } from '../crypto/random';
import { decompressChunk } from '../compression/zstd';
import type { Backend } from '../storage/backend';
import { AlreadyExists, NotFound } from '../storage/errors';
import type { RepoConfig } from '../repository/config';
import { openEnvelope, openJson, sealEnvelope, sealJson } from '../repository/envelope';
import type { EnvelopeTarget } from '../repository/envelope';
import { lastSegment, Names, ObjectType, snapshotNameParts } from '../repository/format';
import type { ChunkType, ObjectTypeName } from '../repository/format';
import { decodeIndex, encodeIndex } from '../repository/index-codec';
import type { IndexedPack } from '../repository/index-codec';
import { RepoLock } from '../repository/lock';
import type { LockKind } from '../repository/lock';
import { MasterIndex } from '../repository/master-index';
import type { ChunkLocation } from '../repository/master-index';
import { blobAd, blobKey, openBlob } from '../repository/pack';
import { validateSnapshot } from '../repository/snapshot-codec';
import { decodeTree } from '../repository/tree-codec';
import type { Tree } from '../repository/tree';
import type { StoredKey } from '../repository/key-store';
import type { SnapshotSummary, Unlock } from './api';
import type { ResolvedEngineOptions } from './options';
import { OWN_READ_FROM, PackRanges } from './pack-ranges';
import type { ChunkBytes, RangeChunk } from './pack-ranges';

/** Chunks at least this large are opened and decompressed on a worker thread (smaller ones cost more to hand over). */
const UNPACK_OFFLOAD_FROM = OWN_READ_FROM;

/** Trees are hashed with a domain prefix so a file whose bytes equal a tree's encoding gets another id. */
const TREE_ID_DOMAIN = Buffer.from('coffer/tree/v1\0', 'utf8');

export interface SnapshotObject {
  readonly id: string;
  readonly name: string;
  readonly epoch: number;
}

export class RepoCore {
  readonly index = new MasterIndex();
  private readonly treeCache = new Map<string, Tree>();
  private cpu: CpuPool | undefined;
  /** Sealed chunk bytes read in ranges spanning several chunks, recently read ranges cached. */
  readonly ranges: PackRanges;

  constructor(
    readonly backend: Backend,
    public keyring: Keyring,
    readonly config: RepoConfig,
    readonly options: ResolvedEngineOptions,
    /** The key file this session opened with, and how (kept in memory for rotation's re-wrap). */
    public keyFile: StoredKey,
    readonly unlock: Unlock,
  ) {
    this.ranges = new PackRanges(backend, this.index, { decoder: (sealed, chunks, pack) => this.decodeRange(sealed, chunks, pack) });
  }

  /** Worker threads for compression and sealing (undefined: work inline on this thread). */
  cpuPool(): CpuPool | undefined {
    if (this.options.cpuWorkers === 0) return undefined;
    this.cpu ??= createCpuPool(this.options.cpuWorkers);
    return this.cpu;
  }

  async close(): Promise<void> {
    const cpu = this.cpu;
    this.cpu = undefined;
    this.index.clear();
    this.treeCache.clear();
    this.ranges.clear();
    await cpu?.close();
  }

  get repoId(): string {
    return this.config.repoId;
  }

  target(type: ObjectTypeName, objectId: string, name: string): EnvelopeTarget {
    return { repoId: this.repoId, type, objectId, name };
  }

  /** Retention for immutable objects (packs, index, snapshots), when the repository asks for it. */
  retainUntil(): Date | undefined {
    const days = this.config.retentionDays;
    return days === undefined ? undefined : new Date(Date.now() + days * 86_400_000);
  }

  // ------------------------------------------------------------ metadata objects

  async saveJson(type: ObjectTypeName, name: string, objectId: string, value: unknown, options: { overwrite?: boolean } = {}): Promise<void> {
    const bytes = sealJson(this.keyring, this.target(type, objectId, name), value);
    try {
      await this.backend.save(name, bytes);
    } catch (err) {
      if (!(err instanceof AlreadyExists) || options.overwrite !== true) throw err;
      await this.backend.remove(name);
      await this.backend.save(name, bytes);
    }
  }

  async loadJson(type: ObjectTypeName, name: string, objectId: string, signal?: AbortSignal): Promise<{ value: unknown; epoch: number }> {
    const bytes = await this.backend.load(name, undefined, { signal });
    return openJson(this.keyring, this.target(type, objectId, name), bytes);
  }

  async tryLoadJson(type: ObjectTypeName, name: string, objectId: string): Promise<unknown> {
    try {
      return (await this.loadJson(type, name, objectId)).value;
    } catch (err) {
      if (err instanceof NotFound) return undefined;
      throw err;
    }
  }

  // ------------------------------------------------------------ index

  async loadIndexObject(id: string): Promise<{ packs: IndexedPack[]; epoch: number }> {
    const name = Names.index(id);
    const bytes = await this.backend.load(name);
    const { payload, epoch } = openEnvelope(this.keyring, this.target(ObjectType.index, id, name), bytes);
    return { packs: decodeIndex(payload, name), epoch };
  }

  /** Loads index objects not yet known; rebuilds from scratch if some known ones disappeared (a prune ran). */
  async refreshIndex(): Promise<void> {
    const present = new Set<string>();
    for await (const obj of this.backend.list(Names.indexPrefix)) present.add(lastSegment(obj.name));
    const vanished = [...this.index.objects.keys()].some((id) => !present.has(id));
    if (vanished) this.index.clear();
    for (const id of present) {
      if (this.index.objects.has(id)) continue;
      try {
        this.index.addObject(id, (await this.loadIndexObject(id)).packs);
      } catch (err) {
        if (err instanceof NotFound) continue; // removed by a concurrent prune after listing
        throw err;
      }
    }
  }

  async writeIndex(packs: readonly IndexedPack[]): Promise<string | undefined> {
    if (packs.length === 0) return undefined;
    const id = randomId();
    const name = Names.index(id);
    await this.backend.save(name, sealEnvelope(this.keyring, this.target(ObjectType.index, id, name), encodeIndex(packs)), { retainUntil: this.retainUntil() });
    this.index.addObject(id, packs);
    return id;
  }

  // ------------------------------------------------------------ chunks and trees

  treeIdOf(bytes: Uint8Array): string {
    return chunkId(this.keyring.chunkIdKey, Buffer.concat([TREE_ID_DOMAIN, bytes]));
  }

  idOf(type: ChunkType, plaintext: Uint8Array): string {
    return type === 'tree' ? this.treeIdOf(plaintext) : chunkId(this.keyring.chunkIdKey, plaintext);
  }

  /** Authenticates, decompresses and re-hashes one blob whose sealed bytes are in hand. */
  decodeBlob(id: string, loc: Pick<ChunkLocation, 'type' | 'epoch' | 'compressed' | 'rawLength'>, sealed: Buffer, packName: string): Buffer {
    const what = `chunk ${id} in pack ${packName}`;
    const compressedOrRaw = openBlob(this.keyring, this.repoId, { id, type: loc.type, epoch: loc.epoch }, sealed, what);
    const plain = decompressChunk(compressedOrRaw, loc.compressed, loc.rawLength, what);
    if (plain.length !== loc.rawLength) throw new IntegrityError(`${what}: decompressed to ${plain.length} bytes, index says ${loc.rawLength}`);
    if (this.idOf(loc.type, plain) !== id) throw new IntegrityError(`${what}: content does not hash to its id`);
    return plain;
  }

  /** Like decodeBlob, but also returns the stored (possibly compressed) payload for re-sealing. */
  openVerifiedBlob(id: string, loc: Pick<ChunkLocation, 'type' | 'epoch' | 'compressed' | 'rawLength'>, sealed: Buffer, packName: string): { plain: Buffer; stored: Buffer } {
    const what = `chunk ${id} in pack ${packName}`;
    const stored = openBlob(this.keyring, this.repoId, { id, type: loc.type, epoch: loc.epoch }, sealed, what);
    const plain = decompressChunk(stored, loc.compressed, loc.rawLength, what);
    if (plain.length !== loc.rawLength || this.idOf(loc.type, plain) !== id) throw new IntegrityError(`${what}: content does not match its id`);
    return { plain, stored };
  }

  /** A chunk's bytes from its pack (through the range cache): a missing pack or a short read is an IntegrityError. */
  private async chunkBytes(id: string, loc: ChunkLocation, packName: string, signal?: AbortSignal): Promise<ChunkBytes> {
    let got: ChunkBytes;
    try {
      got = await this.ranges.chunk(id, loc, signal);
    } catch (err) {
      if (err instanceof NotFound) throw new IntegrityError(`chunk ${id}: pack ${packName} is missing`, { cause: err });
      throw err;
    }
    if ('sealed' in got && got.sealed.length !== loc.length) throw new IntegrityError(`chunk ${id}: pack ${packName} is truncated`);
    return got;
  }

  async loadChunk(id: string, expectedType?: ChunkType, signal?: AbortSignal): Promise<Buffer> {
    const loc = this.index.get(id);
    if (loc === undefined) throw new IntegrityError(`chunk ${id} is not in the repository index (missing data)`);
    if (expectedType !== undefined && loc.type !== expectedType) throw new IntegrityError(`chunk ${id} is a ${loc.type} chunk, expected ${expectedType}`);
    const packName = Names.pack(loc.pack);
    const got = await this.chunkBytes(id, loc, packName, signal);
    // Opened, decompressed and its id checked with others of its range (decodeRange).
    if ('plain' in got) return got.plain;
    const sealed = got.sealed;
    const cpu = loc.length >= UNPACK_OFFLOAD_FROM ? this.cpuPool() : undefined;
    if (cpu === undefined) return this.decodeBlob(id, loc, sealed, packName);
    // Authenticate, decompress and (data chunks) hash on a worker; the id comparison happens here.
    const what = `chunk ${id} in pack ${packName}`;
    const { data: plain, id: computed } = await cpu.unpackWithId({
      sealed,
      key: blobKey(this.keyring, loc.type, loc.epoch, what),
      ad: blobAd(this.repoId, loc.type, id, loc.epoch),
      compressed: loc.compressed,
      maxSize: loc.rawLength,
      what,
      // Data chunk ids are a plain keyed hash: the worker computes it too (tree ids carry a domain prefix: hashed here).
      ...(loc.type === 'data' ? { idKey: this.keyring.chunkIdKey } : {}),
    }, { giveSealed: true });
    if (plain.length !== loc.rawLength) throw new IntegrityError(`${what}: decompressed to ${plain.length} bytes, index says ${loc.rawLength}`);
    if ((computed ?? this.idOf(loc.type, plain)) !== id) throw new IntegrityError(`${what}: content does not hash to its id`);
    return plain;
  }

  /**
   * Writes data chunk `id` (whose tree entry says `size` bytes) at `position`
   * of the open file `fd`, checked like loadChunk, with the plaintext made and
   * written on a CPU-pool worker so it never comes back to this thread. false:
   * not done that way (a small chunk, no CPU pool, or its plaintext is already
   * here): the caller loads and writes it itself. Resolves only once nothing
   * more will be written to `fd`.
   */
  async writeChunkTo(id: string, size: number, fd: number, position: number, options: { readonly signal?: AbortSignal; readonly path?: () => string } = {}): Promise<boolean> {
    const loc = this.index.get(id);
    if (loc === undefined || loc.type !== 'data') return false;
    if (loc.rawLength !== size) {
      const where = options.path === undefined ? '' : ` of ${JSON.stringify(options.path())}`;
      throw new IntegrityError(`chunk ${id}${where} has ${loc.rawLength} bytes, the tree says ${size}`);
    }
    const cpu = loc.length >= UNPACK_OFFLOAD_FROM ? this.cpuPool() : undefined;
    if (cpu === undefined) return false;
    const packName = Names.pack(loc.pack);
    const got = await this.chunkBytes(id, loc, packName, options.signal);
    if ('plain' in got) return false;
    const what = `chunk ${id} in pack ${packName}`;
    await cpu.unpackWrite({
      sealed: got.sealed,
      key: blobKey(this.keyring, 'data', loc.epoch, what),
      ad: blobAd(this.repoId, 'data', id, loc.epoch),
      compressed: loc.compressed,
      size: loc.rawLength,
      what,
      idKey: this.keyring.chunkIdKey,
      expectId: id,
      fd,
      position,
    }, { giveSealed: true });
    return true;
  }

  /**
   * PackRanges' decoder: opens the announced data chunks of one sealed range
   * in ONE CPU-pool job (one message, not one per small chunk, and off this
   * thread). Only plaintexts whose length and chunk id match are returned.
   */
  private async decodeRange(sealed: Buffer, chunks: readonly RangeChunk[], packName: string): Promise<{ sealed: Buffer; plain: ReadonlyMap<string, Buffer> }> {
    const plain = new Map<string, Buffer>();
    const cpu = this.cpuPool();
    if (cpu === undefined) return { sealed, plain };
    const items = chunks.map(({ id, loc, start }) => {
      const what = `chunk ${id} in pack ${packName}`;
      return { start, length: loc.length, key: blobKey(this.keyring, 'data', loc.epoch, what), ad: blobAd(this.repoId, 'data', id, loc.epoch), compressed: loc.compressed, maxSize: loc.rawLength, what };
    });
    const out = await cpu.unpackRange({ sealed, items, idKey: this.keyring.chunkIdKey }, { giveSealed: true });
    out.items.forEach((r, i) => {
      const { id, loc } = chunks[i];
      if (!('error' in r) && r.length === loc.rawLength && r.id === id) plain.set(id, out.plain.subarray(r.start, r.start + r.length));
    });
    return { sealed: out.sealed, plain };
  }

  /** Announces the chunks an operation is about to read, so pack ranges cover several of them per read. */
  expectChunks(ids: Iterable<string> | undefined): void {
    this.ranges.expect(ids);
  }

  clearCaches(): void {
    this.treeCache.clear();
    this.ranges.clear();
  }

  async loadTree(id: string, signal?: AbortSignal): Promise<Tree> {
    const cached = this.treeCache.get(id);
    if (cached !== undefined) return cached;
    const tree = decodeTree(await this.loadChunk(id, 'tree', signal), `tree ${id}`);
    if (this.treeCache.size >= 512) this.treeCache.delete(this.treeCache.keys().next().value!);
    this.treeCache.set(id, tree);
    return tree;
  }

  // ------------------------------------------------------------ snapshots

  async listSnapshotObjects(): Promise<Map<string, SnapshotObject[]>> {
    const byId = new Map<string, SnapshotObject[]>();
    for await (const obj of this.backend.list(Names.snapshotsPrefix)) {
      const parts = snapshotNameParts(obj.name);
      if (parts === undefined) continue;
      const list = byId.get(parts.id) ?? [];
      list.push({ id: parts.id, name: obj.name, epoch: parts.epoch });
      byId.set(parts.id, list);
    }
    for (const list of byId.values()) list.sort((a, b) => b.epoch - a.epoch);
    return byId;
  }

  async loadSnapshotObject(obj: SnapshotObject): Promise<SnapshotSummary> {
    const { value, epoch } = await this.loadJson(ObjectType.snapshot, obj.name, obj.id);
    if (epoch !== obj.epoch) throw new IntegrityError(`${obj.name}: sealed with epoch ${epoch}, name says ${obj.epoch}`);
    return validateSnapshot(value, obj.id, obj.name);
  }

  /** Every readable snapshot; copies sealed with several epochs (rotation) count once. */
  async loadSnapshots(onError?: (name: string, err: unknown) => void): Promise<SnapshotSummary[]> {
    const out: SnapshotSummary[] = [];
    for (const copies of (await this.listSnapshotObjects()).values()) {
      let lastErr: unknown;
      let loaded: SnapshotSummary | undefined;
      for (const copy of copies) {
        try {
          loaded = await this.loadSnapshotObject(copy);
          break;
        } catch (err) {
          if (err instanceof NotFound) continue;
          lastErr = err;
          onError?.(copy.name, err);
        }
      }
      if (loaded !== undefined) out.push(loaded);
      else if (lastErr !== undefined && onError === undefined) throw lastErr instanceof Error ? lastErr : new Error('snapshot unreadable');
    }
    return out.sort((a, b) => a.time.localeCompare(b.time) || a.id.localeCompare(b.id));
  }

  async saveSnapshot(summary: SnapshotSummary): Promise<void> {
    const epoch = this.keyring.currentEpoch;
    const name = Names.snapshot(summary.id, epoch);
    try {
      await this.backend.save(name, sealJson(this.keyring, this.target(ObjectType.snapshot, summary.id, name), summary), { retainUntil: this.retainUntil() });
    } catch (err) {
      if (!(err instanceof AlreadyExists)) throw err;
    }
  }

  // ------------------------------------------------------------ locks

  async lock(kind: LockKind, operation: string): Promise<RepoLock> {
    return RepoLock.acquire(this.backend, this.keyring, this.repoId, kind, operation, { leaseMs: this.options.leaseMs });
  }

  async withLock<T>(kind: LockKind, operation: string, fn: () => Promise<T>): Promise<T> {
    const lock = await this.lock(kind, operation);
    try {
      return await fn();
    } finally {
      await lock.release();
    }
  }
}
