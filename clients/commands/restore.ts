/** `coffer restore --repo <url> <snapshot|latest> --target <dir>`: restoreWorkflow (staged, compared, swapped). */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { InvalidInput } from '../../activities/errors';
import type { RestoreInput, RestoreOutput } from '../../workflows/restore';
import { formatBytes } from '../progress';
import { collect, seconds, shortId } from './common';
import type { ContextFactory } from './common';

interface RestoreFlags {
  repo: string;
  target: string;
  include?: string[];
  exclude?: string[];
  asOf?: string;
  overwrite?: boolean;
  snapshotHost?: string;
  tag?: string[];
}

export function registerRestore(program: Command, makeContext: ContextFactory): void {
  program
    .command('restore')
    .description('restore a snapshot into a directory of this host, verified byte for byte before it is put in place')
    .argument('[snapshot]', "snapshot id, unique prefix, or 'latest'", 'latest')
    .requiredOption('-r, --repo <url>', 'repository URL')
    .requiredOption('-t, --target <dir>', 'directory to restore into (must be empty or new unless --overwrite)')
    .option('--include <pattern>', 'restore only matching paths (repeatable)', collect)
    .option('--exclude <pattern>', 'leave out matching paths (repeatable)', collect)
    .option('--as-of <time>', 'the latest snapshot taken at or before this ISO-8601 time')
    .option('--snapshot-host <host>', "restrict 'latest'/--as-of to snapshots of this host")
    .option('--tag <tag>', "restrict 'latest'/--as-of to snapshots with this tag (repeatable)", collect)
    .option('--overwrite', 'replace a non-empty target (its old contents are removed)')
    .action(async (snapshot: string, flags: RestoreFlags, command: Command) => {
      const ctx = makeContext(command);
      const repo = ctx.repoUrl(flags.repo);
      if (flags.asOf !== undefined && Number.isNaN(Date.parse(flags.asOf))) {
        throw new InvalidInput(`--as-of '${flags.asOf}' is not a time`, { hint: 'use ISO-8601, e.g. 2024-05-01T12:00:00Z' });
      }
      await ctx.proveRepository(repo);
      const input: RestoreInput = {
        repo,
        snapshot,
        target: resolve(flags.target),
        host: ctx.config.host,
        hostQueue: ctx.config.hostTaskQueue,
        ...(flags.asOf === undefined ? {} : { asOf: new Date(flags.asOf).toISOString() }),
        ...(flags.snapshotHost === undefined ? {} : { snapshotHost: flags.snapshotHost }),
        ...(flags.tag === undefined ? {} : { tags: flags.tag }),
        ...(flags.include === undefined ? {} : { include: flags.include }),
        ...(flags.exclude === undefined ? {} : { exclude: flags.exclude }),
        ...(flags.overwrite === true ? { overwrite: true } : {}),
      };
      const { workflowId, result } = await ctx.runJob<RestoreInput, RestoreOutput>({ workflow: 'restoreWorkflow', job: 'restore', repo, host: ctx.config.host, input });
      if (result === undefined) {
        ctx.print({ workflowId }, () => `started ${workflowId}`);
        return;
      }
      ctx.print({ workflowId, ...result }, () =>
        [
          `restored snapshot ${shortId(result.snapshotId)} (${result.snapshotTime}) to ${result.target}`,
          `  ${result.files} files, ${result.dirs} dirs, ${formatBytes(result.bytes)} in ${seconds(result.durationMs)}${result.skipped > 0 ? ` (${result.skipped} already restored by an earlier attempt)` : ''}`,
          `  verified byte for byte against the snapshot: ${result.verified.matched} entries match, ${result.verified.differences} differences`,
        ].join('\n'),
      );
    });
}
