/** `coffer init --repo <url>`: create a repository through initRepositoryWorkflow. */
import type { Command } from 'commander';
import { isCofferError } from '../../activities/errors';
import { WrongPassphrase } from '../../activities/crypto/errors';
import type { InitOptions } from '../../activities/engine/api';
import type { InitRepositoryOutput } from '../../activities/repository';
import type { InitRepositoryInput } from '../../workflows/init';
import { positiveInt, nonNegativeInt } from './common';
import type { ContextFactory } from './common';

interface InitFlags {
  repo: string;
  chunkSize?: number;
  packSize?: number;
  compressionLevel?: number;
  kdfOps?: number;
  kdfMemMib?: number;
  objectLockDays?: number;
}

export function registerInit(program: Command, makeContext: ContextFactory): void {
  program
    .command('init')
    .description('create an encrypted repository (the worker encrypts it with its passphrase for this URL)')
    .requiredOption('-r, --repo <url>', 'repository URL: /path, local:/path, s3://bucket/prefix, gs://…, sftp://…, azure://…')
    .option('--chunk-size <bytes>', 'average chunk size (default 1 MiB)', positiveInt)
    .option('--pack-size <bytes>', 'target pack size (default 16 MiB)', positiveInt)
    .option('--compression-level <n>', 'zstd level (default 1)', nonNegativeInt)
    .option('--kdf-ops <n>', 'Argon2id passes (advanced; tests use small values)', positiveInt)
    .option('--kdf-mem-mib <n>', 'Argon2id memory in MiB (advanced)', positiveInt)
    .option('--object-lock-days <n>', 'retain every object this many days (S3 Object Lock / Azure immutability)', positiveInt)
    .action(async (flags: InitFlags, command: Command) => {
      const ctx = makeContext(command);
      const repo = ctx.repoUrl(flags.repo);
      await ctx.password(); // fail before starting anything if the user has no password to prove
      const options: InitOptions = {
        ...(flags.chunkSize === undefined ? {} : { averageChunkSize: flags.chunkSize }),
        ...(flags.packSize === undefined ? {} : { packSize: flags.packSize }),
        ...(flags.compressionLevel === undefined ? {} : { compressionLevel: flags.compressionLevel }),
        ...(flags.kdfOps === undefined && flags.kdfMemMib === undefined
          ? {}
          : { kdf: { opsLimit: flags.kdfOps ?? 3, memLimitBytes: (flags.kdfMemMib ?? 256) * 1024 * 1024 } }),
        ...(flags.objectLockDays === undefined ? {} : { retentionDays: flags.objectLockDays }),
      };
      const input: InitRepositoryInput = { repo, ...(Object.keys(options).length === 0 ? {} : { options }) };
      const { workflowId, result } = await ctx.runJob<InitRepositoryInput, InitRepositoryOutput>({ workflow: 'initRepositoryWorkflow', job: 'init', repo, input });
      if (result === undefined) {
        ctx.print({ workflowId }, () => `started ${workflowId}`);
        return;
      }
      // The worker used its own copy of the passphrase: make sure it is the user's too.
      try {
        await ctx.proveRepository(repo);
      } catch (err) {
        if (isCofferError(err) && err.code === 'COFFER-E201') {
          throw new WrongPassphrase('the repository was created, but not with your password: the worker holds a different passphrase for it', {
            hint: "align the worker's COFFER_PASSWORD/COFFER_PASSWORD_FILE with yours; the repository opens only with the worker's passphrase",
          });
        }
        throw err;
      }
      ctx.print({ workflowId, ...result }, () => `created repository ${result.repositoryId} at ${result.location} (key epoch ${result.keyEpoch})`);
    });
}
