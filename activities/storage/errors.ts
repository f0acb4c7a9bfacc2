import { CofferError } from '../errors';

/**
 * Storage sentinel errors. Each backend maps its SDK's failures onto exactly
 * one of these; nothing above the storage layer inspects SDK error shapes.
 * Messages name the object but never credentials or signed URLs.
 */
export class NotFound extends CofferError {
  readonly code = 'COFFER-E301';
  readonly retryable = false;
}

export class AlreadyExists extends CofferError {
  readonly code = 'COFFER-E302';
  readonly retryable = false;
}

export class InvalidRange extends CofferError {
  readonly code = 'COFFER-E303';
  readonly retryable = false;
}

export class AuthFailed extends CofferError {
  readonly code = 'COFFER-E304';
  readonly retryable = false;
}

/** The object is protected by a retention lock (S3 Object Lock, Azure immutability). */
export class RetentionLocked extends CofferError {
  readonly code = 'COFFER-E305';
  readonly retryable = false;
}

/** The backend cannot do what was asked (feature missing on this server). */
export class Unsupported extends CofferError {
  readonly code = 'COFFER-E306';
  readonly retryable = false;
}

/** The repository location is misconfigured (no such bucket, bad URL, bad path). */
export class BadLocation extends CofferError {
  readonly code = 'COFFER-E307';
  readonly retryable = false;
}

/** A failure that may go away on its own: resets, timeouts, 5xx, throttling. */
export class Transient extends CofferError {
  readonly code = 'COFFER-E310';
  readonly retryable = true;
}

/** The server could not be reached at all (refused, DNS, TLS). Retryable: outages end. */
export class Unreachable extends CofferError {
  readonly code = 'COFFER-E311';
  readonly retryable = true;
}
