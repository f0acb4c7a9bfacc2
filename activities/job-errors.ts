/**
 * Errors raised by the Temporal adapters themselves (not the engine):
 * restore targets, drills, retention refusals, missing secrets. Codes are
 * stable; workflows/codes.ts lists the same strings for workflows and the CLI
 * (workflows may not import this module's values).
 */
import { CofferError } from './errors';
import type { CofferErrorOptions } from './errors';

/** The restore target exists, is not empty, and overwrite was not asked for. */
export class RestoreTargetNotEmpty extends CofferError {
  readonly code = 'COFFER-E404';
  readonly retryable = false;
  constructor(message: string, options: CofferErrorOptions = {}) {
    super(message, { hint: 'choose an empty or new target directory, or pass --overwrite to replace its contents', ...options });
  }
}

/** A restored tree differs from its snapshot (found by the compare step). */
export class RestoreMismatch extends CofferError {
  readonly code = 'COFFER-E405';
  readonly retryable = false;
  constructor(message: string, options: CofferErrorOptions = {}) {
    super(message, { hint: 'the target was left untouched; run `coffer verify --read-data` to look for damaged data', ...options });
  }
}

/** A filesystem step of a restore (staging, swap) failed in a way retrying will not fix. */
export class RestoreTargetUnusable extends CofferError {
  readonly code = 'COFFER-E406';
  readonly retryable = false;
  constructor(message: string, options: CofferErrorOptions = {}) {
    super(message, { hint: 'check that the target path is a directory this worker may write, on a local filesystem', ...options });
  }
}

/** The engine lacks a primitive the job needs (reported, not faked). */
export class EngineCapabilityMissing extends CofferError {
  readonly code = 'COFFER-E409';
  readonly retryable = false;
  constructor(message: string, options: CofferErrorOptions = {}) {
    super(message, { hint: 'this Coffer version cannot do this yet', ...options });
  }
}

/** No passphrase is configured on this worker for the repository. */
export class SecretMissing extends CofferError {
  readonly code = 'COFFER-E544';
  readonly retryable = false;
  constructor(message: string, options: CofferErrorOptions = {}) {
    super(message, {
      hint: 'give the worker the passphrase: COFFER_PASSWORD_FILE, COFFER_PASSWORD, or an entry in COFFER_REPOSITORY_SECRETS_FILE',
      ...options,
    });
  }
}

/** A secret file exists but cannot be read or parsed. */
export class SecretFileInvalid extends CofferError {
  readonly code = 'COFFER-E545';
  readonly retryable = false;
  constructor(message: string, options: CofferErrorOptions = {}) {
    super(message, { hint: 'check the file path, its permissions and its format', ...options });
  }
}
