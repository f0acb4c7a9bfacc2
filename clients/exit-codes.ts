/**
 * The CLI's exit statuses (documented in docs/operations.md) and how an
 * error maps to one line for the user: `COFFER-Exxx <message>: <hint>`.
 * Only --debug shows the chain of causes; never a stack trace otherwise.
 */
import { ApplicationFailure, CancelledFailure, TemporalFailure, TerminatedFailure, TimeoutFailure } from '@temporalio/common';
import { WorkflowFailedError } from '@temporalio/client';
import { CommanderError } from 'commander';
import { causeChain, isCofferError } from '../activities/errors';
import { isFailureDetails } from '../activities/failures';
import { Codes, INTEGRITY_CODES, UNREACHABLE_CODES, USER_ERROR_CODES } from '../workflows/codes';

export const ExitCode = {
  ok: 0,
  /** The job failed for a reason that is not the user's (retries exhausted, timeout, bug). */
  jobFailed: 1,
  /** Bad flags, a config error (file or settings), wrong password, no such snapshot, target not empty: fix the command or the configuration. */
  usage: 2,
  /** An integrity problem was found (verify findings, restore mismatch, drill gap, damaged data). */
  integrity: 3,
  /** Temporal, the storage or a worker could not be reached. */
  unreachable: 4,
  /** The job was cancelled, terminated or timed out. */
  cancelled: 5,
  /** Interrupted with Ctrl-C (the job was asked to cancel). */
  interrupted: 130,
} as const;

export interface RenderedError {
  readonly code: string;
  readonly message: string;
  readonly hint?: string;
  readonly exitCode: number;
  /** For --debug: every cause, outermost first, as `Name: message`. */
  readonly causes: readonly string[];
}

/**
 * Configuration errors: a config file that does not parse or validate (E530),
 * a secret reference that does not resolve (E531), a malformed setting
 * (E540), a program the worker's settings do not allow (E546). Like bad
 * flags, they are fixed by editing what the user gave, not by retrying.
 */
export const CONFIG_ERROR_CODES: readonly string[] = ['COFFER-E530', 'COFFER-E531', 'COFFER-E540', 'COFFER-E546'];

function exitFor(code: string): number {
  if (INTEGRITY_CODES.includes(code)) return ExitCode.integrity;
  if (UNREACHABLE_CODES.includes(code)) return ExitCode.unreachable;
  if (USER_ERROR_CODES.includes(code) || CONFIG_ERROR_CODES.includes(code) || code.startsWith('COFFER-E1')) return ExitCode.usage;
  return ExitCode.jobFailed;
}

function describe(err: unknown): string {
  if (err instanceof ApplicationFailure) return `${err.type ?? 'ApplicationFailure'}: ${err.message}`;
  if (isCofferError(err)) return `${err.code} ${err.name}: ${err.message}`;
  if (err instanceof Error) return `${err.name}: ${err.message}`;
  return String(err);
}

export function renderError(err: unknown): RenderedError {
  const chain = causeChain(err);
  const causes = chain.map(describe);
  for (const item of chain) {
    if (isCofferError(item)) {
      return { code: item.code, message: item.message, ...(item.hint === undefined ? {} : { hint: item.hint }), exitCode: exitFor(item.code), causes };
    }
    if (item instanceof ApplicationFailure && typeof item.type === 'string' && item.type.startsWith('COFFER-')) {
      const details = (item.details ?? []).find(isFailureDetails);
      return { code: item.type, message: item.message, ...(details?.hint === undefined ? {} : { hint: details.hint }), exitCode: exitFor(item.type), causes };
    }
  }
  if (err instanceof CommanderError) return { code: Codes.invalidInput, message: err.message, exitCode: ExitCode.usage, causes };
  if (err instanceof WorkflowFailedError) {
    const cause = err.cause;
    if (cause instanceof CancelledFailure || cause instanceof TerminatedFailure || cause instanceof TimeoutFailure) {
      return { code: Codes.workflowFailed, message: `the job was ${cause instanceof CancelledFailure ? 'cancelled' : cause instanceof TerminatedFailure ? 'terminated' : 'timed out'}`, exitCode: ExitCode.cancelled, causes };
    }
    const root = chain[chain.length - 1];
    const rootMessage = root instanceof Error ? root.message : String(root);
    return {
      code: Codes.workflowFailed,
      message: `the job failed: ${rootMessage}`,
      hint: 'see the workflow in the Temporal UI, or rerun with --debug',
      exitCode: ExitCode.jobFailed,
      causes,
    };
  }
  if (err instanceof TemporalFailure) return { code: Codes.workflowFailed, message: err.message, exitCode: ExitCode.jobFailed, causes };
  const message = err instanceof Error ? err.message : String(err);
  return { code: 'COFFER-E000', message: `unexpected error: ${message}`, hint: 'rerun with --debug and report it', exitCode: ExitCode.jobFailed, causes };
}

export function formatError(rendered: RenderedError, debug: boolean): string {
  const line = `${rendered.code} ${rendered.message}${rendered.hint === undefined ? '' : `: ${rendered.hint}`}`;
  if (!debug) return line;
  return [line, ...rendered.causes.map((c, i) => `  ${i === 0 ? 'error' : 'cause'}: ${c}`)].join('\n');
}
