/**
 * verifyWorkflow: structural check, full data read, or subset n/t of the
 * packs. Damage is reported as findings in the result (ok=false), not as a
 * workflow failure: the job itself succeeded in finding it.
 */
import { setHandler } from '@temporalio/workflow';
import type { VerifyOutcome } from '../activities/verify';
import { Codes } from './codes';
import { asJobFailure, userError } from './failures';
import { progressQuery } from './messages';
import type { JobProgress } from './messages';
import { sharedActivities } from './options';

export interface VerifyInput {
  readonly repo: string;
  /** 'structure' (default) or 'read-data'. */
  readonly level?: 'structure' | 'read-data';
  /** Read only part n of t of the packs, as { n, t } or "n/t" (implies read-data). */
  readonly subset?: { readonly n: number; readonly t: number } | string;
}

export interface VerifyResult extends VerifyOutcome {
  readonly ok: boolean;
  readonly durationMs: number;
}

export function parseSubset(subset: VerifyInput['subset']): { n: number; t: number } | undefined {
  if (subset === undefined) return undefined;
  if (typeof subset === 'string') {
    const match = /^(\d+)\/(\d+)$/.exec(subset.trim());
    if (match === null) throw userError(Codes.invalidInput, `subset '${subset}' is not of the form n/t`, 'e.g. 1/10');
    return { n: Number(match[1]), t: Number(match[2]) };
  }
  return { n: subset.n, t: subset.t };
}

export async function verifyWorkflow(input: VerifyInput): Promise<VerifyResult> {
  if (typeof input.repo !== 'string' || input.repo === '') throw userError(Codes.invalidInput, 'verify needs a repository URL (repo)');
  const subset = parseSubset(input.subset);
  const level = input.level ?? (subset === undefined ? 'structure' : 'read-data');
  let phase: string = level;
  setHandler(progressQuery, (): JobProgress => ({ job: 'verify', phase }));
  const startedAt = Date.now();
  try {
    const outcome = await sharedActivities().verifyRepository({ repo: input.repo, level, ...(subset === undefined ? {} : { subset }) });
    phase = 'done';
    return { ...outcome, ok: outcome.findings === 0, durationMs: Date.now() - startedAt };
  } catch (err) {
    phase = 'failed';
    throw asJobFailure(err);
  }
}
