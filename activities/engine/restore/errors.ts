/**
 * Restore errors. A snapshot is hostile input even when it decrypts with a
 * valid key, so unsafe entries are refused with the offending path named.
 */
import { CofferError } from '../../errors';
import type { CofferErrorOptions } from '../../errors';

/**
 * A snapshot entry that would write outside the target or through a symlink:
 * a bad name ('', '.', '..', '/', NUL), a duplicate name, a directory cycle,
 * or a path in the target that exists and is not a directory Coffer made.
 * The whole restore fails before (or instead of) writing anything unsafe.
 */
export class UnsafePath extends CofferError {
  readonly code = 'COFFER-E206';
  readonly retryable = false;
  /** Snapshot-relative path of the offending entry (JSON-escaped in the message). */
  readonly path: string;

  constructor(path: string, reason: string, options: CofferErrorOptions = {}) {
    super(`unsafe path in snapshot: ${JSON.stringify(path)}: ${reason}`, {
      hint: 'the snapshot (or the restore target) contains an entry that could write outside the target; nothing unsafe was written. Restore into an empty directory, or exclude this path',
      ...options,
    });
    this.path = path;
  }
}

/** The restore target ran out of space (ENOSPC/EDQUOT). Temporary files were removed. */
export class NoSpace extends CofferError {
  readonly code = 'COFFER-E210';
  readonly retryable = false;
  readonly path: string;

  constructor(path: string, options: CofferErrorOptions = {}) {
    super(`no space left on the restore target while writing ${JSON.stringify(path)}`, {
      hint: 'free space on the target (or choose another target) and run the restore again: completed files are skipped',
      ...options,
    });
    this.path = path;
  }
}
