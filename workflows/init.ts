/**
 * initRepositoryWorkflow: creates a repository at a URL, encrypted with the
 * passphrase the worker holds for that URL (`coffer init`).
 */
import { setHandler } from '@temporalio/workflow';
import type { InitOptions } from '../activities/engine/api';
import type { InitRepositoryOutput } from '../activities/repository';
import { Codes } from './codes';
import { asJobFailure, userError } from './failures';
import { progressQuery } from './messages';
import { sharedActivities } from './options';

export interface InitRepositoryInput {
  readonly repo: string;
  /** Chunking, pack size, compression, KDF cost, object-lock days (all optional). */
  readonly options?: InitOptions;
}

export async function initRepositoryWorkflow(input: InitRepositoryInput): Promise<InitRepositoryOutput> {
  if (typeof input.repo !== 'string' || input.repo === '') throw userError(Codes.invalidInput, 'init needs a repository URL (repo)');
  let phase = 'init';
  setHandler(progressQuery, () => ({ job: 'init', phase }));
  try {
    const result = await sharedActivities().initRepository({ repo: input.repo, ...(input.options === undefined ? {} : { options: input.options }) });
    phase = 'done';
    return result;
  } catch (err) {
    phase = 'failed';
    throw asJobFailure(err);
  }
}
