/** `coffer replicate --repo <url> --to <url>`: replicateWorkflow (copy snapshots to a secondary repository, verify there). */
import type { Command } from 'commander';
import type { ReplicateInput, ReplicateResult } from '../../workflows/replicate';
import { ExitCode } from '../exit-codes';
import { formatBytes } from '../progress';
import { collect } from './common';
import type { ContextFactory } from './common';

interface ReplicateFlags {
  repo: string;
  to: string;
  snapshot?: string[];
  readData?: boolean;
  init?: boolean;
}

export function registerReplicate(program: Command, makeContext: ContextFactory): void {
  program
    .command('replicate')
    .description('copy snapshots (and only the chunks they need) to a secondary repository, then verify it')
    .requiredOption('-r, --repo <url>', 'source repository URL')
    .requiredOption('--to <url>', 'destination repository URL (another backend)')
    .option('--snapshot <id>', 'copy only this snapshot (repeatable; default all)', collect)
    .option('--read-data', 'verify every copied byte at the destination')
    .option('--init', 'create the destination first, as a replica sharing the source chunk-id key')
    .action(async (flags: ReplicateFlags, command: Command) => {
      const ctx = makeContext(command);
      const source = ctx.repoUrl(flags.repo);
      const destination = ctx.repoUrl(flags.to);
      await ctx.proveRepository(source);
      if (flags.init !== true) await ctx.proveRepository(destination);
      const input: ReplicateInput = {
        source,
        destination,
        ...(flags.snapshot === undefined ? {} : { snapshots: flags.snapshot }),
        ...(flags.readData === true ? { verifyReadData: true } : {}),
        ...(flags.init === true ? { initDestination: true } : {}),
      };
      const { workflowId, result } = await ctx.runJob<ReplicateInput, ReplicateResult>({ workflow: 'replicateWorkflow', job: 'replicate', repo: source, input });
      if (result === undefined) {
        ctx.print({ workflowId }, () => `started ${workflowId}`);
        return;
      }
      if (!result.ok) ctx.exitCode = ExitCode.integrity;
      ctx.print({ workflowId, ...result }, () =>
        `${result.replica?.created === true ? `created replica ${result.replica.repositoryId}; ` : ''}copied ${result.copied.snapshotsCopied} snapshot(s) (${result.copied.snapshotsSkipped} already there), ${result.copied.chunksCopied} chunk(s), ${formatBytes(result.copied.bytesUploaded)} uploaded; destination verify: ${result.ok ? 'no problems' : `${result.verify.findings} problem(s)`}`,
      );
    });
}
