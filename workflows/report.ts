/**
 * reportInputsWorkflow: gathers what `coffer report drill|compliance` renders,
 * on the worker, which holds the repository password: the repository's facts
 * (gatherReportInputs) and, when the worker has a catalog, the audit chain
 * verified with the repository's MAC key (verifyAuditLog). The CLI renders
 * and writes the report; nothing secret is in the result.
 */
import { ActivityFailure, ApplicationFailure, proxyActivities, setHandler } from '@temporalio/workflow';
import type { ReportInputs } from '../activities/report-inputs';
import { Codes } from './codes';
import { asJobFailure, userError } from './failures';
import { progressQuery } from './messages';
import type { JobProgress } from './messages';
import { sharedActivities } from './options';

export interface ReportInputsInput {
  readonly repo: string;
  /** Also verify the catalog's audit chain when the worker has a catalog (default true). */
  readonly audit?: boolean;
}

/** What verifyAuditLog answers (declared here so the workflow does not depend on the catalog module's types). */
export interface AuditCheck {
  readonly ok: boolean;
  readonly entries: number;
  readonly head?: { readonly seq: number };
  readonly checkpoint?: { readonly seq: number; readonly time: string };
  readonly problems: readonly { readonly kind: string; readonly seq: number; readonly detail: string }[];
  readonly moreProblems: number;
}

export type AuditOutcome =
  | { readonly status: 'checked'; readonly verifiedAt: string; readonly result: AuditCheck }
  | { readonly status: 'not-checked'; readonly reason: string };

export interface ReportInputsResult {
  readonly inputs: ReportInputs;
  readonly audit: AuditOutcome;
}

/** Catalog codes that mean "no catalog to check", not a failure of the report. */
const CATALOG_NOT_CONFIGURED = 'COFFER-E513';

interface AuditActivities {
  verifyAuditLog(input: { readonly repo: string }): Promise<AuditCheck>;
}

function auditActivities(): AuditActivities {
  // Few attempts: a catalog outage leaves the audit section "not checked" rather than holding the report back.
  return proxyActivities<AuditActivities>({
    startToCloseTimeout: '10m',
    heartbeatTimeout: '60s',
    retry: { initialInterval: '1s', maximumAttempts: 3, nonRetryableErrorTypes: [CATALOG_NOT_CONFIGURED, Codes.invalidInput] },
  });
}

function failureText(err: unknown): string {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  if (cause instanceof ApplicationFailure && cause.type === CATALOG_NOT_CONFIGURED) return 'the worker has no catalog configured (COFFER_MONGODB_URL)';
  if (cause instanceof ApplicationFailure && cause.type === 'NotFoundError') return 'this worker does not register the audit verification activity (verifyAuditLog)';
  if (cause instanceof ApplicationFailure) return `${cause.type ?? 'error'}: ${cause.message.slice(0, 300)}`;
  return (cause instanceof Error ? cause.message : String(cause)).slice(0, 300);
}

export async function reportInputsWorkflow(input: ReportInputsInput): Promise<ReportInputsResult> {
  if (typeof input.repo !== 'string' || input.repo === '') throw userError(Codes.invalidInput, 'a report needs a repository URL (repo)');
  let phase = 'gather';
  setHandler(progressQuery, (): JobProgress => ({ job: 'report', phase }));
  let inputs: ReportInputs;
  try {
    inputs = await sharedActivities().gatherReportInputs({ repo: input.repo });
  } catch (err) {
    phase = 'failed';
    throw asJobFailure(err);
  }
  let audit: AuditOutcome = { status: 'not-checked', reason: 'not requested' };
  if (input.audit !== false) {
    phase = 'audit';
    try {
      const result = await auditActivities().verifyAuditLog({ repo: input.repo });
      audit = { status: 'checked', verifiedAt: new Date().toISOString(), result };
    } catch (err) {
      audit = { status: 'not-checked', reason: failureText(err) };
    }
  }
  phase = 'done';
  return { inputs, audit };
}
