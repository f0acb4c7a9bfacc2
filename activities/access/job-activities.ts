/**
 * The activities behind the access gate at the start of sensitive workflows
 * (workflows/approval.ts): prove who started the job and check their grant,
 * look at a restore target, create and verify approval requests, and record
 * access decisions in the audit log. Registered on every worker: without a
 * catalog (or before the first principal exists) `authorizeJob` answers
 * `{ access: 'off' }` and the workflow goes on with a warning.
 *
 * These names are distinct from the generic catalog activities
 * (createCatalogActivities) so both sets can be registered side by side.
 */
import { readdir, stat } from 'node:fs/promises';
import { AuditLog } from '../audit/log';
import type { Catalog } from '../catalog/catalog';
import { redactLocation } from '../catalog/documents';
import { CatalogNotConfigured } from '../catalog/errors';
import { runActivity } from '../context';
import type { CofferMetrics } from '../metrics';
import type { RepositoryCache } from '../repositories';
import { createApprovalRequest, verifyApproval } from './approval';
import type { Approval, ApprovalRequest, VerifiedApproval } from './approval';
import { authorize } from './authorize';
import { isScheduleCredential, verifyJobCredential, verifyScheduleCredential } from './credential';
import type { JobCredential, ScheduleCredential } from './credential';
import { AccessDenied } from './errors';
import { accessEnforced } from './enforcement';

/** A catalog, an opener of one, or a provider (the worker's lazily connected catalog). */
export type AccessCatalogSource = Catalog | (() => Promise<Catalog>) | { get(): Promise<Catalog> };

export interface AccessActivityDeps {
  readonly repositories: RepositoryCache;
  readonly metrics: CofferMetrics;
  /** Undefined: no catalog, access control off. */
  readonly catalog?: AccessCatalogSource;
  readonly now?: () => Date;
}

export interface AuthorizeJobInput {
  /** Repository URL (no credentials). */
  readonly repo: string;
  readonly workflowId: string;
  readonly workflowType: string;
  /** When the workflow started (Temporal's time, not the input's). ISO-8601. */
  readonly startedAt: string;
  /** The workflow's input without its credential: what the credential's signature covers. */
  readonly input: unknown;
  readonly credential?: JobCredential | ScheduleCredential;
  /** The TemporalScheduledById search attribute of the run: the schedule that started it, if any. */
  readonly scheduledBy?: string;
  /** What the job is about to do (activities/access/roles.ts ACTIONS). */
  readonly action: string;
  readonly object?: string;
}

export type AuthorizeJobResult =
  | { readonly access: 'off'; readonly reason: string }
  | {
      readonly access: 'on';
      readonly repoId: string;
      readonly principalId: string;
      readonly role: string;
      readonly requiresApproval: boolean;
      /** Started by this schedule, on its creator's schedule credential. */
      readonly scheduleId?: string;
      /** A scheduled sensitive action: who approved the schedule's action (requiresApproval is then false). */
      readonly approvedBy?: string;
      /** A scheduled sensitive action without a valid approval: why (the run must refuse, nobody waits on a schedule). */
      readonly approvalProblem?: string;
    };

export interface RequestJobApprovalInput {
  readonly workflowId: string;
  readonly action: string;
  readonly repoId: string;
  readonly object?: string;
  readonly requestedBy: string;
  readonly ttlMs: number;
}

export interface AuditAccessEventInput {
  readonly repo: string;
  /** Idempotency key, deterministic in the workflow. */
  readonly eventId: string;
  readonly principal: string;
  readonly action: string;
  readonly target?: string;
  readonly outcome: string;
  readonly workflowId: string;
}

export interface RestoreTargetState {
  readonly exists: boolean;
  /** A directory with entries, or anything that is not a directory. */
  readonly nonEmpty: boolean;
}

function catalogGetter(source: AccessCatalogSource | undefined): (() => Promise<Catalog>) | undefined {
  if (source === undefined) return undefined;
  if (typeof source === 'function') return source;
  if ('get' in source && typeof source.get === 'function') return () => source.get();
  return async () => source as Catalog;
}

export function accessJobActivities(deps: AccessActivityDeps) {
  const getCatalog = catalogGetter(deps.catalog);
  const now = deps.now ?? (() => new Date());

  /**
   * A run started by a schedule: the creator's signature, the run really
   * being that schedule's, the creator's grant valid NOW (revoking it stops
   * the runs), and for a sensitive action an approval signed by a second
   * principal whose grant allows the action now.
   */
  async function authorizeScheduledRun(catalog: Catalog, input: AuthorizeJobInput): Promise<AuthorizeJobResult> {
    const verified = await verifyScheduleCredential(
      input.credential,
      { workflowId: input.workflowId, workflowType: input.workflowType, input: input.input, ...(input.scheduledBy === undefined ? {} : { scheduledBy: input.scheduledBy }) },
      catalog,
    );
    const repoId = await deps.repositories.use(input.repo, async (repository) => repository.id);
    const target = input.object === undefined ? { repoId } : { repoId, object: input.object };
    const at = now();
    const granted = await authorize(catalog, verified.principalId, input.action, target, at);
    const base = { access: 'on' as const, repoId, principalId: verified.principalId, role: granted.role, scheduleId: verified.scheduleId };
    if (!granted.requiresApproval) return { ...base, requiresApproval: false };
    if (verified.approverId === undefined) return { ...base, requiresApproval: true, approvalProblem: verified.approvalProblem ?? 'no approval' };
    try {
      await authorize(catalog, verified.approverId, input.action, target, at);
    } catch (err) {
      if (!(err instanceof AccessDenied)) throw err;
      return { ...base, requiresApproval: true, approvalProblem: `the approver ${verified.approverId} may not approve ${input.action} any more: ${err.message}` };
    }
    return { ...base, requiresApproval: false, approvedBy: verified.approverId };
  }

  return {
    async authorizeJob(input: AuthorizeJobInput): Promise<AuthorizeJobResult> {
      return runActivity(deps.metrics, async () => {
        if (getCatalog === undefined) return { access: 'off', reason: 'no catalog is configured on the worker' };
        const catalog = await getCatalog();
        if (!(await accessEnforced(catalog))) return { access: 'off', reason: 'no principal is registered in the catalog yet' };
        if (isScheduleCredential(input.credential)) return authorizeScheduledRun(catalog, input);
        const principalId = await verifyJobCredential(
          input.credential,
          { workflowId: input.workflowId, workflowType: input.workflowType, input: input.input },
          catalog,
          new Date(input.startedAt),
        );
        const repoId = await deps.repositories.use(input.repo, async (repository) => repository.id);
        const target = input.object === undefined ? { repoId } : { repoId, object: input.object };
        const granted = await authorize(catalog, principalId, input.action, target, now());
        return { access: 'on', repoId, principalId, role: granted.role, requiresApproval: granted.requiresApproval };
      });
    },

    /** Host activity: does the restore target exist, and is there anything in it? */
    async inspectRestoreTarget(input: { readonly target: string }): Promise<RestoreTargetState> {
      return runActivity(deps.metrics, async () => {
        let info;
        try {
          info = await stat(input.target);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { exists: false, nonEmpty: false };
          throw err;
        }
        if (!info.isDirectory()) return { exists: true, nonEmpty: true };
        return { exists: true, nonEmpty: (await readdir(input.target)).length > 0 };
      });
    },

    /** A request with a fresh nonce (randomness belongs in activities). */
    async requestJobApproval(input: RequestJobApprovalInput): Promise<ApprovalRequest> {
      return runActivity(deps.metrics, async () =>
        createApprovalRequest({
          workflowId: input.workflowId,
          action: input.action,
          target: input.object === undefined ? { repoId: input.repoId } : { repoId: input.repoId, object: input.object },
          requestedBy: input.requestedBy,
          ttlMs: input.ttlMs,
          now: now(),
        }),
      );
    },

    /** Accepted → who approved; refused → non-retryable COFFER-E502…E508 (one code per reason). */
    async verifyJobApproval(input: { readonly approval: Approval; readonly request: ApprovalRequest }): Promise<VerifiedApproval> {
      return runActivity(deps.metrics, async () => {
        if (getCatalog === undefined) throw new CatalogNotConfigured('approvals need a catalog, and this worker has none');
        return verifyApproval(input.approval, input.request, await getCatalog(), now());
      });
    },

    /** One audit entry for an access decision (approval requested, granted, refused). Idempotent by eventId. */
    async auditAccessEvent(input: AuditAccessEventInput): Promise<{ seq: number }> {
      return runActivity(deps.metrics, async () => {
        if (getCatalog === undefined) return { seq: -1 };
        const catalog = await getCatalog();
        return deps.repositories.use(input.repo, async (repository) => {
          const log = new AuditLog(catalog.audit, repository.id, repository.auditMacKey());
          const entry = await log.append({
            eventId: input.eventId,
            time: now().toISOString(),
            principal: input.principal,
            action: input.action,
            target: input.target ?? redactLocation(repository.location),
            outcome: input.outcome,
            workflowId: input.workflowId,
          });
          return { seq: entry.seq };
        });
      });
    },
  };
}

export type AccessJobActivities = ReturnType<typeof accessJobActivities>;
