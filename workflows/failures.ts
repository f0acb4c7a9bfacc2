/**
 * How workflows fail. A Coffer error from an activity becomes the workflow's
 * own non-retryable ApplicationFailure with the same type (the error code),
 * so clients see the code at the top of the failure chain; cancellation and
 * other failures pass through unchanged.
 */
import { ActivityFailure, ApplicationFailure, isCancellation } from '@temporalio/workflow';

export function asJobFailure(err: unknown): unknown {
  if (isCancellation(err)) return err;
  if (err instanceof ActivityFailure && err.cause instanceof ApplicationFailure) {
    const cause = err.cause;
    if (typeof cause.type === 'string' && cause.type.startsWith('COFFER-')) {
      return ApplicationFailure.create({
        message: cause.message,
        type: cause.type,
        nonRetryable: true,
        details: cause.details ?? [],
        cause: err,
      });
    }
  }
  return err;
}

/** A user error raised by the workflow itself (bad input, refused plan). */
export function userError(code: string, message: string, hint?: string, extra?: unknown): ApplicationFailure {
  const details: unknown[] = [{ code, name: 'WorkflowInputError', ...(hint === undefined ? {} : { hint }) }];
  if (extra !== undefined) details.push(extra);
  return ApplicationFailure.create({ message, type: code, nonRetryable: true, details });
}
