/**
 * Evidence for the compliance report that Temporal holds rather than the
 * repository: key rotations that ran (rotateKeysWorkflow runs of this
 * repository, with the epoch each one created), retention policies in force
 * as schedules (retentionWorkflow schedules whose input names this
 * repository) and the last retention run. Best effort and bounded: a
 * listing that fails leaves its section empty and says why.
 */
import type { Client, WorkflowExecutionInfo } from '@temporalio/client';
import type { RotationEvidence, RetentionEvidence } from '../activities/reports';
import type { RotateKeysResult } from '../workflows/rotate-keys';
import type { RetentionInput } from '../workflows/retention';
import { repositoryTag } from '../workflows/ids';

const MAX_RUNS = 100;

export interface TemporalEvidence {
  readonly rotations: readonly RotationEvidence[];
  /** Retention schedules of this repository. */
  readonly retention: readonly RetentionEvidence[];
  /** The last retention run of this repository, if any. */
  readonly lastRetention?: { readonly time: string; readonly outcome: string; readonly workflowId: string };
  /** Why a section could not be read. */
  readonly notes: readonly string[];
}

function statusText(info: WorkflowExecutionInfo): string {
  switch (info.status.name) {
    case 'COMPLETED':
      return 'completed';
    case 'RUNNING':
    case 'CONTINUED_AS_NEW':
      return 'in-progress';
    default:
      return info.status.name.toLowerCase().replace(/_/g, '-');
  }
}

function sameRepo(a: string, b: string): boolean {
  return a.trim().replace(/\/+$/, '') === b.trim().replace(/\/+$/, '');
}

/** Runs of one workflow type whose business id carries this repository's tag (ids: `<job>/<repo-tag>/…`), newest first. */
async function runsOf(client: Client, workflowType: string, repo: string): Promise<WorkflowExecutionInfo[]> {
  const tag = `/${repositoryTag(repo)}/`;
  const runs: WorkflowExecutionInfo[] = [];
  for await (const info of client.workflow.list({ query: `WorkflowType = '${workflowType}'` })) {
    if (info.workflowId.includes(tag)) runs.push(info);
    if (runs.length >= MAX_RUNS) break;
  }
  return runs.sort((a, b) => b.startTime.getTime() - a.startTime.getTime());
}

async function rotations(client: Client, repo: string): Promise<RotationEvidence[]> {
  const out: RotationEvidence[] = [];
  for (const info of await runsOf(client, 'rotateKeysWorkflow', repo)) {
    const status = statusText(info);
    let toEpoch = 0;
    if (status === 'completed') {
      const result = await client.workflow.getHandle<() => Promise<RotateKeysResult>>(info.workflowId, info.runId).result();
      toEpoch = result.newEpoch;
    }
    out.push({ time: info.startTime.toISOString(), fromEpoch: Math.max(0, toEpoch - 1), toEpoch, status, workflowId: info.workflowId });
  }
  return out;
}

function specText(spec: { readonly cronExpressions?: readonly string[]; readonly intervals?: readonly { readonly every: unknown }[] }): string | undefined {
  const parts = [...(spec.cronExpressions ?? []).map((c) => `cron ${c}`), ...(spec.intervals ?? []).map((i) => `every ${String(i.every)}`)];
  return parts.length === 0 ? undefined : parts.join(', ');
}

async function retentionSchedules(client: Client, repo: string): Promise<RetentionEvidence[]> {
  const out: RetentionEvidence[] = [];
  for await (const summary of client.schedule.list()) {
    if (summary.action?.workflowType !== 'retentionWorkflow') continue;
    const description = await client.schedule.getHandle(summary.scheduleId).describe();
    const input = (description.action.args ?? [])[0] as Partial<RetentionInput> | undefined;
    if (input?.repo === undefined || !sameRepo(input.repo, repo) || input.policy === undefined || input.dryRun === true) continue;
    const schedule = specText(description.spec);
    const last = description.info.recentActions[description.info.recentActions.length - 1];
    out.push({
      name: `schedule ${summary.scheduleId}${description.state.paused ? ' (paused)' : ''}`,
      policy: { ...input.policy },
      ...(schedule === undefined ? {} : { schedule }),
      ...(last === undefined ? {} : { lastRun: last.takenAt.toISOString() }),
    });
  }
  return out;
}

async function lastRetention(client: Client, repo: string): Promise<TemporalEvidence['lastRetention']> {
  const last = (await runsOf(client, 'retentionWorkflow', repo))[0];
  return last === undefined ? undefined : { time: (last.closeTime ?? last.startTime).toISOString(), outcome: statusText(last), workflowId: last.workflowId };
}

async function attempt<T>(what: string, notes: string[], fn: () => Promise<T>, fallback: T): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    notes.push(`${what} could not be read from Temporal: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`);
    return fallback;
  }
}

export async function temporalEvidence(client: Client, repo: string): Promise<TemporalEvidence> {
  const notes: string[] = [];
  const rotationList = await attempt('key rotations', notes, async () => rotations(client, repo), []);
  const retention = await attempt('retention schedules', notes, async () => retentionSchedules(client, repo), []);
  const last = await attempt('retention runs', notes, async () => lastRetention(client, repo), undefined);
  return { rotations: rotationList, retention, ...(last === undefined ? {} : { lastRetention: last }), notes };
}
