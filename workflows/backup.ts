/**
 * backupWorkflow: scan (the plan is stored in the repository, only its id and
 * counts are in the history) -> upload batches in parallel, at most
 * `concurrency` at a time, each a heartbeating activity that resumes from its
 * cursor -> commit (index + snapshot). Runs on the host's queue for every
 * step that touches the files. The history stays bounded: after
 * `batchesPerRun` batches (or when Temporal suggests it) the workflow
 * continues as new, carrying the plan id and the running totals.
 */
import { ApplicationFailure, CancellationScope, ContinueAsNew, condition, continueAsNew, log, setHandler, workflowInfo } from '@temporalio/workflow';
import type { BatchOutcome } from '../activities/backup';
import type { BackupPlan, SnapshotSummary } from '../activities/engine/api';
import type { AnomalyPolicy, BackupAnomalyInfo } from '../activities/sources/anomaly';
import type { SpoolCommandOutput } from '../activities/sources/activities';
import { Codes } from './codes';
import { recordFailure, recordSuccess, sendNotification } from './catalog-steps';
import type { CatalogOutcome } from './catalog-steps';
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
  /** The profile's source name (labels and alerts; required for a command source). */
  readonly source?: string;
  /**
   * A command source: `argv` runs on the host, its standard output is backed
   * up as /coffer-commands/<source>/<filename>; `paths` is then empty.
   */
  readonly command?: { readonly argv: readonly string[]; readonly filename: string; readonly workdir?: string };
  /** Commands (argv lists, no shell) run on the host before the backup and after it. */
  readonly hooks?: BackupHooks;
  /** Alert (or fail) when the backup changes an unusual share of files or bytes. */
  readonly anomaly?: AnomalyPolicy;
}

export interface BackupHooks {
  readonly pre?: readonly (readonly string[])[];
  readonly post?: readonly (readonly string[])[];
  /** Per hook command (default 300). */
  readonly timeoutSeconds?: number;
  /** Run `post` also when the backup failed (default true). */
  readonly postOnFailure?: boolean;
}

/** Something an operator should hear about (the shape of activities/notify's NotificationEvent, minus time). */
export interface BackupAlert {
  readonly kind: 'backup-anomaly' | 'canary-changed';
  readonly severity: 'warning' | 'error';
  readonly title: string;
  readonly summary: string;
  readonly details?: Readonly<Record<string, string | number | boolean>>;
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
  /** Files reused from the parent without reading (absent in runs carried over from older code). */
  readonly filesUnchanged?: number;
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
  /** A command source's spooled output (its spool is removed after commit). */
  readonly spooled?: SpoolCommandOutput;
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
  /** Set when the backup changed an unusual share of files or bytes (see input.anomaly). */
  readonly anomaly?: BackupAnomalyInfo;
  /** Command sources: what was spooled and stored. */
  readonly command?: { readonly path: string; readonly bytes: number; readonly sha256: string; readonly reused: boolean };
  /** Alerts raised by this backup (also logged). */
  readonly alerts?: readonly BackupAlert[];
  /** Whether the snapshot, run and audit entry reached the catalog (workflows/catalog-steps.ts). */
  readonly catalog?: CatalogOutcome;
}

/** Where command sources appear in snapshots (activities/sources/spool.ts COMMANDS_ROOT; workflows may not import values from activities). */
const COMMANDS_ROOT = '/coffer-commands';

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
  filesUnchanged: 0,
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
    filesUnchanged: (totals.filesUnchanged ?? 0) + (batch.filesUnchanged ?? 0),
  };
}

function validate(input: BackupWorkflowInput): void {
  if (typeof input.repo !== 'string' || input.repo.trim() === '') throw userError(Codes.invalidInput, 'backup needs a repository URL (repo)');
  if (input.command !== undefined) {
    if (typeof input.source !== 'string' || input.source === '') throw userError(Codes.invalidInput, 'a command source needs its name (source)');
    if (!Array.isArray(input.command.argv) || input.command.argv.length === 0) throw userError(Codes.invalidInput, 'a command source needs a command (command.argv)');
    if (Array.isArray(input.paths) && input.paths.length > 0) throw userError(Codes.invalidInput, 'give paths or a command, not both');
  } else if (!Array.isArray(input.paths) || input.paths.length === 0) throw userError(Codes.invalidInput, 'backup needs at least one path (paths)');
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
  // Sources of a profile: a command's spool (one per job: every attempt and run share it) and hooks.
  const spoolKey = workflowInfo().workflowId;
  const recordedPaths = input.command === undefined ? input.paths : [`${COMMANDS_ROOT}/${input.source ?? ''}`];
  let spooled = input.carry?.spooled;
  const label = input.source ?? `${input.host}:${recordedPaths.join(',')}`;
  const hookRun = (phase: 'pre' | 'post', commands: readonly (readonly string[])[]) =>
    acts.runBackupHooks({
      source: label,
      phase,
      commands,
      timeoutSeconds: input.hooks?.timeoutSeconds ?? 300,
      ...(input.command?.workdir === undefined ? {} : { workdir: input.command.workdir }),
    });
  let postHooksStarted = false;
  const alerts: BackupAlert[] = [];

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
      if ((input.hooks?.pre?.length ?? 0) > 0) {
        phase = 'pre-hooks';
        await hookRun('pre', input.hooks?.pre ?? []);
      }
      if (input.command !== undefined) {
        phase = 'command';
        spooled = await acts.spoolCommandOutput({
          spoolKey,
          source: input.source ?? '',
          argv: input.command.argv,
          filename: input.command.filename,
          ...(input.command.workdir === undefined ? {} : { workdir: input.command.workdir }),
        });
        log.info('command output spooled', { source: input.source, bytes: spooled.bytes, reused: spooled.reused });
      }
      phase = 'scan';
      plan = await acts.planBackup({
        repo: input.repo,
        paths: recordedPaths,
        ...(spooled === undefined ? {} : { readFrom: { [spooled.recordedPath]: spooled.readFrom } }),
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
          carry: { plan: currentPlan, nextBatch: next, totals, run, startedAt, unreadableSample, changedSample, ...(spooled === undefined ? {} : { spooled }) },
        });
      }
      const inFlightBefore = inFlight;
      await condition(() => inFlight < inFlightBefore || failure !== undefined);
    }

    let anomaly: BackupAnomalyInfo | undefined;
    if (input.anomaly !== undefined) {
      // Before the commit, so with failBackup an anomalous backup never becomes the latest snapshot.
      phase = 'anomaly-check';
      const assessment = await acts.assessBackupAnomaly({
        repo: input.repo,
        host: input.host,
        paths: recordedPaths,
        candidate: {
          files: currentPlan.files,
          filesChanged: Math.max(0, currentPlan.files - (totals.filesUnchanged ?? 0)),
          bytes: currentPlan.bytes,
          bytesChanged: totals.bytesRead,
        },
        policy: input.anomaly,
      });
      anomaly = assessment.anomaly;
      if (anomaly !== undefined) {
        const alert = anomalyAlert(label, anomaly);
        alerts.push(alert);
        log.warn(`ALERT ${alert.title}`, { kind: alert.kind, reasons: anomaly.reasons.join('; ') });
      }
    }

    phase = 'commit';
    const snapshot = await acts.commitBackup({ repo: input.repo, planId: currentPlan.planId });
    snapshotId = snapshot.id;
    if (input.command !== undefined) await acts.removeCommandSpool({ spoolKey });
    if ((input.hooks?.post?.length ?? 0) > 0) {
      phase = 'post-hooks';
      postHooksStarted = true;
      await hookRun('post', input.hooks?.post ?? []);
    }
    for (const alert of alerts) await sendAlert(alert);
    // After the commit: the snapshot is safe whatever the catalog does (bounded, never fails the backup).
    phase = 'catalog';
    const catalog = await recordSuccess({ repo: input.repo, type: 'backup', action: 'backup', target: `snapshot ${snapshot.id}`, snapshot, figures: backupFigures(totals, run) }, startedAt, input);
    phase = 'done';
    return {
      catalog,
      snapshot,
      plan: { batches: currentPlan.batches, files: currentPlan.files, bytes: currentPlan.bytes },
      totals,
      unreadableSample,
      changedSample,
      runs: run,
      startedAt,
      durationMs: Date.now() - Date.parse(startedAt),
      ...(anomaly === undefined ? {} : { anomaly }),
      ...(spooled === undefined ? {} : { command: { path: `${spooled.recordedPath}/${input.command?.filename ?? ''}`, bytes: spooled.bytes, sha256: spooled.sha256, reused: spooled.reused } }),
      ...(alerts.length === 0 ? {} : { alerts }),
    };
  } catch (err) {
    // Continuing as new is not an ending: the next run needs the spool, and post hooks run once, at the very end.
    if (err instanceof ContinueAsNew) throw err;
    phase = 'failed';
    // Clean up even when cancelled: the spool holds a copy of the dump; post hooks restart what pre stopped.
    await CancellationScope.nonCancellable(async () => {
      if (input.command !== undefined) await acts.removeCommandSpool({ spoolKey }).catch((e: unknown) => log.warn('could not remove the command spool', { error: String(e) }));
      if (!postHooksStarted && (input.hooks?.post?.length ?? 0) > 0 && input.hooks?.postOnFailure !== false) {
        await hookRun('post', input.hooks?.post ?? []).catch((e: unknown) => log.warn('post hook after a failed backup failed too', { error: String(e) }));
      }
    });
    const failure = withCanaryAlert(asJobFailure(err), label);
    const alert = alertOf(failure);
    if (alert !== undefined) await sendAlert(alert);
    await recordFailure({ repo: input.repo, type: 'backup', action: 'backup', target: label, source: { host: input.host, paths: recordedPaths }, figures: backupFigures(totals, run) }, startedAt, input, failure);
    throw failure;
  }
}

function backupFigures(totals: BackupTotals, runs: number): Record<string, number> {
  return {
    files: totals.filesDone,
    bytesRead: totals.bytesRead,
    bytesUploaded: totals.bytesUploaded,
    chunksNew: totals.chunksNew,
    chunksDeduplicated: totals.chunksDeduplicated,
    unreadable: totals.unreadable,
    runs,
  };
}

function anomalyAlert(label: string, anomaly: BackupAnomalyInfo): BackupAlert {
  return {
    kind: 'backup-anomaly',
    severity: anomaly.failBackup ? 'error' : 'warning',
    title: `Unusual change in backup of ${label}${anomaly.failBackup ? ' (backup refused)' : ''}`,
    summary: `${anomaly.reasons.join('\n')}\nPossible ransomware encryption or mass deletion: inspect the host.`,
    details: {
      filesShare: Number(anomaly.filesShare.toFixed(4)),
      bytesShare: Number(anomaly.bytesShare.toFixed(4)),
      medianFilesShare: Number(anomaly.medianFilesShare.toFixed(4)),
      medianBytesShare: Number(anomaly.medianBytesShare.toFixed(4)),
      baseline: anomaly.baseline,
    },
  };
}

/** A canary failure carries an alert in its details (for notifications) and is logged as one. */
/** Sends a backup alert to the worker's notification targets (never fails the backup). */
async function sendAlert(alert: BackupAlert): Promise<void> {
  await sendNotification({ kind: alert.kind, severity: alert.severity, title: alert.title, summary: alert.summary, ...(alert.details === undefined ? {} : { details: alert.details }) });
}

/** The alert a failure carries in its details (canary changed), if any. */
function alertOf(failure: unknown): BackupAlert | undefined {
  if (!(failure instanceof ApplicationFailure)) return undefined;
  for (const detail of failure.details ?? []) {
    if (typeof detail === 'object' && detail !== null && 'alert' in detail) return (detail as { alert: BackupAlert }).alert;
  }
  return undefined;
}

/** Canary and anomaly refusals carry an alert in their details (the CLI shows it; sendAlert notifies). */
function withCanaryAlert(failure: unknown, label: string): unknown {
  if (!(failure instanceof ApplicationFailure)) return failure;
  let alert: BackupAlert;
  if (failure.type === Codes.canaryChanged) {
    alert = {
      kind: 'canary-changed',
      severity: 'error',
      title: `Canary file changed on ${label}: backup refused`,
      summary: `${failure.message}\nA canary file is never touched by normal work: inspect the host for ransomware. The earlier snapshots are untouched.`,
      details: { code: Codes.canaryChanged },
    };
  } else if (failure.type === Codes.backupAnomaly) {
    alert = {
      kind: 'backup-anomaly',
      severity: 'error',
      title: `Unusual change in backup of ${label} (backup refused)`,
      summary: `${failure.message}\nPossible ransomware encryption or mass deletion: inspect the host. The earlier snapshots are untouched.`,
      details: { code: Codes.backupAnomaly },
    };
  } else {
    return failure;
  }
  log.error(`ALERT ${alert.title}`, { kind: alert.kind, message: failure.message });
  return ApplicationFailure.create({
    message: failure.message,
    type: failure.type,
    nonRetryable: true,
    details: [...(failure.details ?? []), { alert }],
    ...(failure.cause === undefined ? {} : { cause: failure.cause }),
  });
}
