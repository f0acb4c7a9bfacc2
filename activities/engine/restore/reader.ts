import type { Tree } from '../../repository/tree';

/** What restore and compare need from a repository: decrypted, authenticated trees and chunks. */
export interface SnapshotReader {
  loadTree(id: string): Promise<Tree>;
  loadChunk(id: string, options?: { readonly signal?: AbortSignal }): Promise<Buffer>;
  /**
   * Optional: the chunks about to be loaded (undefined: forget the announcement),
   * so a repository can read several of them from a pack at once.
   */
  expectChunks?(ids: Iterable<string> | undefined): void;
  /**
   * Optional: writes data chunk `id` (the tree says `size` bytes) at
   * `position` of the open file `fd`, verified as loadChunk verifies it,
   * without handing the plaintext over. false: not done; load and write it.
   * Settles only when nothing more will be written to `fd`.
   */
  /**
   * Optional: the chunk id `bytes` would have as a data chunk (the keyed hash
   * the snapshot's content references are). With it, compare checks files on
   * disk against the snapshot's chunk ids without reading the repository.
   */
  chunkIdOf?(bytes: Uint8Array): string;
  writeChunk?(id: string, size: number, fd: number, position: number, options?: { readonly signal?: AbortSignal; readonly path?: () => string }): Promise<boolean>;
}
