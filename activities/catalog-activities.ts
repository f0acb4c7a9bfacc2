/**
 * Temporal activities over the catalog, the audit log, access control and
 * notifications. Each takes one input object and returns one JSON-safe
 * object; errors go through the single classifier (failures.ts), so access
 * and approval refusals fail non-retryably with their codes as the failure
 * type, and an unreachable catalog is retried by Temporal.
 *
 * Every write is idempotent: records are upserts keyed by natural ids, and
 * audit appends carry an eventId that a retry finds instead of appending twice.
 */
import { cancellationSignal } from '@temporalio/activity';
import type { SnapshotSummary } from './engine/api';
import { authorize } from './access/authorize';
import type { AccessTarget, Authorization } from './access/authorize';
import { createApprovalRequest, verifyApproval } from './access/approval';
import type { Approval, ApprovalRequest, VerifiedApproval } from './access/approval';
import { AuditLog } from './audit/log';
import type { AuditHead } from './audit/chain';
import type { Catalog } from './catalog/catalog';
import type { DrillReportRecord, KeyRecord, RunRecord } from './catalog/documents';
import { checkDrift, rebuildCatalog } from './catalog/rebuild';
import type { DriftReport, RebuildReport, RepositoryView } from './catalog/rebuild';
import { InvalidInput } from './errors';
import { toTemporalFailure } from './failures';
import { notify } from './notify/notify';
import type { NotificationEvent } from './notify/event';
import type { NotifyResult } from './notify/notify';
import type { NotifyTarget } from './notify/targets';
import { targetsFor } from './notify/routing';
import type { RoutedNotifyTarget } from './notify/routing';

/**
 * The catalog, or how to get it: a worker opens it lazily (and again after a
 * failed open), so a catalog server that is down when the worker starts makes
 * catalog activities retry instead of keeping the worker from starting.
 */
export type CatalogSource = Catalog | (() => Promise<Catalog>);

export interface NotifyActivityDeps {
  /** Plain targets get every event; routed ones filter by severity and kind. */
  readonly notifyTargets: readonly (NotifyTarget | RoutedNotifyTarget)[];
  readonly notifyTimeoutMs?: number;
}

export interface CatalogActivityDeps extends NotifyActivityDeps {
  readonly catalog: CatalogSource;
  /**
   * The repository keyring's audit MAC key, opened by the worker; never passes
   * through a workflow. `repoUrl` (when the caller has it) says where the
   * repository is; without it the worker finds it by id.
   */
  readonly auditMacKey: (repoId: string, repoUrl?: string) => Promise<Uint8Array>;
  /** Opens a repository for rebuild and drift checks; `close` is called afterwards. */
  readonly openRepositoryView?: (repoId: string) => Promise<RepositoryView & { close?(): Promise<void> }>;
  /** Clock (tests); defaults to the system clock. */
  readonly now?: () => Date;
}

export interface AppendAuditInput {
  readonly repoId: string;
  /** Idempotency key, deterministic in the workflow: e.g. `${workflowId}/approval-granted`. */
  readonly eventId: string;
  readonly principal: string;
  readonly action: string;
  readonly target: string;
  readonly outcome: string;
  readonly workflowId?: string;
  /** The repository's URL, if the caller has it (lets the worker open it to get the MAC key). */
  readonly repo?: string;
}

export function createCatalogActivities(deps: CatalogActivityDeps) {
  const now = deps.now ?? (() => new Date());
  const source = deps.catalog;
  const getCatalog = typeof source === 'function' ? source : async () => source;

  return {
    ...notifyActivities(deps),

    async recordRepository(input: { readonly repoId: string; readonly location: string; readonly currentEpoch: number }): Promise<Record<string, never>> {
      return mapped(async () => {
        const catalog = await getCatalog();
        await catalog.upsertRepository({ id: input.repoId, location: input.location, currentEpoch: input.currentEpoch });
        return {};
      });
    },

    async recordSnapshot(input: { readonly repoId: string; readonly snapshot: SnapshotSummary }): Promise<{ created: boolean }> {
      return mapped(async () => (await getCatalog()).recordSnapshot(input.repoId, input.snapshot));
    },

    async forgetSnapshots(input: { readonly repoId: string; readonly snapshotIds: readonly string[] }): Promise<{ removed: number }> {
      return mapped(async () => ({ removed: await (await getCatalog()).removeSnapshots(input.repoId, input.snapshotIds) }));
    },

    async recordRun(input: { readonly run: RunRecord }): Promise<Record<string, never>> {
      return mapped(async () => {
        const catalog = await getCatalog();
        await catalog.recordRun(input.run);
        return {};
      });
    },

    /** (Not `recordDrillReport`: that name is the repository activity that stores the report in storage.) */
    async recordDrillReportInCatalog(input: { readonly report: DrillReportRecord }): Promise<Record<string, never>> {
      return mapped(async () => {
        const catalog = await getCatalog();
        await catalog.recordDrillReport(input.report);
        return {};
      });
    },

    async recordKey(input: { readonly key: KeyRecord }): Promise<Record<string, never>> {
      return mapped(async () => {
        const catalog = await getCatalog();
        await catalog.recordKey(input.key);
        return {};
      });
    },

    async appendAudit(input: AppendAuditInput): Promise<{ seq: number; mac: string }> {
      return mapped(async () => {
        const log = new AuditLog((await getCatalog()).audit, input.repoId, await deps.auditMacKey(input.repoId, input.repo));
        const entry = await log.append({
          eventId: input.eventId,
          principal: input.principal,
          action: input.action,
          target: input.target,
          outcome: input.outcome,
          time: now().toISOString(),
          ...(input.workflowId !== undefined ? { workflowId: input.workflowId } : {}),
        });
        return { seq: entry.seq, mac: entry.mac };
      });
    },

    /** The audit chain's head, to checkpoint in the repository. */
    async auditHead(input: { readonly repoId: string }): Promise<{ head?: AuditHead }> {
      return mapped(async () => {
        const head = await new AuditLog((await getCatalog()).audit, input.repoId).head();
        return head === undefined ? {} : { head };
      });
    },

    /** Allowed → the authorization (with `requiresApproval`); refused → non-retryable COFFER-E501. */
    async checkGrant(input: { readonly principalId: string; readonly action: string; readonly target: AccessTarget }): Promise<Authorization> {
      return mapped(async () => authorize(await getCatalog(), input.principalId, input.action, input.target, now()));
    },

    /** A request with a fresh nonce (randomness belongs in activities, not workflows). */
    async createApprovalRequest(input: {
      readonly workflowId: string;
      readonly action: string;
      readonly target: AccessTarget;
      readonly requestedBy: string;
      readonly ttlMs: number;
    }): Promise<ApprovalRequest> {
      return mapped(async () => createApprovalRequest({ ...input, now: now() }));
    },

    /** Accepted → who approved; refused → non-retryable COFFER-E502…E508 (one code per reason). */
    async verifyApproval(input: { readonly approval: Approval; readonly request: ApprovalRequest }): Promise<VerifiedApproval> {
      return mapped(async () => verifyApproval(input.approval, input.request, await getCatalog(), now()));
    },

    async rebuildCatalog(input: { readonly repoId: string }): Promise<RebuildReport> {
      return mapped(async () => {
        const catalog = await getCatalog();
        return withRepositoryView(deps, input.repoId, (view) => rebuildCatalog(view, catalog));
      });
    },

    async checkCatalogDrift(input: { readonly repoId: string }): Promise<DriftReport> {
      return mapped(async () => {
        const catalog = await getCatalog();
        return withRepositoryView(deps, input.repoId, (view) => checkDrift(view, catalog));
      });
    },
  };
}

export type CatalogActivities = ReturnType<typeof createCatalogActivities>;

/**
 * The notify activity alone: a worker registers it whether or not it has a
 * catalog, so notifications never depend on the catalog being configured.
 */
export function notifyActivities(deps: NotifyActivityDeps) {
  return {
    /** Never fails for a delivery problem: the per-target results say what happened. */
    async notify(input: { readonly event: NotificationEvent }): Promise<{ results: NotifyResult[]; delivered: number; failed: number }> {
      return mapped(async () => {
        const signal = currentSignal();
        const results = await notify(input.event, targetsFor(input.event, deps.notifyTargets), {
          ...(deps.notifyTimeoutMs !== undefined ? { timeoutMs: deps.notifyTimeoutMs } : {}),
          ...(signal !== undefined ? { signal } : {}),
        });
        const delivered = results.filter((r) => r.ok).length;
        return { results, delivered, failed: results.length - delivered };
      });
    },
  };
}

export type NotifyActivities = ReturnType<typeof notifyActivities>;

async function withRepositoryView<T>(deps: CatalogActivityDeps, repoId: string, fn: (view: RepositoryView) => Promise<T>): Promise<T> {
  if (deps.openRepositoryView === undefined) throw new InvalidInput('this worker cannot open repositories for catalog rebuilds');
  const view = await deps.openRepositoryView(repoId);
  try {
    return await fn(view);
  } finally {
    await view.close?.();
  }
}

/** The activity's cancellation signal, or undefined when called outside an activity (tests, CLI). */
function currentSignal(): AbortSignal | undefined {
  try {
    return cancellationSignal();
  } catch {
    return undefined;
  }
}

async function mapped<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw toTemporalFailure(err, currentSignal());
  }
}
