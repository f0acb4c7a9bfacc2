/**
 * The single classifier between Coffer's domain errors and Temporal:
 * - a CofferError with retryable=false becomes a non-retryable
 *   ApplicationFailure whose `type` is the error code (so workflows, retry
 *   policies and the CLI can match on it) and whose details carry the hint;
 * - a retryable CofferError becomes a retryable ApplicationFailure with the
 *   same type: Temporal's retry policy handles longer outages;
 * - cancellation is rethrown untouched so the activity reports "cancelled";
 * - anything else (a bug, an unexpected system error) is rethrown and retried.
 */
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { isCofferError } from './errors';

/** What a Coffer failure carries besides its message (always JSON, never a secret). */
export interface FailureDetails {
  readonly code: string;
  readonly name: string;
  readonly hint?: string;
}

export function isFailureDetails(value: unknown): value is FailureDetails {
  return typeof value === 'object' && value !== null && typeof (value as { code?: unknown }).code === 'string';
}

export function toTemporalFailure(err: unknown, signal?: AbortSignal): unknown {
  if (err instanceof CancelledFailure) return err;
  if (signal?.aborted === true) {
    // The engine rejects with the signal's reason or an AbortError: report the cancellation itself.
    return signal.reason instanceof Error ? signal.reason : new CancelledFailure('activity cancelled');
  }
  if (err instanceof ApplicationFailure) return err;
  if (isCofferError(err)) {
    const details: FailureDetails = { code: err.code, name: err.name, ...(err.hint === undefined ? {} : { hint: err.hint }) };
    return ApplicationFailure.create({
      message: err.message,
      type: err.code,
      nonRetryable: !err.retryable,
      details: [details],
      cause: err.cause instanceof Error ? err.cause : undefined,
    });
  }
  return err;
}

/** The code of a domain error or of a Temporal failure built from one. */
export function errorCode(err: unknown): string {
  if (isCofferError(err)) return err.code;
  if (err instanceof ApplicationFailure && typeof err.type === 'string') return err.type;
  if (err instanceof CancelledFailure) return 'cancelled';
  return 'unexpected';
}
