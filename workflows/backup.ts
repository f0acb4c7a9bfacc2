/**
 * backupWorkflow: scan (the plan is stored in the repository, only its id and
 * counts are in the history) -> upload batches in parallel, at most
 * `concurrency` at a time, each a heartbeating activity that resumes from its
 * cursor -> commit (index + snapshot). Runs on the host's queue for every
 * step that touches the files. The history stays bounded: after
 * `batchesPerRun` batches (or when Temporal suggests it) the workflow
 * continues as new, carrying the plan id and the running totals.
 */
import { condition, continueAsNew, log, setHandler, workflowInfo } from '@temporalio/workflow';
import type { BatchOutcome } from '../activities/backup';
import type { BackupPlan, SnapshotSummary } from '../activities/engine/api';
import { Codes } from './codes';
import { asJobFailure, userError } from './failures';
import { progressQuery } from './messages';
import type { JobProgress } from './messages';
import { hostActivities, hostQueueFor } from './options';

export interface BackupInput {
  /** Repository URL (no credentials: the worker holds them). */
  readonly repo: string;
  /** Absolute paths on `host`. */
  readonly paths: readonly string[];
  /** The machine that has the files (recorded in the snapshot). */
  readonly host: string;
  /** Its worker's queue; default `<this workflow's queue>@<host>`. */
  readonly hostQueue?: string;
  readonly tags?: readonly string[];
  readonly excludes?: readonly string[];
  /** Parent snapshot id, or 'auto' (default) for the latest of the same host and paths. */
  readonly parent?: string;
  readonly canaries?: readonly string[];
  /** Batches uploaded at once (1..8, default 2). */
  readonly concurrency?: number;
  /** Batches per workflow run before continuing as new (default 500). */
  readonly batchesPerRun?: number;
}

export interface BackupTotals {
  readonly batchesDone: number;
  readonly filesDone: number;
  readonly bytesRead: number;
  readonly bytesUploaded: number;
  readonly chunksNew: number;
  readonly chunksDeduplicated: number;
  readonly unreadable: number;
  readonly changedDuringRead: number;
  /** Batch attempts that resumed from a cursor (a worker died or a call was retried mid-batch). */
  readonly resumedBatches: number;
}

/** State carried across continue-as-new. */
export interface BackupCarry {
  readonly plan: BackupPlan;
  readonly nextBatch: number;
  readonly totals: BackupTotals;
  readonly run: number;
  readonly startedAt: string;
  readonly unreadableSample: readonly { readonly path: string; readonly reason: string }[];
  readonly changedSample: readonly string[];
}

export interface BackupWorkflowInput extends BackupInput {
  /** Set only by continue-as-new. */
  readonly carry?: BackupCarry;
}

export interface BackupResult {
  readonly snapshot: SnapshotSummary;
  readonly plan: { readonly batches: number; readonly files: number; readonly bytes: number };
  readonly totals: BackupTotals;
  readonly unreadableSample: readonly { readonly path: string; readonly reason: string }[];
  readonly changedSample: readonly string[];
  /** Workflow runs the backup took (continue-as-new count + 1). */
  readonly runs: number;
  readonly startedAt: string;
  readonly durationMs: number;
}

const SAMPLE_LIMIT = 20;
const EMPTY_TOTALS: BackupTotals = {
  batchesDone: 0,
  filesDone: 0,
  bytesRead: 0,
  bytesUploaded: 0,
  chunksNew: 0,
  chunksDeduplicated: 0,
  unreadable: 0,
  changedDuringRead: 0,
  resumedBatches: 0,
};

function addBatch(totals: BackupTotals, batch: BatchOutcome): BackupTotals {
  return {
    batchesDone: totals.batchesDone + 1,
    filesDone: totals.filesDone + batch.filesDone,
    bytesRead: totals.bytesRead + batch.bytesRead,
    bytesUploaded: totals.bytesUploaded + batch.bytesUploaded,
    chunksNew: totals.chunksNew + batch.chunksNew,
    chunksDeduplicated: totals.chunksDeduplicated + batch.chunksDeduplicated,
    unreadable: totals.unreadable + batch.unreadable,
    changedDuringRead: totals.changedDuringRead + batch.changedDuringRead,
    resumedBatches: totals.resumedBatches + (batch.resumedFrom > 0 ? 1 : 0),
  };
}

function validate(input: BackupWorkflowInput): void {
  if (typeof input.repo !== 'string' || input.repo.trim() === '') throw userError(Codes.invalidInput, 'backup needs a repository URL (repo)');
  if (!Array.isArray(input.paths) || input.paths.length === 0) throw userError(Codes.invalidInput, 'backup needs at least one path (paths)');
  if (typeof input.host !== 'string' || input.host === '') throw userError(Codes.invalidInput, 'backup needs the host that has the files (host)');
  const concurrency = input.concurrency ?? 2;
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 8) throw userError(Codes.invalidInput, 'concurrency must be an integer from 1 to 8');
  const perRun = input.batchesPerRun ?? 500;
  if (!Number.isInteger(perRun) || perRun < 1) throw userError(Codes.invalidInput, 'batchesPerRun must be a positive integer');
}

export async function backupWorkflow(input: BackupWorkflowInput): Promise<BackupResult> {
  validate(input);
  const acts = hostActivities(hostQueueFor(input.host, input.hostQueue));
  const concurrency = input.concurrency ?? 2;
  const batchesPerRun = input.batchesPerRun ?? 500;
  const startedAt = input.carry?.startedAt ?? new Date().toISOString();
  const run = (input.carry?.run ?? 0) + 1;

  let phase = input.carry === undefined ? 'scan' : 'upload';
  let plan: BackupPlan | undefined = input.carry?.plan;
  let totals = input.carry?.totals ?? EMPTY_TOTALS;
  const unreadableSample = [...(input.carry?.unreadableSample ?? [])];
  const changedSample = [...(input.carry?.changedSample ?? [])];
  let snapshotId: string | undefined;

  setHandler(progressQuery, (): JobProgress => ({
    job: 'backup',
    phase,
    run,
    filesDone: totals.filesDone,
    bytesDone: totals.bytesRead,
    bytesUploaded: totals.bytesUploaded,
    batchesDone: totals.batchesDone,
    ...(plan === undefined ? {} : { filesTotal: plan.files, bytesTotal: plan.bytes, batchesTotal: plan.batches }),
    ...(snapshotId === undefined ? {} : { snapshotId }),
  }));

  try {
    if (plan === undefined) {
      plan = await acts.planBackup({
        repo: input.repo,
        paths: input.paths,
        host: input.host,
        ...(input.tags === undefined ? {} : { tags: input.tags }),
        ...(input.parent === undefined ? {} : { parent: input.parent }),
        ...(input.excludes === undefined ? {} : { excludes: input.excludes }),
        ...(input.canaries === undefined ? {} : { canaries: input.canaries }),
      });
      log.info('backup planned', { batches: plan.batches, files: plan.files, bytes: plan.bytes });
    }
    const currentPlan = plan;
    phase = 'upload';

    // Sliding window over the batches. Every batch below `next` is started; a
    // continue-as-new happens only when none is in flight, so all batches below
    // `next` are then complete and `next` is the whole resume state.
    let next = input.carry?.nextBatch ?? 0;
    let completedThisRun = 0;
    let inFlight = 0;
    let failure: { error: unknown } | undefined;
    const start = (batch: number): void => {
      inFlight += 1;
      acts
        .backupBatch({ repo: input.repo, planId: currentPlan.planId, batch })
        .then((outcome) => {
          totals = addBatch(totals, outcome);
          completedThisRun += 1;
          for (const item of outcome.unreadableSample) if (unreadableSample.length < SAMPLE_LIMIT) unreadableSample.push(item);
          for (const item of outcome.changedSample) if (changedSample.length < SAMPLE_LIMIT) changedSample.push(item);
        })
        .catch((error: unknown) => {
          failure ??= { error };
        })
        .finally(() => {
          inFlight -= 1;
        });
    };

    for (;;) {
      if (failure !== undefined) throw failure.error;
      const rotate = completedThisRun >= batchesPerRun || workflowInfo().continueAsNewSuggested;
      while (!rotate && inFlight < concurrency && next < currentPlan.batches) start(next++);
      if (inFlight === 0) {
        if (next >= currentPlan.batches) break;
        // rotate is true here: nothing in flight, batches left.
        await continueAsNew<typeof backupWorkflow>({
          ...input,
          carry: { plan: currentPlan, nextBatch: next, totals, run, startedAt, unreadableSample, changedSample },
        });
      }
      const inFlightBefore = inFlight;
      await condition(() => inFlight < inFlightBefore || failure !== undefined);
    }

    phase = 'commit';
    const snapshot = await acts.commitBackup({ repo: input.repo, planId: currentPlan.planId });
    snapshotId = snapshot.id;
    phase = 'done';
    return {
      snapshot,
      plan: { batches: currentPlan.batches, files: currentPlan.files, bytes: currentPlan.bytes },
      totals,
      unreadableSample,
      changedSample,
      runs: run,
      startedAt,
      durationMs: Date.now() - Date.parse(startedAt),
    };
  } catch (err) {
    phase = 'failed';
    throw asJobFailure(err);
  }
}
