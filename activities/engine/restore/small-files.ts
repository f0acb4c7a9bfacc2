/**
 * Writes small restored files in batches on the libuv thread pool. Each file
 * cost a thread-pool round trip for its create and a handful of synchronous
 * calls on the main thread (write, fstat, fchmod, close, utimensat); across
 * thousands of files those calls kept the event loop busy while the CPU pool
 * waited for the next large chunk. Now a file waits (at most until the next
 * turn of the event loop) for others, and one native call creates, writes and
 * finishes the whole batch (native/coffer_fs.c, writeFiles).
 */
import { nativeFs } from '../fs/native';

export interface SmallFile {
  /** Temporary path, created new (O_EXCL|O_NOFOLLOW). */
  readonly path: string;
  /** Content at its offsets; what lies between and after them up to `size` stays a hole. */
  readonly pieces: readonly { readonly offset: number; readonly data: Buffer }[];
  readonly size: number;
  /** Permission bits (setuid, setgid and sticky included). */
  readonly mode: number;
  /** -1: leave as created. Changed (fchown) only when different. */
  readonly uid: number;
  readonly gid: number;
  readonly atimeNs: bigint;
  readonly mtimeNs: bigint;
}

interface Waiting {
  readonly file: SmallFile;
  readonly resolve: () => void;
  readonly reject: (err: Error) => void;
}

/** A batch goes to the thread pool at this many files or bytes, or at the next turn of the event loop. */
const BATCH_FILES = 64;
const BATCH_BYTES = 8 * 1024 * 1024;
/** Fields per file in writeFiles' meta array. */
const META_FIELDS = 8;

export class SmallFileWriter {
  private waiting: Waiting[] = [];
  private waitingBytes = 0;
  private scheduled = false;

  /**
   * Resolves when the file is complete at its temporary path (content, owner,
   * mode, times); rejects with a Node-style error (code, syscall, path), the
   * file then removed.
   */
  write(file: SmallFile): Promise<void> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ file, resolve, reject });
      this.waitingBytes += file.size;
      if (this.waiting.length >= BATCH_FILES || this.waitingBytes >= BATCH_BYTES) this.send();
      else if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => {
          this.scheduled = false;
          this.send();
        });
      }
    });
  }

  private send(): void {
    const batch = this.waiting;
    this.waiting = [];
    this.waitingBytes = 0;
    if (batch.length === 0) return;
    const pieces: Buffer[] = [];
    const offsets: bigint[] = [];
    const meta = new BigInt64Array(batch.length * META_FIELDS);
    batch.forEach(({ file }, i) => {
      const m = i * META_FIELDS;
      meta[m] = BigInt(pieces.length);
      meta[m + 1] = BigInt(file.pieces.length);
      meta[m + 2] = BigInt(file.size);
      meta[m + 3] = BigInt(file.mode);
      meta[m + 4] = BigInt(file.uid);
      meta[m + 5] = BigInt(file.gid);
      meta[m + 6] = file.atimeNs;
      meta[m + 7] = file.mtimeNs;
      for (const piece of file.pieces) {
        pieces.push(piece.data);
        offsets.push(BigInt(piece.offset));
      }
    });
    let results: Promise<(Error | null)[]>;
    try {
      results = nativeFs().writeFiles(batch.map((w) => w.file.path), pieces, BigInt64Array.from(offsets), meta);
    } catch (err) {
      // Bad arguments: nothing was created.
      for (const w of batch) w.reject(err instanceof Error ? err : new Error(String(err)));
      return;
    }
    results.then(
      (outcomes) => batch.forEach((w, i) => {
        const outcome = outcomes[i];
        if (outcome === null || outcome === undefined) w.resolve();
        else w.reject(outcome);
      }),
      (err: unknown) => {
        for (const w of batch) w.reject(err instanceof Error ? err : new Error(String(err)));
      },
    );
  }
}
