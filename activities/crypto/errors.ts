/**
 * Errors of the cryptographic layer. Messages name the object concerned but
 * never contain key material, passphrases or plaintext.
 */
import { CofferError } from '../errors';
import type { CofferErrorOptions } from '../errors';

/** A passphrase (or recipient key) that does not unlock a well-formed key file. */
export class WrongPassphrase extends CofferError {
  readonly code = 'COFFER-E201';
  readonly retryable = false;

  constructor(message = 'the passphrase does not unlock this key file', options: CofferErrorOptions = {}) {
    super(message, { hint: 'check the passphrase (or the recipient key) and try again', ...options });
  }
}

/** A key file that is malformed, truncated, damaged or forged. */
export class KeyFileCorrupt extends CofferError {
  readonly code = 'COFFER-E202';
  readonly retryable = false;

  constructor(message: string, options: CofferErrorOptions = {}) {
    super(message, { hint: 'use another key file for this repository, or restore this one from a copy', ...options });
  }
}

/**
 * Stored data failed authentication or decoding: it was damaged or tampered
 * with. Retrying the same read returns the same bytes, so it is not retryable.
 */
export class IntegrityError extends CofferError {
  readonly code = 'COFFER-E205';
  readonly retryable = false;

  constructor(message: string, options: CofferErrorOptions = {}) {
    super(message, { hint: 'the object is damaged or was tampered with; run `coffer verify` to see what is affected', ...options });
  }
}
