/**
 * Making many small restored files durable at once.
 *
 * A restored file is renamed to its final path only after its data is on
 * stable storage, so a crash never leaves a partial (or empty) file at a
 * final path: on ext4 a new file renamed before its delayed allocation is
 * written can come back zero-length (auto_da_alloc only covers a rename that
 * REPLACES a file), and other file systems make no promise either.
 *
 * One fsync per file costs a journal commit each and dominated restores of
 * many small files (and blocked thread-pool threads on large ones), so
 * restored files are written, given their metadata, closed, and then made
 * durable together with ONE syncfs(2) of the target file system (Coffer's
 * native addon, on the thread pool) before they are all renamed. Where
 * syncfs is not available (ENOSYS), each file of the group is fsynced
 * instead: the same guarantee, at the old cost.
 */
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { errorCode } from '../fs/metadata';
import { nativeFs } from '../fs/native';

/** false once syncfs turned out not to exist here. */
let syncfsUsable = true;

/**
 * syncfs(2) of the file system holding `path`. false: not available (use
 * fsync instead). A failure of syncfs itself (a write-back error, no space)
 * is thrown: the data may not be durable, and an fsync opened afterwards
 * would no longer see that error.
 */
async function syncFileSystem(path: string): Promise<boolean> {
  if (!syncfsUsable) return false;
  const dir = await open(path, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    await nativeFs().syncfs(dir.fd);
    return true;
  } catch (err) {
    if (errorCode(err) === 'ENOSYS') {
      syncfsUsable = false;
      return false;
    }
    throw Object.assign(new Error(`restored files could not be made durable: syncfs failed (${errorCode(err) ?? 'unknown error'})`, { cause: err }), { code: errorCode(err) });
  } finally {
    await dir.close();
  }
}

async function fsyncOne(path: string): Promise<void> {
  const handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Makes the data and metadata of `paths` (all on the file system holding `root`) durable. */
export async function makeDurable(root: string, paths: readonly string[]): Promise<void> {
  if (paths.length === 0) return;
  if (await syncFileSystem(root)) return;
  const queue = [...paths];
  const worker = async (): Promise<void> => {
    for (let p = queue.pop(); p !== undefined; p = queue.pop()) await fsyncOne(p);
  };
  await Promise.all(Array.from({ length: Math.min(8, queue.length) }, worker));
}
