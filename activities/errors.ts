/**
 * Coffer's domain errors. Every error a user can meet is a CofferError with a
 * stable `code` (documented in docs/error-codes.md) and a one-line hint saying
 * what to do. Engine code throws these; activities/failures.ts is the single
 * place that decides which of them Temporal should retry.
 */
export interface CofferErrorOptions {
  cause?: unknown;
  /** What the user should do next, shown after the message by the CLI. */
  hint?: string;
}

export abstract class CofferError extends Error {
  /** Stable, documented code such as COFFER-E205. */
  abstract readonly code: string;
  /** Whether retrying the same operation could succeed without user action. */
  abstract readonly retryable: boolean;
  readonly hint: string | undefined;

  constructor(message: string, options: CofferErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.hint = options.hint;
    this.name = new.target.name;
  }
}

/** Malformed user input: bad flags, config, patterns, snapshot references. */
export class InvalidInput extends CofferError {
  readonly code = 'COFFER-E100';
  readonly retryable = false;
}

export function isCofferError(err: unknown): err is CofferError {
  return err instanceof CofferError;
}

/** The chain of causes, outermost first, for `--debug` output and logs. */
export function causeChain(err: unknown): unknown[] {
  const chain: unknown[] = [];
  let current: unknown = err;
  while (current !== undefined && current !== null && chain.length < 16) {
    chain.push(current);
    current = current instanceof Error ? current.cause : undefined;
  }
  return chain;
}
