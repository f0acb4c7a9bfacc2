/**
 * The catalog and notification steps every workflow ends with. Deterministic
 * and thin: one `recordJob` activity per job (run record, snapshot, audit
 * entry, audit head checkpoint: see activities/catalog-jobs.ts), plus one
 * `notify` activity for failures and drill results.
 *
 * The catalog is never a single point of failure: the step runs only after
 * the job's real work is done (a backup's snapshot is committed), has a
 * bounded schedule-to-close, and its failure is reported in the result
 * (`catalog: 'failed'`) and by a notification, never as a failed job. A
 * worker without a catalog answers at once: `catalog: 'off'`.
 *
 * Histories recorded before these steps existed replay unchanged: every step
 * is behind patched(CATALOG_STEPS_PATCH).
 */
import { ActivityFailure, ApplicationFailure, CancellationScope, ContinueAsNew, isCancellation, log, patched, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { NotifyActivities } from '../activities/catalog-activities';
import type { CatalogJobActivities, RecordJobInput } from '../activities/catalog-jobs';
import type { NotificationEvent, Severity } from '../activities/notify/event';
import { USER_ERROR_CODES } from './codes';

export const CATALOG_STEPS_PATCH = 'catalog-steps-v1';

/**
 * recorded: written; off: this worker has no catalog; failed: the catalog (or
 * the repository's audit checkpoint) could not be written in time; skipped:
 * a replay of a history from before catalog steps.
 */
export type CatalogOutcome = 'recorded' | 'off' | 'failed' | 'skipped';

/** Codes the catalog step never retries: user errors plus the catalog's own permanent ones. */
const CATALOG_PERMANENT_CODES = [...USER_ERROR_CODES, 'COFFER-E512', 'COFFER-E513', 'COFFER-E514'];

/**
 * Bounded: a catalog that stays down longer than this (a few FerretDB
 * restarts' worth) turns into `catalog: 'failed'` rather than holding the
 * job's result back. Retries inside the window ride out short outages.
 */
const catalogActivities = proxyActivities<CatalogJobActivities>({
  scheduleToCloseTimeout: '3m',
  startToCloseTimeout: '1m',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '15s', nonRetryableErrorTypes: CATALOG_PERMANENT_CODES },
});

/** A failed job's record waits less: its error is what the caller is waiting to see (e.g. storage was unreachable). */
const failureCatalogActivities = proxyActivities<CatalogJobActivities>({
  scheduleToCloseTimeout: '1m',
  startToCloseTimeout: '30s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '10s', nonRetryableErrorTypes: CATALOG_PERMANENT_CODES },
});

/** Notification delivery never fails (per-target results); this only bounds a stuck worker. */
const notifyActivity = proxyActivities<NotifyActivities>({
  scheduleToCloseTimeout: '2m',
  startToCloseTimeout: '1m',
  retry: { initialInterval: '2s', maximumAttempts: 3 },
});

/** What a workflow knows about its job; ids, times and outcome are filled in here. */
export type JobFacts = Omit<RecordJobInput, 'workflowId' | 'runId' | 'outcome' | 'startedAt' | 'endedAt' | 'error' | 'principal'>;

/** The principal a job runs for: the input's `principal`, else its signed credential's, else undefined (the worker's default). */
export function principalOf(input: unknown): string | undefined {
  if (typeof input !== 'object' || input === null) return undefined;
  const { principal, auth } = input as { principal?: unknown; auth?: { principalId?: unknown } };
  if (typeof principal === 'string' && principal !== '') return principal;
  if (typeof auth === 'object' && auth !== null && typeof auth.principalId === 'string') return auth.principalId;
  return undefined;
}

/** Records a job that succeeded. Never throws (except for cancellation of the workflow itself). */
export async function recordSuccess(facts: JobFacts, startedAt: string | number, input: unknown): Promise<CatalogOutcome> {
  return recordOutcome(facts, 'succeeded', startedAt, input);
}

/** Records a job that ran to its end with a verdict (e.g. a verify that found damage: 'failed' with an error). */
export async function recordOutcome(
  facts: JobFacts,
  outcome: 'succeeded' | 'failed',
  startedAt: string | number,
  input: unknown,
  error?: { readonly code: string; readonly message: string },
): Promise<CatalogOutcome> {
  if (!patched(CATALOG_STEPS_PATCH)) return 'skipped';
  return record(facts, outcome, startedAt, input, error === undefined ? undefined : { code: error.code, message: error.message }, catalogActivities);
}

/**
 * Records a job that failed (or was cancelled) and notifies about a failure.
 * Runs even in a cancelled workflow; never throws: the caller rethrows the
 * job's own error.
 */
export async function recordFailure(facts: JobFacts, startedAt: string | number, input: unknown, err: unknown): Promise<void> {
  // Continue-as-new passes through the job's catch blocks: it is not a failure.
  if (err instanceof ContinueAsNew) return;
  if (!patched(CATALOG_STEPS_PATCH)) return;
  const cancelled = isCancellation(err);
  const error = describeError(err);
  await CancellationScope.nonCancellable(async () => {
    await record(facts, cancelled ? 'cancelled' : 'failed', startedAt, input, error, failureCatalogActivities);
    if (!cancelled) {
      await sendNotification({
        kind: 'workflow-failed',
        severity: 'error',
        title: `${facts.type} failed (${error.code})`,
        summary: error.message,
        details: { code: error.code, workflowType: workflowInfo().workflowType },
      });
    }
  });
}

/** Sends a notification to the worker's targets; never throws. */
export async function sendNotification(event: Omit<NotificationEvent, 'time' | 'workflowId'> & { readonly severity: Severity }): Promise<void> {
  if (!patched(CATALOG_STEPS_PATCH)) return;
  try {
    const sent = await notifyActivity.notify({ event: { ...event, time: new Date().toISOString(), workflowId: workflowInfo().workflowId } });
    if (sent.failed > 0) log.warn('some notification targets failed', { delivered: sent.delivered, failed: sent.failed });
  } catch (err) {
    if (isCancellation(err)) throw err;
    log.warn('notification could not be sent', { error: String(err) });
  }
}

async function record(
  facts: JobFacts,
  outcome: RecordJobInput['outcome'],
  startedAt: string | number,
  input: unknown,
  error: { code: string; message: string } | undefined,
  activities: CatalogJobActivities,
): Promise<CatalogOutcome> {
  const info = workflowInfo();
  const principal = principalOf(input);
  try {
    const result = await activities.recordJob({
      ...facts,
      workflowId: info.workflowId,
      runId: info.firstExecutionRunId,
      outcome,
      startedAt: typeof startedAt === 'number' ? new Date(startedAt).toISOString() : startedAt,
      endedAt: new Date().toISOString(),
      ...(principal === undefined ? {} : { principal }),
      ...(error === undefined ? {} : { error }),
    });
    return result.catalog;
  } catch (err) {
    if (isCancellation(err)) throw err;
    const problem = describeError(err);
    log.warn('the catalog step failed; the job itself is done', { code: problem.code, error: problem.message });
    await sendNotification({
      kind: 'catalog-failed',
      severity: 'warning',
      title: `${facts.type}: the catalog could not be updated (${problem.code})`,
      summary: `The ${facts.type} job ${outcome}, but its catalog record and audit entry were not written: ${problem.message}. Run \`coffer catalog check\` and \`coffer catalog rebuild\` once the catalog is back.`,
      details: { code: problem.code, outcome },
    });
    return 'failed';
  }
}

/** The Coffer code and message nearest the top of a failure chain (never a secret: Coffer messages hold none). */
function describeError(err: unknown): { code: string; message: string } {
  let current: unknown = err;
  while (current instanceof Error) {
    if (current instanceof ApplicationFailure && typeof current.type === 'string' && current.type.startsWith('COFFER-')) {
      return { code: current.type, message: current.message };
    }
    if (!(current instanceof ActivityFailure) && current.cause === undefined) break;
    current = current.cause;
  }
  if (isCancellation(err)) return { code: 'cancelled', message: 'the workflow was cancelled' };
  if (err instanceof ActivityFailure && err.cause instanceof Error) return { code: 'unexpected', message: err.cause.message };
  return { code: 'unexpected', message: err instanceof Error ? err.message : String(err) };
}
