/**
 * The in-memory union of all index objects: chunk id → location. When a chunk
 * is listed more than once (concurrent backups, an interrupted prune or
 * rotation), the copy sealed with the newest epoch wins, then the first seen.
 */
import type { ChunkType } from './format';
import type { IndexedPack, PackInfo } from './index-codec';

export interface ChunkLocation {
  readonly pack: string;
  readonly type: ChunkType;
  readonly compressed: boolean;
  readonly epoch: number;
  readonly offset: number;
  readonly length: number;
  readonly rawLength: number;
}

/** A pack as the index knows it, with the bytes of all the blobs it holds (the rest is its header). */
export interface IndexedPackInfo extends PackInfo {
  readonly blobBytes: number;
}

export class MasterIndex {
  readonly chunks = new Map<string, ChunkLocation>();
  readonly packs = new Map<string, IndexedPackInfo>();
  /** Index object id → the packs it lists. */
  readonly objects = new Map<string, readonly string[]>();

  addObject(indexId: string, packs: readonly IndexedPack[]): void {
    this.objects.set(indexId, packs.map((p) => p.id));
    for (const p of packs) this.addPack(p);
  }

  addPack(p: IndexedPack): void {
    const blobBytes = p.entries.reduce((sum, e) => sum + e.length, 0);
    this.packs.set(p.id, { id: p.id, epoch: p.epoch, size: p.size, createdMs: p.createdMs, blobBytes });
    for (const e of p.entries) {
      const existing = this.chunks.get(e.id);
      if (existing !== undefined && existing.epoch >= e.epoch) continue;
      this.chunks.set(e.id, { pack: p.id, type: e.type, compressed: e.compressed, epoch: e.epoch, offset: e.offset, length: e.length, rawLength: e.rawLength });
    }
  }

  has(chunkId: string): boolean {
    return this.chunks.has(chunkId);
  }

  get(chunkId: string): ChunkLocation | undefined {
    return this.chunks.get(chunkId);
  }

  clear(): void {
    this.chunks.clear();
    this.packs.clear();
    this.objects.clear();
  }
}
