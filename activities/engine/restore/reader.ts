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
  writeChunk?(id: string, size: number, fd: number, position: number, options?: { readonly signal?: AbortSignal; readonly path?: () => string }): Promise<boolean>;
}
