/**
 * initRepositoryWorkflow: creates a repository at a URL, encrypted with the
 * passphrase the worker holds for that URL (`coffer init`).
 */
import { setHandler } from '@temporalio/workflow';
import type { InitOptions } from '../activities/engine/api';
import type { InitRepositoryOutput } from '../activities/repository';
import { Codes } from './codes';
import { recordFailure, recordSuccess } from './catalog-steps';
import type { CatalogOutcome } from './catalog-steps';
import { asJobFailure, userError } from './failures';
import { progressQuery } from './messages';
import { sharedActivities } from './options';

export interface InitRepositoryInput {
  readonly repo: string;
  /** Chunking, pack size, compression, KDF cost, object-lock days (all optional). */
  readonly options?: InitOptions;
}

export interface InitRepositoryResult extends InitRepositoryOutput {
  /** Whether the run and audit entry reached the catalog (workflows/catalog-steps.ts). */
  readonly catalog?: CatalogOutcome;
}

export async function initRepositoryWorkflow(input: InitRepositoryInput): Promise<InitRepositoryResult> {
  if (typeof input.repo !== 'string' || input.repo === '') throw userError(Codes.invalidInput, 'init needs a repository URL (repo)');
  let phase = 'init';
  setHandler(progressQuery, () => ({ job: 'init', phase }));
  const startedAt = Date.now();
  try {
    const result = await sharedActivities().initRepository({ repo: input.repo, ...(input.options === undefined ? {} : { options: input.options }) });
    phase = 'catalog';
    const catalog = await recordSuccess(
      { repo: input.repo, type: 'init', action: 'repository.init', keyEpochs: [{ epoch: result.keyEpoch, createdAt: new Date(startedAt).toISOString() }], syncAccessKeys: true },
      startedAt,
      input,
    );
    phase = 'done';
    return { ...result, catalog };
  } catch (err) {
    phase = 'failed';
    const failure = asJobFailure(err);
    await recordFailure({ repo: input.repo, type: 'init', action: 'repository.init' }, startedAt, input, failure);
    throw failure;
  }
}
