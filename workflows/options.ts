/**
 * Activity option presets. Every Coffer activity heartbeats (the activity
 * frame beats on a timer too), so a dead worker is noticed within the
 * heartbeat timeout and the retry resumes from the last heartbeat. User
 * errors are never retried; everything else retries with backoff long enough
 * to ride out a storage or network outage of a few minutes.
 */
import { proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { RetryPolicy } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { USER_ERROR_CODES } from './codes';

export const RETRY_POLICY: RetryPolicy = {
  initialInterval: '1s',
  backoffCoefficient: 2,
  maximumInterval: '30s',
  maximumAttempts: 40,
  nonRetryableErrorTypes: [...USER_ERROR_CODES],
};

export const HEARTBEAT_TIMEOUT = '30s';

/** Activities of the shared queue (repository-only work: init, verify, prune, keys). */
export function sharedActivities(): Activities {
  return proxyActivities<Activities>({
    startToCloseTimeout: '12h',
    heartbeatTimeout: HEARTBEAT_TIMEOUT,
    retry: RETRY_POLICY,
  });
}

/** The queue of the worker on `host`: `<shared queue>@<host>` unless given. */
export function hostQueueFor(host: string, explicitQueue?: string): string {
  return explicitQueue ?? `${workflowInfo().taskQueue}@${host}`;
}

/** Activities that read or write local files: run on the host that has them. */
export function hostActivities(taskQueue: string): Activities {
  return proxyActivities<Activities>({
    taskQueue,
    startToCloseTimeout: '12h',
    heartbeatTimeout: HEARTBEAT_TIMEOUT,
    retry: RETRY_POLICY,
  });
}
