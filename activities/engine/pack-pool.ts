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
import type { RepoCore } from './core';

const INLINE_BELOW = 64 * 1024;

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
    // Small chunks cost more to hand to a thread than to process here.
    if (cpu === undefined || alreadyCompressed !== undefined || plaintext.length < INLINE_BELOW) {
      const packed = alreadyCompressed ?? compressChunk(plaintext, this.options.compressionLevel);
      const { sealed, epoch } = sealBlob(this.core.keyring, this.core.repoId, type, id, packed.data);
      await this.place({ id, type, compressed: packed.compressed, epoch, rawLength: plaintext.length }, sealed);
      return;
    }
    while (this.jobs.size >= cpu.size * 2 + 2) await Promise.race(this.jobs);
    this.throwIfFailed();
    const epoch = this.core.keyring.currentEpoch;
    const job = cpu
      .process({ data: plaintext, level: this.options.compressionLevel, key: blobKey(this.core.keyring, type, epoch, id), ad: blobAd(this.core.repoId, type, id, epoch) })
      .then((r) => this.place({ id, type, compressed: r.compressed, epoch, rawLength: plaintext.length }, r.sealed))
      .catch((err: unknown) => {
        this.failure ??= err;
      });
    this.jobs.add(job);
    void job.finally(() => this.jobs.delete(job));
  }

  private async place(blob: { id: string; type: ChunkType; compressed: boolean; epoch: number; rawLength: number }, sealed: Buffer): Promise<void> {
    const slot = Buffer.from(blob.id.slice(0, 8), 'hex').readUInt32BE(0) % this.builders.length;
    const builder = this.builders[slot];
    builder.add(blob, sealed);
    if (builder.size >= this.options.packSize) {
      this.builders[slot] = new PackBuilder();
      await this.upload(builder);
    }
  }

  /** Adds an already sealed blob (prune's verbatim copy). */
  async addSealed(blob: { id: string; type: ChunkType; compressed: boolean; epoch: number; rawLength: number }, sealed: Buffer): Promise<void> {
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
