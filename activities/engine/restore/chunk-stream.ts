/**
 * Loads a file's chunks in order with a bounded read-ahead, so decrypting the
 * next chunks overlaps writing the current one while memory stays bounded.
 */
import { IntegrityError } from '../../crypto/errors';
import type { ContentRef } from '../../repository/tree';
import type { SnapshotReader } from './reader';

export type Piece = { readonly offset: number; readonly data: Buffer } | { readonly offset: number; readonly hole: number };

export async function* readPieces(
  reader: Pick<SnapshotReader, 'loadChunk'>,
  content: readonly ContentRef[],
  options: { readonly signal?: AbortSignal; readonly readAhead: number; readonly path: string | (() => string) },
): AsyncGenerator<Piece> {
  const pending: Promise<Buffer>[] = [];
  let next = 0;
  const fill = (): void => {
    while (pending.length < options.readAhead && next < content.length) {
      const ref = content[next++];
      if ('chunk' in ref) {
        const load = reader.loadChunk(ref.chunk, { signal: options.signal });
        // Awaited below in order; this only keeps an abandoned load from being an unhandled rejection.
        load.catch(() => undefined);
        pending.push(load);
      }
    }
  };
  let offset = 0;
  for (const ref of content) {
    options.signal?.throwIfAborted();
    if ('hole' in ref) {
      yield { offset, hole: ref.hole };
      offset += ref.hole;
      continue;
    }
    fill();
    const data = await (pending.shift() as Promise<Buffer>);
    if (data.length !== ref.size) {
      throw new IntegrityError(
        `chunk ${ref.chunk} of ${JSON.stringify(typeof options.path === 'string' ? options.path : options.path())} has ${data.length} bytes, the tree says ${ref.size}`,
      );
    }
    yield { offset, data };
    offset += ref.size;
  }
}
