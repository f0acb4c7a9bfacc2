/**
 * Writes new chunks into several open packs at once. A chunk goes to the pack
 * chosen by its id (a keyed MAC, so the choice is unpredictable without the
 * key and unrelated to file order). Full packs upload in the background
 * (bounded concurrency); `takeUploaded()` hands finished packs to the caller,
 * who writes the index object that makes them visible.
 */
import { randomId } from '../crypto/random';
import { compressChunk } from '../compression/zstd';
import { Names } from '../repository/format';
import type { ChunkType } from '../repository/format';
import type { IndexedPack } from '../repository/index-codec';
import { blobAd, blobKey, PackBuilder, sealBlob } from '../repository/pack';
import type { CpuPool } from '../chunking/pipeline-pool';
import type { RepoCore } from './core';

/** Chunks below this size travel to the CPU pool in batches (one message per batch, not per chunk). */
const SMALL_CHUNK = 64 * 1024;
/** A batch of small chunks is sent when it holds this many bytes or items. */
const SMALL_BATCH_BYTES = 1024 * 1024;
const SMALL_BATCH_ITEMS = 256;

interface BlobInfo {
  id: string;
  type: ChunkType;
  compressed: boolean;
  epoch: number;
  rawLength: number;
}

/** Small chunks waiting to be sent to the CPU pool as one job. */
class SmallBatch {
  readonly data = Buffer.allocUnsafe(SMALL_BATCH_BYTES + SMALL_CHUNK);
  bytes = 0;
  readonly keys: Buffer[] = [];
  readonly items: { id: string; type: ChunkType; epoch: number; length: number; keyIndex: number; ad: Buffer }[] = [];

  get full(): boolean {
    return this.bytes >= SMALL_BATCH_BYTES || this.items.length >= SMALL_BATCH_ITEMS;
  }

  add(id: string, type: ChunkType, epoch: number, key: Buffer, ad: Buffer, plaintext: Buffer): void {
    let keyIndex = this.keys.findIndex((k) => k.equals(key));
    if (keyIndex < 0) keyIndex = this.keys.push(key) - 1;
    plaintext.copy(this.data, this.bytes);
    this.bytes += plaintext.length;
    this.items.push({ id, type, epoch, length: plaintext.length, keyIndex, ad });
  }
}

export interface PackPoolOptions {
  readonly openPacks: number;
  readonly packSize: number;
  readonly compressionLevel: number;
  readonly uploadConcurrency: number;
  readonly signal?: AbortSignal;
}

export class PackPool {
  private readonly builders: PackBuilder[];
  private readonly uploading = new Set<Promise<void>>();
  private readonly jobs = new Set<Promise<void>>();
  private uploaded: IndexedPack[] = [];
  private failure: unknown;
  /** Chunk ids in open packs or in packs not yet indexed. */
  private readonly pending = new Set<string>();
  private small = new SmallBatch();
  bytesUploaded = 0;

  constructor(
    private readonly core: RepoCore,
    private readonly options: PackPoolOptions,
  ) {
    this.builders = Array.from({ length: Math.max(1, options.openPacks) }, () => new PackBuilder());
  }

  /** Known to the index or waiting in this pool. */
  has(id: string): boolean {
    return this.pending.has(id) || this.core.index.has(id);
  }

  get uploadedCount(): number {
    return this.uploaded.length;
  }

  /**
   * Compresses, seals and queues one chunk. With a CPU pool the work runs on
   * a worker thread and this returns once the job is queued (at most a few
   * jobs in flight), so chunking the next data overlaps it.
   */
  async add(id: string, type: ChunkType, plaintext: Buffer, alreadyCompressed?: { data: Buffer; compressed: boolean }): Promise<void> {
    this.throwIfFailed();
    this.pending.add(id);
    const cpu = this.core.cpuPool();
    if (cpu === undefined || alreadyCompressed !== undefined) {
      const packed = alreadyCompressed ?? compressChunk(plaintext, this.options.compressionLevel);
      const { sealed, epoch } = sealBlob(this.core.keyring, this.core.repoId, type, id, packed.data);
      await this.place({ id, type, compressed: packed.compressed, epoch, rawLength: plaintext.length }, sealed);
      return;
    }
    const epoch = this.core.keyring.currentEpoch;
    const key = blobKey(this.core.keyring, type, epoch, id);
    const ad = blobAd(this.core.repoId, type, id, epoch);
    if (plaintext.length < SMALL_CHUNK) {
      this.small.add(id, type, epoch, key, ad, plaintext);
      if (this.small.full) await this.sendSmall(cpu);
      return;
    }
    await this.room(cpu);
    this.track(
      cpu
        .process({ data: plaintext, level: this.options.compressionLevel, key, ad })
        .then((r) => this.place({ id, type, compressed: r.compressed, epoch, rawLength: plaintext.length }, r.sealed)),
    );
  }

  /** Waits until the CPU pool has room for one more job (a few in flight, so chunking overlaps them). */
  private async room(cpu: CpuPool): Promise<void> {
    while (this.jobs.size >= cpu.size * 2 + 2) await Promise.race(this.jobs);
    this.throwIfFailed();
  }

  private track(job: Promise<void>): void {
    const tracked = job.catch((err: unknown) => {
      this.failure ??= err;
    });
    this.jobs.add(tracked);
    void tracked.finally(() => this.jobs.delete(tracked));
  }

  /** Sends the batch of small chunks gathered so far as one job. */
  private async sendSmall(cpu: CpuPool): Promise<void> {
    const batch = this.small;
    if (batch.items.length === 0) return;
    this.small = new SmallBatch();
    await this.room(cpu);
    const job = { data: batch.data.subarray(0, batch.bytes), level: this.options.compressionLevel, keys: batch.keys, items: batch.items };
    this.track(
      cpu.processMany(job).then(async (r) => {
        let offset = 0;
        for (let i = 0; i < batch.items.length; i++) {
          const item = batch.items[i];
          const out = r.items[i];
          await this.place({ id: item.id, type: item.type, compressed: out.compressed, epoch: item.epoch, rawLength: item.length }, r.sealed.subarray(offset, offset + out.sealedLength));
          offset += out.sealedLength;
        }
      }),
    );
  }

  private async place(blob: BlobInfo, sealed: Buffer): Promise<void> {
    const slot = Buffer.from(blob.id.slice(0, 8), 'hex').readUInt32BE(0) % this.builders.length;
    const builder = this.builders[slot];
    builder.add(blob, sealed);
    if (builder.size >= this.options.packSize) {
      this.builders[slot] = new PackBuilder();
      await this.upload(builder);
    }
  }

  /** Adds an already sealed blob (prune's verbatim copy). */
  async addSealed(blob: BlobInfo, sealed: Buffer): Promise<void> {
    this.throwIfFailed();
    this.pending.add(blob.id);
    await this.place(blob, sealed);
  }

  private async upload(builder: PackBuilder): Promise<void> {
    while (this.uploading.size >= this.options.uploadConcurrency) await Promise.race(this.uploading);
    this.throwIfFailed();
    const packId = randomId();
    const { bytes, header } = builder.finish(this.core.keyring, this.core.repoId, packId);
    const task = (async () => {
      try {
        await this.core.backend.save(Names.pack(packId), bytes, { signal: this.options.signal, retainUntil: this.core.retainUntil() });
        this.bytesUploaded += bytes.length;
        this.uploaded.push({ id: packId, epoch: header.epoch, size: bytes.length, createdMs: header.createdMs, entries: header.entries });
      } catch (err) {
        this.failure ??= err;
      }
    })();
    this.uploading.add(task);
    void task.finally(() => this.uploading.delete(task));
  }

  private throwIfFailed(): void {
    if (this.failure !== undefined) throw this.failure instanceof Error ? this.failure : new Error("pack upload failed");
  }

  /** Waits for uploads in progress; with `all`, first closes the open packs too. */
  async drain(all: boolean): Promise<void> {
    const cpu = this.core.cpuPool();
    if (cpu !== undefined) await this.sendSmall(cpu);
    await Promise.all(this.jobs);
    this.throwIfFailed();
    if (all) {
      for (let i = 0; i < this.builders.length; i++) {
        const b = this.builders[i];
        if (b.count === 0) continue;
        this.builders[i] = new PackBuilder();
        await this.upload(b);
      }
    }
    await Promise.all(this.uploading);
    this.throwIfFailed();
  }

  /** Packs uploaded so far and not yet handed out; their chunks stay "pending" until indexed. */
  takeUploaded(): IndexedPack[] {
    const out = this.uploaded;
    this.uploaded = [];
    return out;
  }

  /** After the caller indexed packs: their chunks are now found through the index. */
  indexed(packs: readonly IndexedPack[]): void {
    for (const p of packs) for (const e of p.entries) this.pending.delete(e.id);
  }

  /** Uploads everything and writes one index object for it. */
  async flushAndIndex(): Promise<IndexedPack[]> {
    await this.drain(true);
    const packs = this.takeUploaded();
    await this.core.writeIndex(packs);
    this.indexed(packs);
    return packs;
  }

  /** Writes an index object for the packs that finished uploading (open packs stay open). */
  async indexUploaded(): Promise<void> {
    const packs = this.takeUploaded();
    await this.core.writeIndex(packs);
    this.indexed(packs);
  }
}
