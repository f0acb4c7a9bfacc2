/** `coffer keys rotate --repo <url>`: rotateKeysWorkflow. */
import type { Command } from 'commander';
import type { RotateKeysResult, RotateKeysWorkflowInput } from '../../workflows/rotate-keys';
import { positiveInt, seconds } from './common';
import type { ContextFactory } from './common';

interface RotateFlags {
  repo: string;
  packsPerBatch?: number;
}

export function registerKeys(program: Command, makeContext: ContextFactory): void {
  const keys = program.command('keys').description('repository key management');
  keys
    .command('rotate')
    .description('start a new key epoch, re-encrypt older packs in resumable batches, then retire the old epochs')
    .requiredOption('-r, --repo <url>', 'repository URL')
    .option('--packs-per-batch <n>', 'packs re-encrypted per activity (default 50)', positiveInt)
    .action(async (flags: RotateFlags, command: Command) => {
      const ctx = makeContext(command);
      const repo = ctx.repoUrl(flags.repo);
      await ctx.proveRepository(repo);
      const input: RotateKeysWorkflowInput = { repo, ...(flags.packsPerBatch === undefined ? {} : { packsPerBatch: flags.packsPerBatch }) };
      const { workflowId, result } = await ctx.runJob<RotateKeysWorkflowInput, RotateKeysResult>({ workflow: 'rotateKeysWorkflow', job: 'rotate-keys', repo, input });
      if (result === undefined) {
        ctx.print({ workflowId }, () => `started ${workflowId}`);
        return;
      }
      ctx.print({ workflowId, ...result }, () =>
        `key epoch ${result.newEpoch} in use; ${result.packsRotated} pack(s) re-encrypted in ${result.batches} batch(es), ${result.runs} run(s), ${seconds(result.durationMs)}; old epochs retired`,
      );
    });
}
