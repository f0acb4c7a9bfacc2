/**
 * rotateKeysWorkflow: begin a new key epoch (new data uses it at once, so
 * backups go on) -> re-encrypt older packs in bounded batches until none is
 * left, continuing as new to bound the history -> retire the old epochs once
 * a fresh open proves everything decrypts. Each batch is idempotent, so a
 * killed worker loses at most one batch of work and nothing else.
 */
import { continueAsNew, patched, setHandler, workflowInfo } from '@temporalio/workflow';
import type { RotationStatus } from '../activities/engine/api';
import { ACCESS_GATE_PATCH, accessGate } from './approval';
import type { AccessInput } from './approval';
import { Codes } from './codes';
import { recordFailure, recordSuccess } from './catalog-steps';
import type { CatalogOutcome } from './catalog-steps';
import { asJobFailure, userError } from './failures';
import { progressQuery } from './messages';
import type { JobProgress } from './messages';
import { sharedActivities } from './options';

export interface RotateKeysInput extends AccessInput {
  readonly repo: string;
  /** Packs re-encrypted per activity (default 50). */
  readonly packsPerBatch?: number;
  /** Batches per workflow run before continuing as new (default 200). */
  readonly batchesPerRun?: number;
}

interface RotationCarry {
  readonly status: RotationStatus;
  readonly batches: number;
  readonly run: number;
  readonly startedAt: string;
}

export interface RotateKeysWorkflowInput extends RotateKeysInput {
  readonly carry?: RotationCarry;
}

export interface RotateKeysResult {
  readonly newEpoch: number;
  readonly packsRotated: number;
  readonly batches: number;
  readonly runs: number;
  readonly final: RotationStatus;
  readonly durationMs: number;
  /** Whether the run and audit entry reached the catalog (workflows/catalog-steps.ts). */
  readonly catalog?: CatalogOutcome;
}

export async function rotateKeysWorkflow(input: RotateKeysWorkflowInput): Promise<RotateKeysResult> {
  if (typeof input.repo !== 'string' || input.repo === '') throw userError(Codes.invalidInput, 'key rotation needs a repository URL (repo)');
  const packsPerBatch = input.packsPerBatch ?? 50;
  const batchesPerRun = input.batchesPerRun ?? 200;
  if (!Number.isInteger(packsPerBatch) || packsPerBatch < 1) throw userError(Codes.invalidInput, 'packsPerBatch must be a positive integer');
  if (!Number.isInteger(batchesPerRun) || batchesPerRun < 1) throw userError(Codes.invalidInput, 'batchesPerRun must be a positive integer');
  const acts = sharedActivities();
  const run = (input.carry?.run ?? 0) + 1;
  const startedAt = input.carry?.startedAt ?? new Date().toISOString();
  let status: RotationStatus | undefined = input.carry?.status;
  let batches = input.carry?.batches ?? 0;
  let phase = status === undefined ? 'begin' : 'rotate';
  setHandler(progressQuery, (): JobProgress => ({
    job: 'rotate-keys',
    phase,
    run,
    batchesDone: batches,
    ...(status === undefined ? {} : { filesDone: status.packsTotal - status.packsRemaining, filesTotal: status.packsTotal }),
  }));
  try {
    // Access gate (workflows/approval.ts) on the first run only: a carry is accepted only from Temporal's own continue-as-new.
    if (patched(ACCESS_GATE_PATCH)) {
      if (input.carry === undefined) {
        await accessGate({ workflowType: 'rotateKeysWorkflow', repo: input.repo, input, action: 'key.rotate', onPhase: (p) => (phase = p) });
        phase = 'begin';
      } else if (workflowInfo().continuedFromExecutionRunId === undefined) {
        throw userError(Codes.invalidInput, 'carry is internal to key rotation (continue-as-new); start a rotation without it');
      }
    }
    status ??= await acts.beginKeyRotation({ repo: input.repo });
    const firstStatus = status;
    phase = 'rotate';
    let thisRun = 0;
    while (status.packsRemaining > 0) {
      if (thisRun >= batchesPerRun || workflowInfo().continueAsNewSuggested) {
        await continueAsNew<typeof rotateKeysWorkflow>({ ...input, carry: { status, batches, run, startedAt } });
      }
      status = await acts.rotateKeyBatch({ repo: input.repo, maxPacks: packsPerBatch });
      batches += 1;
      thisRun += 1;
    }
    phase = 'finish';
    const final = await acts.finishKeyRotation({ repo: input.repo });
    phase = 'catalog';
    const finishedAt = new Date().toISOString();
    // Key metadata only: the new epoch from the rotation's start, older epochs retired now (never key material).
    const retired = Array.from({ length: Math.max(0, final.newEpoch - 1) }, (_, i) => ({ epoch: i + 1, retiredAt: finishedAt }));
    const catalog = await recordSuccess(
      {
        repo: input.repo,
        type: 'rotate-keys',
        action: 'key.rotate',
        target: `epoch ${final.newEpoch}`,
        keyEpochs: [{ epoch: final.newEpoch, createdAt: startedAt }, ...retired],
        syncAccessKeys: true,
        figures: { newEpoch: final.newEpoch, packsRotated: firstStatus.packsTotal, batches, runs: run },
      },
      startedAt,
      input,
    );
    phase = 'done';
    return {
      catalog,
      newEpoch: final.newEpoch,
      packsRotated: firstStatus.packsTotal,
      batches,
      runs: run,
      final,
      durationMs: Date.now() - Date.parse(startedAt),
    };
  } catch (err) {
    phase = 'failed';
    const failure = asJobFailure(err);
    await recordFailure({ repo: input.repo, type: 'rotate-keys', action: 'key.rotate' }, startedAt, input, failure);
    throw failure;
  }
}
