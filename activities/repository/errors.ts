/**
 * Errors of the repository layer (format, locks, snapshots, sources). Integrity
 * failures use the crypto layer's IntegrityError (E205) so there is one class
 * for "stored bytes are not what was written".
 */
import { CofferError } from '../errors';
import type { CofferErrorOptions } from '../errors';

export { IntegrityError } from '../crypto/errors';

/** The repository was written by a format version this Coffer does not read. */
export class UnsupportedFormat extends CofferError {
  readonly code = 'COFFER-E203';
  readonly retryable = false;
  constructor(message: string, options: CofferErrorOptions = {}) {
    super(message, { hint: 'upgrade Coffer to a version that reads this repository format', ...options });
  }
}

/** Another process holds a conflicting lock whose lease has not expired. */
export class RepoLocked extends CofferError {
  readonly code = 'COFFER-E204';
  readonly retryable = true;
  constructor(message: string, options: CofferErrorOptions = {}) {
    super(message, { hint: 'wait for the other operation to finish (stale locks expire with their lease)', ...options });
  }
}

/** The location holds no Coffer repository. */
export class NotARepository extends CofferError {
  readonly code = 'COFFER-E207';
  readonly retryable = false;
  constructor(message: string, options: CofferErrorOptions = {}) {
    super(message, { hint: 'check the repository location, or create one with `coffer init`', ...options });
  }
}

/** init() found a repository (or its key files) already there. */
export class RepositoryExists extends CofferError {
  readonly code = 'COFFER-E208';
  readonly retryable = false;
  constructor(message: string, options: CofferErrorOptions = {}) {
    super(message, { hint: 'open the existing repository instead, or choose an empty location', ...options });
  }
}

export class SnapshotNotFound extends CofferError {
  readonly code = 'COFFER-E209';
  readonly retryable = false;
  constructor(message: string, options: CofferErrorOptions = {}) {
    super(message, { hint: 'list snapshots with `coffer snapshots` and use a full id or a unique prefix', ...options });
  }
}

/** A backup source path itself cannot be read (single unreadable files are only reported). */
export class SourceUnreadable extends CofferError {
  readonly code = 'COFFER-E211';
  readonly retryable = false;
  constructor(message: string, options: CofferErrorOptions = {}) {
    super(message, { hint: 'check that the path exists and that this user may read it', ...options });
  }
}

/** A ransomware canary file changed since the parent snapshot: the backup is refused. */
export class CanaryChanged extends CofferError {
  readonly code = 'COFFER-E212';
  readonly retryable = false;
  constructor(message: string, options: CofferErrorOptions = {}) {
    super(message, { hint: 'inspect the host for ransomware before backing up again; the previous snapshots are untouched', ...options });
  }
}
