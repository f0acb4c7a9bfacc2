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
}
