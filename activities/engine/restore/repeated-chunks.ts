/**
 * Plaintexts of large chunks that one restore writes more than once
 * (duplicate files, shifted copies), kept from their first use to their last
 * so each is read, authenticated, decompressed and hashed once: restic, too,
 * decodes a blob once for all the files that hold it. Restoring file by file,
 * Coffer decoded such a chunk again for every file: 276 MB of the benchmark's
 * 1 GiB tree were decoded twice.
 *
 * Bounded: a chunk that does not fit the budget when first used is decoded
 * again at each use, as before. A kept chunk is let go at its last counted
 * use; one whose later uses never come (a file skipped on resume, a failure)
 * stays until the restore ends.
 */

/** A chunk the selection refers to more than once. */
export interface RepeatedChunk {
  /** Uses not yet made. */
  uses: number;
  /** Plaintext bytes. */
  readonly size: number;
}

/** Smaller chunks are cheap to decode again (and come from shared range reads): not kept. */
export const REPEATED_CHUNK_MIN = 256 * 1024;

export class RepeatedChunks {
  private readonly kept = new Map<string, Promise<Buffer>>();
  private keptBytes = 0;

  /** `chunks` is counted down as uses are made (it is the caller's plan, used up by this run). */
  constructor(
    private readonly chunks: Map<string, RepeatedChunk>,
    private readonly budget: number,
  ) {}

  /** Plaintext bytes held now (for tests and diagnostics). */
  get bytesKept(): number {
    return this.keptBytes;
  }

  /**
   * Records a use of chunk `id`. Returns its plaintext when it is kept,
   * loading it with `load` at the first use; undefined when it is not kept
   * (not repeated, the last use of an unkept chunk, or no room): decode it
   * yourself. A load that fails is forgotten, so later uses decode the chunk
   * themselves and meet the failure again.
   */
  use(id: string, load: () => Promise<Buffer>): Promise<Buffer> | undefined {
    const chunk = this.chunks.get(id);
    if (chunk === undefined) return undefined;
    chunk.uses--;
    if (chunk.uses <= 0) this.chunks.delete(id);
    let plain = this.kept.get(id);
    if (plain === undefined) {
      if (chunk.uses <= 0 || this.keptBytes + chunk.size > this.budget) return undefined;
      const loading = load();
      plain = loading;
      this.kept.set(id, loading);
      this.keptBytes += chunk.size;
      loading.catch(() => {
        if (this.kept.get(id) === loading) this.release(id, chunk.size);
      });
    }
    if (chunk.uses <= 0) this.release(id, chunk.size);
    return plain;
  }

  private release(id: string, size: number): void {
    if (this.kept.delete(id)) this.keptBytes -= size;
  }
}
