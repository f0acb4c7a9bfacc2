/**
 * Errors of the worker and client configuration (E54x: config and the payload
 * codec). Each has a stable code and a hint; none carries a secret.
 */
import { CofferError } from '../activities/errors';

/** A configuration variable or file is missing or malformed. */
export class ConfigInvalid extends CofferError {
  readonly code = 'COFFER-E540';
  readonly retryable = false;
}

/** The codec key file is missing, unreadable or malformed. */
export class CodecKeyFileInvalid extends CofferError {
  readonly code = 'COFFER-E541';
  readonly retryable = false;
}

/** A payload was encrypted with a key id this process does not hold. */
export class CodecKeyUnknown extends CofferError {
  readonly code = 'COFFER-E542';
  readonly retryable = false;
}

/** A payload failed authentication: wrong key material or tampered history. */
export class CodecPayloadCorrupt extends CofferError {
  readonly code = 'COFFER-E543';
  readonly retryable = false;
}
