/**
 * Errors of the catalog layer (MongoDB / FerretDB). Messages never contain the
 * connection string: it may hold a password.
 */
import { CofferError } from '../errors';
import type { CofferErrorOptions } from '../errors';

/** The catalog server cannot be reached or dropped the connection: retry later. */
export class CatalogUnavailable extends CofferError {
  readonly code = 'COFFER-E510';
  readonly retryable = true;

  constructor(message: string, options: CofferErrorOptions = {}) {
    super(message, { hint: 'check that the catalog database (COFFER_MONGODB_URL) is running and reachable', ...options });
  }
}

/** Concurrent writers kept winning the race for the same record (e.g. the next audit sequence number). */
export class CatalogConflict extends CofferError {
  readonly code = 'COFFER-E511';
  readonly retryable = true;

  constructor(message: string, options: CofferErrorOptions = {}) {
    super(message, { hint: 'another writer is appending at the same time; the operation can be retried', ...options });
  }
}

/** The catalog refused an operation for a reason retrying will not fix (bad document, unsupported operator). */
export class CatalogRejected extends CofferError {
  readonly code = 'COFFER-E512';
  readonly retryable = false;

  constructor(message: string, options: CofferErrorOptions = {}) {
    super(message, { hint: 'this is a bug or an unsupported catalog server; run with --debug and report it', ...options });
  }
}

/** A catalog operation was asked of a worker that has no catalog configured. */
export class CatalogNotConfigured extends CofferError {
  readonly code = 'COFFER-E513';
  readonly retryable = false;

  constructor(message: string, options: CofferErrorOptions = {}) {
    super(message, { hint: 'set COFFER_MONGODB_URL for the worker (and every worker on the same task queue) and restart it', ...options });
  }
}

/** The repository the caller named is not the one the catalog entry is about. */
export class CatalogRepositoryMismatch extends CofferError {
  readonly code = 'COFFER-E514';
  readonly retryable = false;

  constructor(message: string, options: CofferErrorOptions = {}) {
    super(message, { hint: 'pass the URL of the repository this catalog entry belongs to', ...options });
  }
}
