/**
 * verifyWorkflow: structural check, full data read, or subset n/t of the
 * packs. Damage is reported as findings in the result (ok=false), not as a
 * workflow failure: the job itself succeeded in finding it.
 */
import { setHandler } from '@temporalio/workflow';
import { recordFailure, recordOutcome, sendNotification } from './catalog-steps';
import type { CatalogOutcome } from './catalog-steps';
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
  /** Whether the run and audit entry reached the catalog (workflows/catalog-steps.ts). */
  readonly catalog?: CatalogOutcome;
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
    const ok = outcome.findings === 0;
    const figures = { findings: outcome.findings, packsChecked: outcome.packsChecked, bytesRead: outcome.bytesRead };
    if (!ok) {
      phase = 'notify';
      await sendNotification({
        kind: 'verify-failed',
        severity: 'error',
        title: `verify found ${outcome.findings} problem(s) in the repository`,
        summary: `A ${level} verify of the repository reported ${outcome.findings} finding(s). Run \`coffer verify --read-data\` and see docs/operations.md for repair.`,
        details: { findings: outcome.findings, level },
      });
    }
    phase = 'catalog';
    // A verify that found damage ran fine but its verdict is a failure: recorded as such, so "failed verifies" is one catalog query.
    const catalog = await recordOutcome(
      { repo: input.repo, type: 'verify', action: `verify.${level}`, figures },
      ok ? 'succeeded' : 'failed',
      startedAt,
      input,
      ok ? undefined : { code: 'COFFER-E205', message: `${outcome.findings} finding(s)` },
    );
    phase = 'done';
    return { ...outcome, ok, durationMs: Date.now() - startedAt, catalog };
  } catch (err) {
    phase = 'failed';
    const failure = asJobFailure(err);
    await recordFailure({ repo: input.repo, type: 'verify', action: `verify.${level}` }, startedAt, input, failure);
    throw failure;
  }
}
