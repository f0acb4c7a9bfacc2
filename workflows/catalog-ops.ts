/**
 * The catalog commands as workflows, because they need the repository's keys
 * and only the worker holds them (the audit MAC key never travels in a
 * payload):
 * - catalogRebuildWorkflow: make the catalog's view of a repository equal to
 *   what the repository holds (snapshots, drill reports);
 * - catalogCheckWorkflow: report drift between the two without changing either;
 * - auditVerifyWorkflow: check the audit hash chain with the repository's MAC
 *   key and against the head checkpoint stored in the repository.
 */
import { proxyActivities, setHandler } from '@temporalio/workflow';
import type { AuditVerifyResult, CatalogJobActivities } from '../activities/catalog-jobs';
import type { DriftReport, RebuildReport } from '../activities/catalog/rebuild';
import { Codes, USER_ERROR_CODES } from './codes';
import { asJobFailure, userError } from './failures';
import { progressQuery } from './messages';

export interface CatalogOpInput {
  readonly repo: string;
}

const acts = proxyActivities<CatalogJobActivities>({
  startToCloseTimeout: '1h',
  heartbeatTimeout: '1m',
  scheduleToCloseTimeout: '2h',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: 10, nonRetryableErrorTypes: [...USER_ERROR_CODES, 'COFFER-E512', 'COFFER-E513', 'COFFER-E514'] },
});

async function run<R>(job: string, input: CatalogOpInput, step: (repo: string) => Promise<R>): Promise<R> {
  if (typeof input?.repo !== 'string' || input.repo === '') throw userError(Codes.invalidInput, `${job} needs a repository URL (repo)`);
  let phase = job;
  setHandler(progressQuery, () => ({ job, phase }));
  try {
    const result = await step(input.repo);
    phase = 'done';
    return result;
  } catch (err) {
    phase = 'failed';
    throw asJobFailure(err);
  }
}

export async function catalogRebuildWorkflow(input: CatalogOpInput): Promise<RebuildReport> {
  return run('catalog-rebuild', input, (repo) => acts.rebuildCatalogFromRepository({ repo }));
}

export async function catalogCheckWorkflow(input: CatalogOpInput): Promise<DriftReport> {
  return run('catalog-check', input, (repo) => acts.checkCatalogAgainstRepository({ repo }));
}

export async function auditVerifyWorkflow(input: CatalogOpInput): Promise<AuditVerifyResult> {
  return run('audit-verify', input, (repo) => acts.verifyAuditLog({ repo }));
}
