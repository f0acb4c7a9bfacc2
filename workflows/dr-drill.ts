/**
 * drDrillWorkflow: prove a snapshot can be brought back in time. Picks a
 * snapshot (latest by default), restores it into a scratch directory on the
 * drill host, compares it byte for byte, and measures
 *   RTO = wall time from the start of the drill to a verified restore,
 *   RPO = age of the snapshot when the drill started,
 * against the objectives. The scratch tree is always removed; the report is
 * stored in the repository (drills/<id>). Any gap (a
 * difference, a missed objective) fails the workflow loudly with a
 * non-retryable failure whose details hold the full report.
 */
import { ApplicationFailure, CancellationScope, log, patched, setHandler, workflowInfo } from '@temporalio/workflow';
import type { CompareOutcome } from '../activities/restore';
import { Codes } from './codes';
import { recordFailure, recordOutcome, sendNotification } from './catalog-steps';
import type { CatalogOutcome } from './catalog-steps';
import { asJobFailure, userError } from './failures';
import { progressQuery } from './messages';
import type { JobProgress } from './messages';
import { hostActivities, hostQueueFor, sharedActivities } from './options';

export interface DrillInput {
  readonly repo: string;
  /** Snapshot id or 'latest' (default). */
  readonly snapshot?: string;
  /** Only consider snapshots of this host for 'latest'. */
  readonly snapshotHost?: string;
  /** The machine the drill restores on (its scratch directory). */
  readonly host: string;
  readonly hostQueue?: string;
  readonly include?: readonly string[];
  /** Recovery time objective in seconds (default 3600). */
  readonly rtoObjectiveSeconds?: number;
  /** Recovery point objective in seconds (default 93600 = 26 h, a daily backup plus slack). */
  readonly rpoObjectiveSeconds?: number;
}

export interface DrillReport {
  readonly repo: string;
  readonly snapshotId: string;
  readonly snapshotTime: string;
  readonly snapshotHost: string;
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly restored: { readonly files: number; readonly dirs: number; readonly bytes: number };
  readonly compare: CompareOutcome;
  readonly rtoSeconds: number;
  readonly rtoObjectiveSeconds: number;
  readonly rpoSeconds: number;
  readonly rpoObjectiveSeconds: number;
  readonly passed: boolean;
  /** Human-readable gaps; empty when passed. */
  readonly gaps: readonly string[];
  /** Object id of the copy of this report stored in the repository (drills/<id>). */
  readonly storedAs?: string;
  /** Whether the report, run and audit entry reached the catalog (workflows/catalog-steps.ts). */
  readonly catalog?: CatalogOutcome;
}

export async function drDrillWorkflow(input: DrillInput): Promise<DrillReport> {
  if (typeof input.repo !== 'string' || input.repo === '') throw userError(Codes.invalidInput, 'drill needs a repository URL (repo)');
  if (typeof input.host !== 'string' || input.host === '') throw userError(Codes.invalidInput, 'drill needs the host to restore on (host)');
  const rtoObjectiveSeconds = input.rtoObjectiveSeconds ?? 3600;
  const rpoObjectiveSeconds = input.rpoObjectiveSeconds ?? 93_600;
  if (!(rtoObjectiveSeconds > 0) || !(rpoObjectiveSeconds > 0)) throw userError(Codes.invalidInput, 'objectives must be positive numbers of seconds');

  const shared = sharedActivities();
  const local = hostActivities(hostQueueFor(input.host, input.hostQueue));
  const started = Date.now();
  let phase = 'resolve';
  setHandler(progressQuery, (): JobProgress => ({ job: 'drill', phase }));

  let scratch: string | undefined;
  let report: DrillReport;
  try {
    const snapshot = await shared.resolveSnapshot({
      repo: input.repo,
      snapshot: input.snapshot ?? 'latest',
      ...(input.snapshotHost === undefined ? {} : { host: input.snapshotHost }),
    });
    phase = 'prepare';
    scratch = (await local.prepareScratch()).path;
    const selection = { repo: input.repo, snapshotId: snapshot.id, into: scratch, ...(input.include === undefined ? {} : { include: input.include }) };
    phase = 'restore';
    const restored = await local.restoreSnapshot(selection);
    phase = 'compare';
    const compare = await local.compareRestore(selection);
    const finished = Date.now();
    const rtoSeconds = (finished - started) / 1000;
    const rpoSeconds = Math.max(0, (started - Date.parse(snapshot.time)) / 1000);
    const gaps: string[] = [];
    if (compare.differences > 0) gaps.push(`${compare.differences} difference(s) between the restored tree and the snapshot`);
    if (restored.files + restored.skipped === 0 && restored.dirs === 0) gaps.push('the snapshot restored nothing');
    if (rtoSeconds > rtoObjectiveSeconds) gaps.push(`RTO ${rtoSeconds.toFixed(1)} s exceeds the objective of ${rtoObjectiveSeconds} s`);
    if (rpoSeconds > rpoObjectiveSeconds) gaps.push(`RPO ${rpoSeconds.toFixed(0)} s (snapshot age) exceeds the objective of ${rpoObjectiveSeconds} s`);
    report = {
      repo: input.repo,
      snapshotId: snapshot.id,
      snapshotTime: snapshot.time,
      snapshotHost: snapshot.host,
      startedAt: new Date(started).toISOString(),
      finishedAt: new Date(finished).toISOString(),
      restored: { files: restored.files + restored.skipped, dirs: restored.dirs, bytes: restored.bytes },
      compare,
      rtoSeconds,
      rtoObjectiveSeconds,
      rpoSeconds,
      rpoObjectiveSeconds,
      passed: gaps.length === 0,
      gaps,
    };
  } catch (err) {
    phase = 'failed';
    const failure = asJobFailure(err);
    await recordFailure({ repo: input.repo, type: 'drill', action: 'drill', target: input.snapshot ?? 'latest' }, started, input, failure);
    throw failure;
  } finally {
    const path = scratch;
    if (path !== undefined) {
      await CancellationScope.nonCancellable(async () => local.discardRestore({ path })).catch((cleanupErr: unknown) => {
        log.warn('could not remove the drill scratch directory', { error: String(cleanupErr) });
      });
    }
  }
  // The same record goes to the repository and to the catalog, so a catalog rebuilt from the repository equals the live one.
  const drillRecord = {
    drillId: workflowInfo().workflowId,
    snapshotId: report.snapshotId,
    time: report.startedAt,
    passed: report.passed,
    rtoMs: Math.round(report.rtoSeconds * 1000),
    rpoMs: Math.round(report.rpoSeconds * 1000),
    objectives: { rtoMs: rtoObjectiveSeconds * 1000, rpoMs: rpoObjectiveSeconds * 1000 },
    figures: { files: report.restored.files, dirs: report.restored.dirs, bytes: report.restored.bytes, matched: report.compare.matched, differences: report.compare.differences },
    problems: report.gaps,
  };
  // Drills recorded before reports were stored in the repository replay without this step.
  if (patched('drill-report-in-repository')) {
    phase = 'record';
    try {
      const stored = await shared.recordDrillReport({ repo: input.repo, report: drillRecord });
      report = { ...report, storedAs: stored.objectId };
    } catch (err) {
      phase = 'failed';
      const failure = asJobFailure(err);
      await recordFailure({ repo: input.repo, type: 'drill', action: 'drill', target: `snapshot ${report.snapshotId}` }, started, input, failure);
      throw failure;
    }
  }
  // Every drill result is announced, passed or not; then the catalog gets the report, the run and an audit entry.
  phase = 'notify';
  await sendNotification({
    kind: 'drill-result',
    severity: report.passed ? 'info' : 'error',
    title: `DR drill ${report.passed ? 'passed' : 'FAILED'}: snapshot ${report.snapshotId.slice(0, 12)}`,
    summary: report.passed
      ? `Restored and verified in ${report.rtoSeconds.toFixed(1)} s (objective ${rtoObjectiveSeconds} s); snapshot age ${report.rpoSeconds.toFixed(0)} s (objective ${rpoObjectiveSeconds} s).`
      : `Gaps: ${report.gaps.join('; ')}`,
    details: { passed: report.passed, rtoSeconds: Number(report.rtoSeconds.toFixed(1)), rpoSeconds: Math.round(report.rpoSeconds), snapshotId: report.snapshotId },
  });
  phase = 'catalog';
  const catalog = await recordOutcome(
    { repo: input.repo, type: 'drill', action: 'drill', target: `snapshot ${report.snapshotId}`, drillReport: drillRecord, figures: { rtoMs: drillRecord.rtoMs, rpoMs: drillRecord.rpoMs, ...drillRecord.figures } },
    report.passed ? 'succeeded' : 'failed',
    started,
    input,
    report.passed ? undefined : { code: Codes.drillFailed, message: report.gaps.join('; ') },
  );
  report = { ...report, catalog };
  phase = report.passed ? 'passed' : 'failed';
  if (!report.passed) {
    throw ApplicationFailure.create({
      message: `DR drill failed: ${report.gaps.join('; ')}`,
      type: Codes.drillFailed,
      nonRetryable: true,
      details: [{ code: Codes.drillFailed, name: 'DrillFailed', hint: 'see the report in the failure details; fix the gaps and run the drill again' }, report],
    });
  }
  return report;
}
