/**
 * The access gate at the start of sensitive workflows.
 *
 * 1. `authorizeJob` (an activity) proves who started the job from the signed
 *    credential in the input (`auth`) and checks their grant for the action,
 *    so starting the workflow from the Temporal UI or a script bypasses
 *    nothing. Without a catalog, or before the first principal exists, it
 *    answers 'off' and the job goes on with a warning (docs/access.md).
 * 2. A sensitive action then waits for an `approve` signal: an approval of a
 *    fresh request (workflow id, action, target, requester, nonce, deadline)
 *    signed by a SECOND principal's Ed25519 key. Each signal is checked by
 *    the `verifyJobApproval` activity; a forged, expired, self-signed or
 *    unauthorized one is recorded (query + audit log) and the wait goes on.
 *    A valid signed rejection, or the deadline, ends the job without acting:
 *    COFFER-E403 ApprovalRefused, non-retryable.
 */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { ActivityFailure, ApplicationFailure, condition, defineQuery, defineSignal, log, proxyActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import type { Approval, ApprovalRequest, VerifiedApproval } from '../activities/access/approval';
import type { JobCredential, ScheduleCredential } from '../activities/access/credential';
import type { AccessJobActivities, AuthorizeJobResult } from '../activities/access/job-activities';
import { Codes } from './codes';
import { userError } from './failures';

export const DEFAULT_APPROVAL_TIMEOUT_MS = 60 * 60_000;

/** patched() id of the gate in restore/retention/rotate-keys: histories from before it replay unchanged. */
export const ACCESS_GATE_PATCH = 'access-gate';

/** What `coffer approve` sends: an approval (or signed rejection) of the pending request. */
export const approveSignal = defineSignal<[Approval]>('approve');

export interface RefusedApproval {
  readonly approverId: string;
  readonly code: string;
  readonly message: string;
  /** Workflow time, ISO-8601. */
  readonly at: string;
}

export interface ApprovalState {
  readonly status: 'not-needed' | 'awaiting-approval' | 'approved' | 'rejected' | 'expired';
  /** The request to sign (present while awaiting and after). */
  readonly request?: ApprovalRequest;
  /** Roles whose principals may approve (other than the requester). */
  readonly approverRoles?: readonly string[];
  readonly approvedBy?: string;
  readonly refusals: readonly RefusedApproval[];
}

/** The pending approval request and what happened to earlier attempts. */
export const approvalQuery = defineQuery<ApprovalState>('approval');

/** The input fields every gated workflow accepts. */
export interface AccessInput {
  /** Signed by the caller's principal key (clients/context.ts), or by a schedule's creator (clients/access.ts); never a secret. */
  readonly auth?: JobCredential | ScheduleCredential;
  /** How long approvers have (ms, default 1 h). */
  readonly approvalTimeoutMs?: number;
}

export interface GateOptions {
  readonly workflowType: string;
  readonly repo: string;
  /** The workflow's whole input: the credential covers all of it but `auth`. */
  readonly input: AccessInput;
  readonly action: string;
  readonly object?: string;
  /** Called with 'authorize' and 'awaiting-approval' so the progress query shows them. */
  readonly onPhase?: (phase: string) => void;
  /**
   * Check the grant now but leave the approval to the workflow (awaitApproval),
   * for jobs that only know later whether they will do the sensitive part.
   */
  readonly deferApproval?: boolean;
}

export type AccessDecision =
  | { readonly access: 'off' }
  | {
      readonly access: 'on';
      readonly repoId: string;
      readonly principalId: string;
      readonly approvedBy?: string;
      /** deferApproval was set and the action needs an approval: call awaitApproval before acting. */
      readonly approvalPending?: boolean;
    };

/** Roles that may approve each sensitive action (mirrors activities/access/roles.ts). */
const APPROVER_ROLES: Readonly<Record<string, readonly string[]>> = {
  'restore.overwrite': ['admin', 'operator'],
};

function accessActivities(): AccessJobActivities {
  return proxyActivities<AccessJobActivities>({
    startToCloseTimeout: '2m',
    heartbeatTimeout: '30s',
    retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: 20 },
  });
}

/** Runs on the job's host queue (restore target inspection). */
function hostAccessActivities(taskQueue: string): AccessJobActivities {
  return proxyActivities<AccessJobActivities>({
    taskQueue,
    startToCloseTimeout: '2m',
    heartbeatTimeout: '30s',
    retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: 20 },
  });
}

/** Set by Temporal on every run a Schedule starts (also on `schedule trigger`): the schedule's id. */
const SCHEDULED_BY = defineSearchAttributeKey('TemporalScheduledById', SearchAttributeType.KEYWORD);

/** The schedule that started this run, if any. */
function optionalScheduledBy(): { scheduledBy?: string } {
  const id = scheduledBy();
  return id === undefined ? {} : { scheduledBy: id };
}

function scheduledBy(): string | undefined {
  const info = workflowInfo();
  const typed = info.typedSearchAttributes.get(SCHEDULED_BY);
  if (typeof typed === 'string' && typed !== '') return typed;
  // Older servers send the attribute without its type metadata: read the untyped map.
  const untyped = info.searchAttributes?.TemporalScheduledById;
  const first: unknown = Array.isArray(untyped) ? untyped[0] : undefined;
  return typeof first === 'string' && first !== '' ? first : undefined;
}

/** Does a restore onto this target replace something that exists and is not empty? */
export async function restoreTargetOccupied(hostQueue: string, target: string): Promise<boolean> {
  return (await hostAccessActivities(hostQueue).inspectRestoreTarget({ target })).nonEmpty;
}

/**
 * Authorizes the job and, for a sensitive action, waits for an approval.
 * Returns only when the job may act; throws a non-retryable failure otherwise.
 */
export async function accessGate(options: GateOptions): Promise<AccessDecision> {
  const notNeeded: ApprovalState = { status: 'not-needed', refusals: [] };
  setHandler(approvalQuery, () => notNeeded);
  options.onPhase?.('authorize');
  const info = workflowInfo();
  const { auth, ...unsigned } = options.input;
  const decision: AuthorizeJobResult = await accessActivities().authorizeJob({
    repo: options.repo,
    workflowId: info.workflowId,
    workflowType: options.workflowType,
    startedAt: info.startTime.toISOString(),
    input: unsigned,
    ...(auth === undefined ? {} : { credential: auth }),
    ...(auth !== undefined && 'kind' in auth && auth.kind === 'schedule' ? optionalScheduledBy() : {}),
    action: options.action,
    ...(options.object === undefined ? {} : { object: options.object }),
  });
  if (decision.access === 'off') {
    log.warn(`access control is off (${decision.reason}): ${options.action} runs unchecked`);
    return { access: 'off' };
  }
  if (decision.scheduleId !== undefined) {
    // A scheduled run: nobody is there to approve it now. The approval is in the schedule's credential or the run refuses.
    if (decision.requiresApproval) {
      const problem = decision.approvalProblem ?? 'the schedule has no valid approval';
      await accessActivities().auditAccessEvent({
        repo: options.repo, eventId: `${info.workflowId}/approval-refused/schedule`, principal: decision.principalId,
        action: 'approval.refused', target: `${options.action} schedule ${decision.scheduleId}`, outcome: 'refused schedule-unapproved', workflowId: info.workflowId,
      });
      throw userError(Codes.approvalRefused, `${options.action} by schedule ${decision.scheduleId} is not approved: ${problem}; nothing was done`,
        `a second principal must approve the schedule's current action: coffer approve --schedule ${decision.scheduleId}`);
    }
    if (decision.approvedBy !== undefined) {
      return { access: 'on', repoId: decision.repoId, principalId: decision.principalId, approvedBy: decision.approvedBy };
    }
  }
  if (!decision.requiresApproval) return { access: 'on', repoId: decision.repoId, principalId: decision.principalId };
  if (options.deferApproval === true) return { access: 'on', repoId: decision.repoId, principalId: decision.principalId, approvalPending: true };
  const approved = await awaitApproval({
    repo: options.repo,
    repoId: decision.repoId,
    principalId: decision.principalId,
    action: options.action,
    ...(options.object === undefined ? {} : { object: options.object }),
    ...(options.input.approvalTimeoutMs === undefined ? {} : { timeoutMs: options.input.approvalTimeoutMs }),
    ...(options.onPhase === undefined ? {} : { onPhase: options.onPhase }),
  });
  return { access: 'on', repoId: decision.repoId, principalId: decision.principalId, approvedBy: approved.approverId };
}

/**
 * Waits for a valid approval of `action` requested by `principalId`. Used by
 * accessGate, and directly by workflows that learn mid-way that an action is
 * sensitive (retention: only when the plan forgets snapshots).
 */
export async function awaitApproval(options: {
  readonly repo: string;
  readonly repoId: string;
  readonly principalId: string;
  readonly action: string;
  readonly object?: string;
  readonly timeoutMs?: number;
  readonly onPhase?: (phase: string) => void;
}): Promise<VerifiedApproval> {
  let approvalState: ApprovalState = { status: 'not-needed', refusals: [] };
  setHandler(approvalQuery, () => approvalState);
  const timeoutMs = options.timeoutMs ?? DEFAULT_APPROVAL_TIMEOUT_MS;
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) throw userError(Codes.invalidInput, 'approvalTimeoutMs must be a positive number of milliseconds');
  const acts = accessActivities();
  const workflowId = workflowInfo().workflowId;
  const pending: Approval[] = [];
  setHandler(approveSignal, (approval: Approval) => {
    pending.push(approval);
  });
  const request = await acts.requestJobApproval({
    workflowId,
    action: options.action,
    repoId: options.repoId,
    ...(options.object === undefined ? {} : { object: options.object }),
    requestedBy: options.principalId,
    ttlMs: timeoutMs,
  });
  const refusals: RefusedApproval[] = [];
  const approverRoles = APPROVER_ROLES[options.action] ?? ['admin'];
  approvalState = { status: 'awaiting-approval', request, approverRoles, refusals };
  options.onPhase?.('awaiting-approval');
  const audit = async (step: string, principal: string, outcome: string, detail?: string): Promise<void> => {
    await acts.auditAccessEvent({
      repo: options.repo,
      eventId: `${workflowId}/${step}`,
      principal,
      action: `approval.${outcome}`,
      target: `${options.action} ${options.object ?? options.repoId}`,
      outcome: detail === undefined ? outcome : `${outcome} ${detail}`,
      workflowId,
    });
  };
  await audit('approval-requested', options.principalId, 'requested');
  log.info('waiting for an approval', { action: options.action, deadline: request.deadline });

  const deadline = Date.parse(request.deadline);
  for (let attempt = 1; ; attempt += 1) {
    const remaining = deadline - Date.now();
    const arrived = remaining > 0 && (await condition(() => pending.length > 0, remaining));
    if (!arrived) {
      approvalState = { ...approvalState, status: 'expired', refusals };
      await audit('approval-expired', options.principalId, 'expired');
      throw refused(`no valid approval of ${options.action} arrived before the deadline ${request.deadline}; nothing was done`, refusals);
    }
    const approval = pending.shift() as Approval;
    let verified: VerifiedApproval;
    try {
      verified = await acts.verifyJobApproval({ approval, request });
    } catch (err) {
      const failure = err instanceof ActivityFailure && err.cause instanceof ApplicationFailure ? err.cause : undefined;
      if (failure === undefined || typeof failure.type !== 'string' || !failure.type.startsWith('COFFER-E5')) throw err;
      const approverId = typeof approval?.approverId === 'string' ? approval.approverId.slice(0, 200) : '?';
      refusals.push({ approverId, code: failure.type, message: failure.message, at: new Date().toISOString() });
      approvalState = { ...approvalState, refusals: [...refusals] };
      log.warn('approval refused', { approver: approverId, code: failure.type });
      await audit(`approval-refused/${attempt}`, approverId, 'refused', failure.type);
      continue;
    }
    if (verified.decision === 'reject') {
      approvalState = { ...approvalState, status: 'rejected', approvedBy: verified.approverId, refusals };
      await audit('approval-rejected', verified.approverId, 'rejected');
      throw refused(`${verified.approverId} rejected ${options.action}; nothing was done`, refusals);
    }
    approvalState = { ...approvalState, status: 'approved', approvedBy: verified.approverId, refusals };
    await audit('approval-granted', verified.approverId, 'granted');
    return verified;
  }
}

function refused(message: string, refusals: readonly RefusedApproval[]): ApplicationFailure {
  return userError(Codes.approvalRefused, message, 'start the operation again and have another principal run `coffer approve <workflow-id>` before the deadline', { refusals });
}
