/**
 * removeKeyWorkflow: removes one key file from a repository. A "sensitive
 * operation": an approval gate runs first (added by the access-control work).
 * The input names the repository and the key id only: no secret travels in
 * the workflow. Adding keys is client-side (`coffer keys add`), because it
 * needs the new passphrase.
 */
import { patched, setHandler } from '@temporalio/workflow';
import type { RemoveRepositoryKeyResult } from '../activities/key-admin';
import { ACCESS_GATE_PATCH, accessGate } from './approval';
import type { AccessInput } from './approval';
import { Codes } from './codes';
import { asJobFailure, userError } from './failures';
import { progressQuery } from './messages';
import type { JobProgress } from './messages';
import { sharedActivities } from './options';

export interface RemoveKeyInput extends AccessInput {
  readonly repo: string;
  /** Full id (64 hex characters) of the key to remove. */
  readonly keyId: string;
}

export interface RemoveKeyResult extends RemoveRepositoryKeyResult {
  readonly repo: string;
}

export async function removeKeyWorkflow(input: RemoveKeyInput): Promise<RemoveKeyResult> {
  if (typeof input.repo !== 'string' || input.repo === '') throw userError(Codes.invalidInput, 'key removal needs a repository URL (repo)');
  if (typeof input.keyId !== 'string' || !/^[0-9a-f]{64}$/.test(input.keyId)) {
    throw userError(Codes.invalidInput, 'key removal needs the full 64-character key id (keyId)', "see 'coffer keys list'");
  }
  let phase = 'remove';
  setHandler(progressQuery, (): JobProgress => ({ job: 'remove-key', phase }));
  try {
    // Access gate (workflows/approval.ts): key removal needs key.remove and a second principal's approval.
    if (patched(ACCESS_GATE_PATCH)) {
      await accessGate({ workflowType: 'removeKeyWorkflow', repo: input.repo, input, action: 'key.remove', object: input.keyId, onPhase: (p) => (phase = p) });
      phase = 'remove';
    }
    const result = await sharedActivities().removeRepositoryKey({ repo: input.repo, keyId: input.keyId });
    phase = 'done';
    return { repo: input.repo, ...result };
  } catch (err) {
    phase = 'failed';
    throw asJobFailure(err);
  }
}
