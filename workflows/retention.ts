/**
 * retentionWorkflow: list snapshots -> apply the GFS policy (pure maths, in
 * the workflow, so the plan is in the history and replayable) -> forget the
 * rest and prune unreferenced data, keeping packs younger than the grace
 * period so a concurrent backup never loses a chunk it references. A dry run
 * returns the plan and what pruning would free, changing nothing. A policy
 * that would delete every snapshot of a group is refused.
 */
import { patched, setHandler } from '@temporalio/workflow';
import type { PruneReport } from '../activities/engine/api';
import { ACCESS_GATE_PATCH, accessGate, awaitApproval } from './approval';
import type { AccessDecision, AccessInput } from './approval';
import { Codes } from './codes';
import { recordFailure, recordSuccess } from './catalog-steps';
import type { CatalogOutcome } from './catalog-steps';
import { asJobFailure, userError } from './failures';
import { progressQuery } from './messages';
import type { JobProgress } from './messages';
import { sharedActivities } from './options';
import { planRetention, RetentionPolicyError } from './retention-policy';
import type { GroupPlan, RetentionPolicy } from './retention-policy';

export interface RetentionInput extends AccessInput {
  readonly repo: string;
  readonly policy: RetentionPolicy;
  /** Show the plan without changing anything. */
  readonly dryRun?: boolean;
  /** Apply the policy to this host's snapshots only (others are kept). */
  readonly host?: string;
  /** Packs younger than this are never deleted (default 3600 s). */
  readonly graceSeconds?: number;
}

export interface RetentionResult {
  readonly dryRun: boolean;
  readonly groups: readonly GroupPlan[];
  readonly kept: number;
  readonly removed: number;
  readonly refusedGroups: readonly string[];
  readonly prune?: PruneReport;
  /** Whether the run and audit entry reached the catalog (workflows/catalog-steps.ts). */
  readonly catalog?: CatalogOutcome;
}

export async function retentionWorkflow(input: RetentionInput): Promise<RetentionResult> {
  if (typeof input.repo !== 'string' || input.repo === '') throw userError(Codes.invalidInput, 'retention needs a repository URL (repo)');
  if (typeof input.policy !== 'object' || input.policy === null) throw userError(Codes.invalidInput, 'retention needs a policy');
  const graceSeconds = input.graceSeconds ?? 3600;
  if (!(graceSeconds >= 0)) throw userError(Codes.invalidInput, 'graceSeconds must be >= 0');
  const dryRun = input.dryRun === true;
  const acts = sharedActivities();
  let phase = 'list';
  setHandler(progressQuery, (): JobProgress => ({ job: 'retention', phase }));
  const startedAt = Date.now();
  try {
    // Access gate (workflows/approval.ts): forgetting needs snapshot.delete, and an approval once the plan forgets anything.
    let access: AccessDecision = { access: 'off' };
    if (patched(ACCESS_GATE_PATCH)) {
      access = await accessGate({ workflowType: 'retentionWorkflow', repo: input.repo, input, action: dryRun ? 'retention.run' : 'snapshot.delete', deferApproval: true, onPhase: (p) => (phase = p) });
      phase = 'list';
    }
    const all = await acts.listSnapshotEntries({ repo: input.repo });
    const considered = input.host === undefined ? all : all.filter((s) => s.host === input.host);
    phase = 'plan';
    let plan;
    try {
      plan = planRetention(considered, input.policy);
    } catch (err) {
      if (err instanceof RetentionPolicyError) throw userError(Codes.invalidInput, err.message);
      throw err;
    }
    const base = {
      dryRun,
      groups: plan.groups,
      kept: all.length - plan.remove.length,
      removed: plan.remove.length,
      refusedGroups: plan.refusedGroups,
    };
    if (plan.refusedGroups.length > 0 && !dryRun) {
      throw userError(
        Codes.retentionRefused,
        `the policy would delete every snapshot of ${plan.refusedGroups.length} group(s): ${plan.refusedGroups.join('; ')}`,
        'add a keep rule that matches these groups (e.g. --keep-last 1); run with --dry-run to see the plan',
        base,
      );
    }
    const removed = new Set(plan.remove);
    const keep = all.map((s) => s.id).filter((id) => !removed.has(id));
    if (keep.length === 0) {
      // Unreachable with a validated policy and no refused group; kept as a last guard against deleting everything.
      throw userError(Codes.retentionRefused, 'refusing to forget every snapshot of the repository');
    }
    if (access.access === 'on' && access.approvalPending === true && !dryRun && plan.remove.length > 0) {
      const listed = plan.remove.slice(0, 20).map((id) => id.slice(0, 12)).join(',');
      const object = `forget ${plan.remove.length} snapshot(s): ${listed}${plan.remove.length > 20 ? ',…' : ''}`;
      await awaitApproval({ repo: input.repo, repoId: access.repoId, principalId: access.principalId, action: 'snapshot.delete', object, ...(input.approvalTimeoutMs === undefined ? {} : { timeoutMs: input.approvalTimeoutMs }), onPhase: (p) => (phase = p) });
    }
    phase = dryRun ? 'prune-plan' : 'prune';
    const prune = await acts.pruneRepository({ repo: input.repo, keep, graceMs: graceSeconds * 1000, dryRun });
    phase = 'catalog';
    const catalog = await recordSuccess(
      {
        repo: input.repo,
        type: 'retention',
        action: dryRun ? 'retention.dry-run' : 'retention.forget',
        target: `${dryRun ? 'would forget' : 'forgot'} ${plan.remove.length} snapshot(s)`,
        ...(dryRun ? {} : { forgotten: prune.snapshotsRemoved }),
        figures: { kept: base.kept, removed: dryRun ? 0 : prune.snapshotsRemoved.length, packsDeleted: prune.packsDeleted, bytesFreed: prune.bytesFreed },
      },
      startedAt,
      input,
    );
    phase = 'done';
    return { ...base, prune, catalog };
  } catch (err) {
    phase = 'failed';
    const failure = asJobFailure(err);
    await recordFailure({ repo: input.repo, type: 'retention', action: dryRun ? 'retention.dry-run' : 'retention.forget' }, startedAt, input, failure);
    throw failure;
  }
}
