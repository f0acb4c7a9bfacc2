/** `coffer backup --repo <url> <path>…`: back up local paths through backupWorkflow. */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { formatBytes } from '../progress';
import type { BackupResult, BackupWorkflowInput } from '../../workflows/backup';
import { collect, positiveInt, seconds, shortId } from './common';
import type { ContextFactory } from './common';

interface BackupFlags {
  repo: string;
  tag?: string[];
  exclude?: string[];
  canary?: string[];
  parent?: string;
  concurrency?: number;
}

export function registerBackup(program: Command, makeContext: ContextFactory): void {
  program
    .command('backup')
    .description('back up paths of this host into the repository')
    .argument('<paths...>', 'files or directories to back up')
    .requiredOption('-r, --repo <url>', 'repository URL')
    .option('--tag <tag>', 'tag the snapshot (repeatable)', collect)
    .option('--exclude <pattern>', 'glob of paths to leave out (repeatable)', collect)
    .option('--canary <file>', 'ransomware canary, relative to a source path: the backup fails if it changed (repeatable)', collect)
    .option('--parent <id>', "parent snapshot for change detection (default: latest of the same host and paths)")
    .option('--concurrency <n>', 'batches uploaded at once (default 2)', positiveInt)
    .action(async (paths: string[], flags: BackupFlags, command: Command) => {
      const ctx = makeContext(command);
      const repo = ctx.repoUrl(flags.repo);
      await ctx.proveRepository(repo);
      const input: BackupWorkflowInput = {
        repo,
        paths: paths.map((p) => resolve(p)),
        host: ctx.config.host,
        hostQueue: ctx.config.hostTaskQueue,
        ...(flags.tag === undefined ? {} : { tags: flags.tag }),
        ...(flags.exclude === undefined ? {} : { excludes: flags.exclude }),
        ...(flags.canary === undefined ? {} : { canaries: flags.canary }),
        ...(flags.parent === undefined ? {} : { parent: flags.parent }),
        ...(flags.concurrency === undefined ? {} : { concurrency: flags.concurrency }),
      };
      const { workflowId, result } = await ctx.runJob<BackupWorkflowInput, BackupResult>({ workflow: 'backupWorkflow', job: 'backup', repo, host: ctx.config.host, input });
      if (result === undefined) {
        ctx.print({ workflowId }, () => `started ${workflowId}`);
        return;
      }
      ctx.print({ workflowId, ...result }, () => {
        const s = result.snapshot.stats;
        const lines = [
          `snapshot ${shortId(result.snapshot.id)} saved (${result.snapshot.id})`,
          `  ${s.files} files, ${s.dirs} dirs, ${formatBytes(s.bytes)}; new ${formatBytes(s.bytesNew)}, uploaded ${formatBytes(s.bytesUploaded)}`,
          `  chunks: ${s.chunksNew} new, ${s.chunksDeduplicated} deduplicated; unchanged files ${s.filesUnchanged}`,
          `  ${result.plan.batches} batch(es) in ${result.runs} run(s), ${seconds(result.durationMs)}`,
        ];
        if (result.totals.unreadable > 0) {
          lines.push(`  ${result.totals.unreadable} file(s) could not be read, e.g.:`);
          for (const u of result.unreadableSample.slice(0, 5)) lines.push(`    ${u.path}: ${u.reason}`);
        }
        if (result.totals.changedDuringRead > 0) lines.push(`  ${result.totals.changedDuringRead} file(s) changed while being read`);
        return lines.join('\n');
      });
    });
}
