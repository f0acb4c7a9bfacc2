/** `coffer drill --repo <url>`: drDrillWorkflow; prints the report; exit 3 on any gap. */
import type { Command } from 'commander';
import { ApplicationFailure } from '@temporalio/common';
import { causeChain } from '../../activities/errors';
import type { DrillInput, DrillReport } from '../../workflows/dr-drill';
import { formatBytes } from '../progress';
import { durationSeconds, shortId } from './common';
import type { ContextFactory } from './common';

interface DrillFlags {
  repo: string;
  snapshot?: string;
  snapshotHost?: string;
  rto?: number;
  rpo?: number;
}

function isReport(value: unknown): value is DrillReport {
  return typeof value === 'object' && value !== null && 'rtoSeconds' in value && 'gaps' in value;
}

export function reportLines(report: DrillReport): string {
  return [
    `DR drill ${report.passed ? 'PASSED' : 'FAILED'}: snapshot ${shortId(report.snapshotId)} of ${report.snapshotHost} (${report.snapshotTime})`,
    `  restored ${report.restored.files} files, ${formatBytes(report.restored.bytes)}; compared byte for byte: ${report.compare.matched} match, ${report.compare.differences} differ`,
    `  RTO ${report.rtoSeconds.toFixed(1)} s (objective ${report.rtoObjectiveSeconds} s), RPO ${report.rpoSeconds.toFixed(0)} s (objective ${report.rpoObjectiveSeconds} s)`,
    ...report.gaps.map((g) => `  gap: ${g}`),
  ].join('\n');
}

export function registerDrill(program: Command, makeContext: ContextFactory): void {
  program
    .command('drill')
    .description('disaster-recovery drill: restore a snapshot to scratch, verify byte for byte, measure RTO and RPO')
    .requiredOption('-r, --repo <url>', 'repository URL')
    .option('--snapshot <id>', "snapshot to drill (default 'latest')")
    .option('--snapshot-host <host>', "restrict 'latest' to this host's snapshots")
    .option('--rto <duration>', 'recovery time objective, e.g. 30m (default 1h)', durationSeconds)
    .option('--rpo <duration>', 'recovery point objective, e.g. 26h (default 26h)', durationSeconds)
    .action(async (flags: DrillFlags, command: Command) => {
      const ctx = makeContext(command);
      const repo = ctx.repoUrl(flags.repo);
      await ctx.proveRepository(repo);
      const input: DrillInput = {
        repo,
        host: ctx.config.host,
        hostQueue: ctx.config.hostTaskQueue,
        ...(flags.snapshot === undefined ? {} : { snapshot: flags.snapshot }),
        ...(flags.snapshotHost === undefined ? {} : { snapshotHost: flags.snapshotHost }),
        ...(flags.rto === undefined ? {} : { rtoObjectiveSeconds: flags.rto }),
        ...(flags.rpo === undefined ? {} : { rpoObjectiveSeconds: flags.rpo }),
      };
      try {
        const { workflowId, result } = await ctx.runJob<DrillInput, DrillReport>({ workflow: 'drDrillWorkflow', job: 'drill', repo, host: ctx.config.host, input });
        if (result === undefined) ctx.print({ workflowId }, () => `started ${workflowId}`);
        else ctx.print({ workflowId, ...result }, () => reportLines(result));
      } catch (err) {
        // A failed drill carries its report: show it before the error line.
        for (const cause of causeChain(err)) {
          if (cause instanceof ApplicationFailure) {
            const report = (cause.details ?? []).find(isReport);
            if (report !== undefined) {
              ctx.print(report, () => reportLines(report));
              break;
            }
          }
        }
        throw err;
      }
    });
}
