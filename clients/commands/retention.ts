/** `coffer retention --repo <url> [--dry-run] [--keep-…]`: retentionWorkflow (GFS forget + prune). */
import type { Command } from 'commander';
import { InvalidInput } from '../../activities/errors';
import type { RetentionInput, RetentionResult } from '../../workflows/retention';
import type { RetentionPolicy } from '../../workflows/retention-policy';
import { formatBytes } from '../progress';
import { collect, durationSeconds, nonNegativeInt, shortId } from './common';
import type { ContextFactory } from './common';

export interface RetentionFlags {
  keepLast?: number;
  keepHourly?: number;
  keepDaily?: number;
  keepWeekly?: number;
  keepMonthly?: number;
  keepYearly?: number;
  keepWithin?: string;
  keepTag?: string[];
  groupBy?: string;
}

export function addPolicyOptions(command: Command): Command {
  return command
    .option('--keep-last <n>', 'keep the n newest snapshots', nonNegativeInt)
    .option('--keep-hourly <n>', 'keep the newest snapshot of each of the last n hours', nonNegativeInt)
    .option('--keep-daily <n>', 'keep the newest snapshot of each of the last n days', nonNegativeInt)
    .option('--keep-weekly <n>', 'keep the newest snapshot of each of the last n ISO weeks', nonNegativeInt)
    .option('--keep-monthly <n>', 'keep the newest snapshot of each of the last n months', nonNegativeInt)
    .option('--keep-yearly <n>', 'keep the newest snapshot of each of the last n years', nonNegativeInt)
    .option('--keep-within <duration>', "keep everything within this long of the newest snapshot, e.g. 30d, 1y6m")
    .option('--keep-tag <tag>', 'keep snapshots with this tag (repeatable)', collect)
    .option('--group-by <keys>', "comma list of host, paths, tags (default 'host,paths')");
}

export function policyFrom(flags: RetentionFlags): RetentionPolicy {
  const groupBy = flags.groupBy?.split(',').map((k) => k.trim()).filter((k) => k !== '');
  if (groupBy?.some((k) => k !== 'host' && k !== 'paths' && k !== 'tags') === true) {
    throw new InvalidInput(`--group-by '${flags.groupBy ?? ''}' may only name host, paths and tags`);
  }
  return {
    ...(flags.keepLast === undefined ? {} : { keepLast: flags.keepLast }),
    ...(flags.keepHourly === undefined ? {} : { keepHourly: flags.keepHourly }),
    ...(flags.keepDaily === undefined ? {} : { keepDaily: flags.keepDaily }),
    ...(flags.keepWeekly === undefined ? {} : { keepWeekly: flags.keepWeekly }),
    ...(flags.keepMonthly === undefined ? {} : { keepMonthly: flags.keepMonthly }),
    ...(flags.keepYearly === undefined ? {} : { keepYearly: flags.keepYearly }),
    ...(flags.keepWithin === undefined ? {} : { keepWithin: flags.keepWithin }),
    ...(flags.keepTag === undefined ? {} : { keepTags: flags.keepTag }),
    ...(groupBy === undefined ? {} : { groupBy: groupBy as ('host' | 'paths' | 'tags')[] }),
  };
}

interface Flags extends RetentionFlags {
  repo: string;
  dryRun?: boolean;
  host?: string;
  grace?: number;
}

export function retentionLines(result: RetentionResult): string {
  const lines: string[] = [];
  for (const group of result.groups) {
    lines.push(`${group.key}: keep ${group.keep.length}, remove ${group.remove.length}${group.refused ? ' (REFUSED: would remove every snapshot)' : ''}`);
    for (const d of group.keep) lines.push(`  keep   ${shortId(d.id)} ${d.time}  ${d.reasons.join(', ')}`);
    for (const d of group.remove) lines.push(`  remove ${shortId(d.id)} ${d.time}`);
  }
  const p = result.prune;
  if (p !== undefined) {
    lines.push(
      `${result.dryRun ? 'dry run: would forget' : 'forgot'} ${p.snapshotsRemoved.length} snapshot(s); ${result.dryRun ? 'would delete' : 'deleted'} ${p.packsDeleted} pack(s), repacked ${p.packsRepacked}, ${result.dryRun ? 'would free' : 'freed'} ${formatBytes(p.bytesFreed)}`,
    );
  }
  return lines.join('\n');
}

export function registerRetention(program: Command, makeContext: ContextFactory): void {
  addPolicyOptions(
    program
      .command('retention')
      .description('apply a grandfather-father-son policy: forget old snapshots and prune unreferenced data')
      .requiredOption('-r, --repo <url>', 'repository URL')
      .option('--dry-run', 'show the plan, change nothing')
      .option('--host <host>', "apply to this host's snapshots only")
      .option('--grace <duration>', 'never delete packs younger than this (default 1h)', durationSeconds),
  ).action(async (flags: Flags, command: Command) => {
    const ctx = makeContext(command);
    const repo = ctx.repoUrl(flags.repo);
    const policy = policyFrom(flags);
    await ctx.proveRepository(repo);
    const input: RetentionInput = {
      repo,
      policy,
      dryRun: flags.dryRun === true,
      ...(flags.host === undefined ? {} : { host: flags.host }),
      ...(flags.grace === undefined ? {} : { graceSeconds: flags.grace }),
    };
    const { workflowId, result } = await ctx.runJob<RetentionInput, RetentionResult>({ workflow: 'retentionWorkflow', job: 'retention', repo, input });
    if (result === undefined) {
      ctx.print({ workflowId }, () => `started ${workflowId}`);
      return;
    }
    ctx.print({ workflowId, ...result }, () => retentionLines(result));
  });
}
