/**
 * restoreWorkflow: resolve the snapshot (id, 'latest' or point in time) ->
 * restore into a staging directory next to the target -> compare the staging
 * tree byte for byte with the snapshot -> swap it into place. The target is
 * untouched until the compare passed; on any failure or cancellation the
 * staging directory is removed and the old target stays (or is put back).
 * A non-empty target is refused unless `overwrite` is set.
 */
import { CancellationScope, log, patched, setHandler } from '@temporalio/workflow';
import type { CompareOutcome, RestorePaths } from '../activities/restore';
import { ACCESS_GATE_PATCH, accessGate, restoreTargetOccupied } from './approval';
import type { AccessInput } from './approval';
import { Codes } from './codes';
import { recordFailure, recordSuccess } from './catalog-steps';
import type { CatalogOutcome } from './catalog-steps';
import { asJobFailure, userError } from './failures';
import { progressQuery } from './messages';
import type { JobProgress } from './messages';
import { hostActivities, hostQueueFor, sharedActivities } from './options';

export interface RestoreInput extends AccessInput {
  readonly repo: string;
  /** Snapshot id, unique id prefix, or 'latest' (default). Ignored when asOf is set. */
  readonly snapshot?: string;
  /** ISO-8601 time: restore the latest snapshot taken at or before it. */
  readonly asOf?: string;
  /** Restrict 'latest'/asOf to snapshots of this host (default: any host). */
  readonly snapshotHost?: string;
  readonly tags?: readonly string[];
  /** Absolute directory on `host` to restore into. */
  readonly target: string;
  /** The machine to restore on. */
  readonly host: string;
  readonly hostQueue?: string;
  readonly include?: readonly string[];
  readonly exclude?: readonly string[];
  /** Replace a non-empty target (its old contents are removed after the swap). */
  readonly overwrite?: boolean;
}

export interface RestoreOutput {
  readonly snapshotId: string;
  readonly snapshotTime: string;
  readonly target: string;
  /** Files in place, including those an interrupted earlier attempt had restored. */
  readonly files: number;
  readonly dirs: number;
  /** Bytes written by the attempt that finished (files it skipped are not counted). */
  readonly bytes: number;
  /** Files a resumed attempt found already restored (and skipped). */
  readonly skipped: number;
  /** The byte-for-byte comparison of the restored tree with the snapshot (always passed when returned). */
  readonly verified: CompareOutcome;
  readonly replacedExisting: boolean;
  readonly durationMs: number;
  /** Whether the run and audit entry reached the catalog (workflows/catalog-steps.ts). */
  readonly catalog?: CatalogOutcome;
}

export async function restoreWorkflow(input: RestoreInput): Promise<RestoreOutput> {
  if (typeof input.repo !== 'string' || input.repo === '') throw userError(Codes.invalidInput, 'restore needs a repository URL (repo)');
  if (typeof input.target !== 'string' || input.target === '') throw userError(Codes.invalidInput, 'restore needs a target directory (target)');
  if (typeof input.host !== 'string' || input.host === '') throw userError(Codes.invalidInput, 'restore needs the host to restore on (host)');
  const shared = sharedActivities();
  const local = hostActivities(hostQueueFor(input.host, input.hostQueue));
  const startedAt = Date.now();
  let phase = 'resolve';
  let snapshotId: string | undefined;
  setHandler(progressQuery, (): JobProgress => ({ job: 'restore', phase, ...(snapshotId === undefined ? {} : { snapshotId }) }));

  let paths: RestorePaths | undefined;
  try {
    // Access gate (workflows/approval.ts): replacing a non-empty target needs a second principal's approval.
    // patched(): histories from before the gate replay unchanged; every new run is gated.
    if (patched(ACCESS_GATE_PATCH)) {
      const overwriting = input.overwrite === true && (await restoreTargetOccupied(hostQueueFor(input.host, input.hostQueue), input.target));
      await accessGate({ workflowType: 'restoreWorkflow', repo: input.repo, input, action: overwriting ? 'restore.overwrite' : 'restore', object: input.target, onPhase: (p) => (phase = p) });
      phase = 'resolve';
    }
    const snapshot = await shared.resolveSnapshot({
      repo: input.repo,
      ...(input.snapshot === undefined ? {} : { snapshot: input.snapshot }),
      ...(input.asOf === undefined ? {} : { asOf: input.asOf }),
      ...(input.snapshotHost === undefined ? {} : { host: input.snapshotHost }),
      ...(input.tags === undefined ? {} : { tags: input.tags }),
    });
    snapshotId = snapshot.id;
    phase = 'prepare';
    paths = await local.prepareRestore({ target: input.target, overwrite: input.overwrite === true });
    const selection = {
      repo: input.repo,
      snapshotId: snapshot.id,
      into: paths.staging,
      ...(input.include === undefined ? {} : { include: input.include }),
      ...(input.exclude === undefined ? {} : { exclude: input.exclude }),
    };
    phase = 'restore';
    const restored = await local.restoreSnapshot(selection);
    phase = 'compare';
    const compared = await local.compareRestore(selection);
    if (compared.differences > 0) {
      throw userError(
        Codes.restoreMismatch,
        `restored tree differs from snapshot ${snapshot.id} in ${compared.differences} place(s); the target was not touched`,
        'run `coffer verify --read-data` to look for damaged data',
        compared,
      );
    }
    phase = 'swap';
    const swapped = await local.swapRestore({ paths });
    phase = 'catalog';
    const catalog = await recordSuccess(
      { repo: input.repo, type: 'restore', action: swapped.replacedExisting ? 'restore.overwrite' : 'restore', target: `snapshot ${snapshot.id} -> ${paths.target}`, figures: { files: restored.files + restored.skipped, bytes: restored.bytes, differences: compared.differences } },
      startedAt,
      input,
    );
    phase = 'done';
    log.info('restore done', { snapshot: snapshot.id, files: restored.files });
    return {
      catalog,
      snapshotId: snapshot.id,
      snapshotTime: snapshot.time,
      target: paths.target,
      files: restored.files + restored.skipped,
      dirs: restored.dirs,
      bytes: restored.bytes,
      skipped: restored.skipped,
      verified: compared,
      replacedExisting: swapped.replacedExisting,
      durationMs: Date.now() - startedAt,
    };
  } catch (err) {
    phase = 'failed';
    const staging = paths?.staging;
    if (staging !== undefined) {
      // Roll back even when the workflow is being cancelled: the staging tree must not linger.
      await CancellationScope.nonCancellable(async () => local.discardRestore({ path: staging })).catch((cleanupErr: unknown) => {
        log.warn('could not remove the staging directory', { error: String(cleanupErr) });
      });
    }
    const failure = asJobFailure(err);
    await recordFailure({ repo: input.repo, type: 'restore', action: input.overwrite === true ? 'restore.overwrite' : 'restore', target: `${snapshotId ?? input.snapshot ?? input.asOf ?? 'latest'} -> ${input.target}` }, startedAt, input, failure);
    throw failure;
  }
}
