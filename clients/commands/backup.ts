/**
 * `coffer backup`: back up through backupWorkflow.
 *
 *   coffer backup --repo <url> <path>…                      paths of this host
 *   coffer backup --config coffer.yaml [--profile p] [--source s]…
 *                                                          a profile's sources (all, or those named), one
 *                                                          snapshot each; COFFER_CONFIG / COFFER_PROFILE work too
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { backendOptions, loadConfig, resolveBackendEnv, resolveRepositoryPassword, selectProfile } from '../../activities/config/profile';
import type { CofferConfig, ProfileConfig } from '../../activities/config/profile';
import { createEngine } from '../../activities/engine';
import { InvalidInput } from '../../activities/errors';
import { openBackend } from '../../activities/storage/url';
import { formatBytes } from '../progress';
import type { BackupResult, BackupWorkflowInput } from '../../workflows/backup';
import type { CliContext } from '../context';
import { backupInputsForProfile, profileRepoUrl } from '../profile-sources';
import type { SourceJob } from '../profile-sources';
import { collect, positiveInt, seconds, shortId } from './common';
import type { ContextFactory } from './common';

interface BackupFlags {
  repo?: string;
  config?: string;
  profile?: string;
  source?: string[];
  tag?: string[];
  exclude?: string[];
  canary?: string[];
  parent?: string;
  concurrency?: number;
}

export function registerBackup(program: Command, makeContext: ContextFactory): void {
  program
    .command('backup')
    .description("back up paths of this host, or a config profile's sources, into the repository")
    .argument('[paths...]', 'files or directories to back up (omit to back up the profile\'s sources)')
    .option('-r, --repo <url>', 'repository URL (default: the profile\'s)')
    .option('-c, --config <file>', 'config file with profiles (default: $COFFER_CONFIG)')
    .option('-p, --profile <name>', 'profile of the config file (default: $COFFER_PROFILE, defaultProfile or the only one)')
    .option('-s, --source <name>', "back up only this source of the profile (repeatable)", collect)
    .option('--tag <tag>', 'tag the snapshot (repeatable)', collect)
    .option('--exclude <pattern>', 'glob of paths to leave out (repeatable)', collect)
    .option('--canary <file>', 'ransomware canary, relative to a source path: the backup fails if it changed (repeatable)', collect)
    .option('--parent <id>', "parent snapshot for change detection (default: latest of the same host and paths)")
    .option('--concurrency <n>', 'batches uploaded at once (default 2)', positiveInt)
    .action(async (paths: string[], flags: BackupFlags, command: Command) => {
      const ctx = makeContext(command);
      const configFile = flags.config ?? nonEmpty(ctx.env.COFFER_CONFIG);
      if (configFile === undefined) {
        if (paths.length === 0) throw new InvalidInput('nothing to back up', { hint: 'give paths and --repo <url>, or --config <file> with a profile that has sources' });
        if (flags.repo === undefined) throw new InvalidInput('backing up paths needs --repo <url> (or --config <file> for a profile\'s repository)');
        const repo = ctx.repoUrl(flags.repo);
        await ctx.proveRepository(repo);
        await runAndPrint(ctx, { source: undefined, input: adHocInput(ctx, repo, paths, flags) });
        return;
      }
      const config = await loadConfig(configFile);
      const profile = selectProfile(config, flags.profile ?? nonEmpty(ctx.env.COFFER_PROFILE));
      const here = { host: ctx.config.host, hostQueue: ctx.config.hostTaskQueue };
      let jobs: SourceJob[];
      if (paths.length > 0) {
        if (flags.source !== undefined) throw new InvalidInput('give paths or --source, not both');
        const repo = flags.repo === undefined ? profileRepoUrl(config, profile) : ctx.repoUrl(flags.repo);
        const input = adHocInput(ctx, repo, paths, flags);
        jobs = [{ source: '(paths)', input: profile.anomaly === undefined ? input : { ...input, anomaly: { ...profile.anomaly } } }];
      } else {
        jobs = backupInputsForProfile(config, profile, here, flags.source).map((job) => ({ source: job.source, input: withFlags(ctx, job.input, flags) }));
      }
      const repo = jobs[0]?.input.repo ?? profileRepoUrl(config, profile);
      await proveProfileRepository(ctx, config, profile, repo);
      // Every source is its own job and snapshot; one failing does not stop the others.
      const failures: { source: string; error: unknown }[] = [];
      const results: unknown[] = [];
      const several = jobs.length > 1;
      for (const job of jobs) {
        try {
          // With --json and several sources, one JSON document at the end: an array of results and failures.
          results.push(await runAndPrint(ctx, job, several, !(several && ctx.options.json === true)));
        } catch (error) {
          if (!several) throw error;
          failures.push({ source: job.source, error });
          results.push({ source: job.source, failed: error instanceof Error ? error.message : String(error) });
          if (ctx.options.json !== true) process.stderr.write(`source ${job.source}: FAILED: ${error instanceof Error ? error.message : String(error)}\n`);
        }
        await sleep(2); // distinct workflow ids (they carry the start time) even with --detach
      }
      if (several && ctx.options.json === true) ctx.print(results, () => '');
      if (failures.length > 0) {
        const first = failures[0];
        if (ctx.options.json !== true) process.stderr.write(`${failures.length} of ${jobs.length} source(s) failed: ${failures.map((f) => f.source).join(', ')}\n`);
        throw first?.error;
      }
    });
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value;
}

function adHocInput(ctx: CliContext, repo: string, paths: readonly string[], flags: BackupFlags): BackupWorkflowInput {
  return withFlags(ctx, { repo, paths: paths.map((p) => resolve(p)), host: ctx.config.host, hostQueue: ctx.config.hostTaskQueue }, flags);
}

/** Command-line flags add to (tags, excludes, canaries) or set (parent, concurrency) what the profile says. */
function withFlags(ctx: CliContext, input: BackupWorkflowInput, flags: BackupFlags): BackupWorkflowInput {
  const plus = (a: readonly string[] | undefined, b: readonly string[] | undefined): readonly string[] | undefined => (b === undefined ? a : [...(a ?? []), ...b]);
  const tags = plus(input.tags, flags.tag);
  const excludes = input.command === undefined ? plus(input.excludes, flags.exclude) : input.excludes;
  const canaries = input.command === undefined ? plus(input.canaries, flags.canary) : input.canaries;
  return {
    ...input,
    ...(flags.repo === undefined ? {} : { repo: ctx.repoUrl(flags.repo) }),
    ...(tags === undefined ? {} : { tags }),
    ...(excludes === undefined ? {} : { excludes }),
    ...(canaries === undefined ? {} : { canaries }),
    ...(flags.parent === undefined ? {} : { parent: flags.parent }),
    ...(flags.concurrency === undefined ? {} : { concurrency: flags.concurrency }),
  };
}

/**
 * Opens the profile's repository here with the profile's password reference
 * (else COFFER_PASSWORD / --password-file), its backend options and
 * credential references: proves the user may run jobs on it.
 */
async function proveProfileRepository(ctx: CliContext, config: CofferConfig, profile: ProfileConfig, repo: string): Promise<void> {
  const password = (await resolveRepositoryPassword(config, profile, ctx.env)) ?? (await ctx.password());
  const backend = await openBackend(repo, backendOptions(config, profile), await resolveBackendEnv(config, profile, ctx.env));
  try {
    const repository = await createEngine().open(backend, { passphrase: password });
    await repository.close();
  } finally {
    await backend.close();
  }
}

async function runAndPrint(ctx: CliContext, job: { source: string | undefined; input: BackupWorkflowInput }, labelled = false, print = true): Promise<unknown> {
  const { input } = job;
  // The local host's queue is checked for pollers; a source on another host is that host's worker's business.
  const local = input.host === ctx.config.host;
  const { workflowId, result } = await ctx.runJob<BackupWorkflowInput, BackupResult>({
    workflow: 'backupWorkflow',
    job: 'backup',
    repo: input.repo,
    ...(local ? { host: input.host } : {}),
    input,
  });
  const source = job.source === undefined ? {} : { source: job.source };
  if (result === undefined) {
    if (print) ctx.print({ workflowId, ...source }, () => `${labelled ? `source ${job.source ?? ''}: ` : ''}started ${workflowId}`);
    return { workflowId, ...source };
  }
  // The anomaly warning goes to stderr so it is seen even when stdout is piped; the exit status stays 0.
  if (result.anomaly !== undefined && ctx.options.json !== true) {
    process.stderr.write(`WARN COFFER-E215 unusual change in backup${job.source === undefined ? '' : ` of source ${job.source}`}: ${result.anomaly.reasons.join('; ')} (possible ransomware: inspect the host)\n`);
  }
  if (print) ctx.print({ workflowId, ...source, ...result }, () => {
    const s = result.snapshot.stats;
    const lines = [
      `${labelled ? `source ${job.source ?? ''}: ` : ''}snapshot ${shortId(result.snapshot.id)} saved (${result.snapshot.id})`,
      `  ${s.files} files, ${s.dirs} dirs, ${formatBytes(s.bytes)}; new ${formatBytes(s.bytesNew)}, uploaded ${formatBytes(s.bytesUploaded)}`,
      `  chunks: ${s.chunksNew} new, ${s.chunksDeduplicated} deduplicated; unchanged files ${s.filesUnchanged}`,
      `  ${result.plan.batches} batch(es) in ${result.runs} run(s), ${seconds(result.durationMs)}`,
    ];
    if (result.command !== undefined) {
      lines.push(`  command output: ${result.command.path} (${formatBytes(result.command.bytes)}, sha256 ${result.command.sha256.slice(0, 16)}…)`);
    }
    if (result.totals.unreadable > 0) {
      lines.push(`  ${result.totals.unreadable} file(s) could not be read, e.g.:`);
      for (const u of result.unreadableSample.slice(0, 5)) lines.push(`    ${u.path}: ${u.reason}`);
    }
    if (result.totals.changedDuringRead > 0) lines.push(`  ${result.totals.changedDuringRead} file(s) changed while being read`);
    return lines.join('\n');
  });
  return { workflowId, ...source, ...result };
}
