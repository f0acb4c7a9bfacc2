/**
 * A profile's sources as backupWorkflow inputs: the one mapping used by
 * `coffer backup --config … --profile …` and by `coffer schedule apply
 * --config …` (profileScheduleJobs), so a scheduled backup and a manual one
 * back up the same thing.
 *
 *   path source    -> paths, excludes, tags, canaries, hooks, anomaly
 *   command source -> command { argv, filename, workdir }, tags, hooks,
 *                     anomaly; stored as /coffer-commands/<source>/<filename>
 */
import { isAbsolute, resolve } from 'node:path';
import { createEngine } from '../activities/engine';
import { InvalidInput } from '../activities/errors';
import { backendOptions, parseInterval, resolveBackendEnv, resolveRepositoryPassword } from '../activities/config/profile';
import type { CofferConfig, ProfileConfig, ScheduleConfig, SourceConfig } from '../activities/config/profile';
import { openBackend, parseRepositoryUrl } from '../activities/storage/url';
import type { BackupWorkflowInput } from '../workflows/backup';
import type { DrillInput } from '../workflows/dr-drill';
import type { RetentionInput } from '../workflows/retention';
import type { RetentionPolicy } from '../workflows/retention-policy';
import type { VerifyInput } from '../workflows/verify';

export interface HostDefaults {
  /** This machine's host name and host queue (sources without `host` run here). */
  readonly host: string;
  readonly hostQueue: string;
}

export interface SourceJob {
  readonly source: string;
  readonly input: BackupWorkflowInput;
}

/** The profile's repository URL; a relative local path resolves against the config file's directory. */
export function profileRepoUrl(config: CofferConfig, profile: ProfileConfig): string {
  const url = profile.repository.url.trim();
  const location = parseRepositoryUrl(url);
  if (location.kind === 'local' && !isAbsolute(location.path)) return resolve(config.baseDir, location.path);
  return url;
}

/** The workflow input that backs up one source of a profile. */
export function backupInputForSource(repo: string, profile: ProfileConfig, source: SourceConfig, here: HostDefaults): BackupWorkflowInput {
  const host = source.host ?? here.host;
  const hostQueue = source.hostQueue ?? (host === here.host ? here.hostQueue : undefined);
  const hooks = source.hooks;
  return {
    repo,
    source: source.name,
    host,
    ...(hostQueue === undefined ? {} : { hostQueue }),
    paths: source.paths === undefined ? [] : [...source.paths],
    ...(source.command === undefined
      ? {}
      : {
          command: {
            argv: [...source.command],
            filename: source.filename ?? `${source.name}.out`,
            ...(source.workdir === undefined ? {} : { workdir: source.workdir }),
          },
        }),
    ...(source.tags === undefined ? {} : { tags: [...source.tags] }),
    ...(source.excludes === undefined ? {} : { excludes: [...source.excludes] }),
    ...(source.canaries === undefined ? {} : { canaries: [...source.canaries] }),
    ...(hooks === undefined
      ? {}
      : {
          hooks: {
            ...(hooks.pre === undefined ? {} : { pre: hooks.pre.map((argv) => [...argv]) }),
            ...(hooks.post === undefined ? {} : { post: hooks.post.map((argv) => [...argv]) }),
            timeoutSeconds: hooks.timeoutSeconds,
            postOnFailure: hooks.postOnFailure,
          },
        }),
    ...(profile.anomaly === undefined ? {} : { anomaly: { ...profile.anomaly } }),
  };
}

/** Inputs for the named sources (all of the profile's when none is named), in the profile's order. */
export function backupInputsForProfile(config: CofferConfig, profile: ProfileConfig, here: HostDefaults, only?: readonly string[]): SourceJob[] {
  const all = Object.keys(profile.sources);
  if (all.length === 0) throw new InvalidInput(`profile '${profile.name}' in ${config.file} has no sources`, { hint: 'add a sources: section, or give paths and --repo' });
  const unknown = (only ?? []).filter((name) => !(name in profile.sources));
  if (unknown.length > 0) {
    throw new InvalidInput(`profile '${profile.name}' has no source named ${unknown.map((n) => `'${n}'`).join(', ')} (have: ${all.join(', ')})`);
  }
  const wanted = only === undefined || only.length === 0 ? all : all.filter((name) => only.includes(name));
  const repo = profileRepoUrl(config, profile);
  return wanted.map((name) => {
    const source = profile.sources[name];
    if (source === undefined) throw new InvalidInput(`no source named '${name}'`);
    return { source: name, input: backupInputForSource(repo, profile, source, here) };
  });
}

/** One job a profile's schedule starts: backups are one per source (each its own snapshot), the others one per schedule. */
export type ScheduledJob =
  | { readonly action: 'backup'; readonly source: string; readonly input: BackupWorkflowInput }
  | { readonly action: 'retention'; readonly input: RetentionInput }
  | { readonly action: 'verify'; readonly input: VerifyInput }
  | { readonly action: 'drill'; readonly input: DrillInput };

/** The profile's retention section as the retention workflow's policy. */
export function retentionPolicyOf(profile: ProfileConfig): RetentionPolicy {
  const r = profile.retention;
  if (r === undefined) throw new InvalidInput(`profile '${profile.name}' has no retention policy`);
  return {
    ...(r.keepLast === undefined ? {} : { keepLast: r.keepLast }),
    ...(r.keepHourly === undefined ? {} : { keepHourly: r.keepHourly }),
    ...(r.keepDaily === undefined ? {} : { keepDaily: r.keepDaily }),
    ...(r.keepWeekly === undefined ? {} : { keepWeekly: r.keepWeekly }),
    ...(r.keepMonthly === undefined ? {} : { keepMonthly: r.keepMonthly }),
    ...(r.keepYearly === undefined ? {} : { keepYearly: r.keepYearly }),
    ...(r.keepWithin === undefined ? {} : { keepWithin: r.keepWithin }),
    ...(r.keepTags === undefined ? {} : { keepTags: [...r.keepTags] }),
    ...(r.groupBy === undefined ? {} : { groupBy: [...r.groupBy] }),
  };
}

/** The jobs one schedule of a profile starts (backups through the same mapping as `coffer backup --config`). */
export function profileScheduleJobs(config: CofferConfig, profile: ProfileConfig, schedule: ScheduleConfig, here: HostDefaults): ScheduledJob[] {
  const repo = profileRepoUrl(config, profile);
  switch (schedule.action) {
    case 'backup':
      return backupInputsForProfile(config, profile, here, schedule.sources).map((job) => ({ action: 'backup', source: job.source, input: job.input }));
    case 'retention': {
      const grace = profile.retention?.pruneGrace;
      return [{ action: 'retention', input: { repo, policy: retentionPolicyOf(profile), ...(grace === undefined ? {} : { graceSeconds: parseInterval(grace) ?? 0 }) } }];
    }
    case 'verify':
      return [{ action: 'verify', input: { repo, level: schedule.readData === true ? 'read-data' : 'structure' } }];
    case 'drill': {
      const d = profile.drill;
      if (d === undefined) throw new InvalidInput(`profile '${profile.name}' has no drill objectives`);
      const host = d.host ?? here.host;
      const hostQueue = d.hostQueue ?? (host === here.host ? here.hostQueue : undefined);
      return [
        {
          action: 'drill',
          input: {
            repo,
            host,
            ...(hostQueue === undefined ? {} : { hostQueue }),
            rtoObjectiveSeconds: d.rtoSeconds,
            rpoObjectiveSeconds: d.rpoSeconds,
            ...(d.snapshotHost === undefined ? {} : { snapshotHost: d.snapshotHost }),
            ...(d.include === undefined ? {} : { include: [...d.include] }),
          },
        },
      ];
    }
  }
}

/**
 * Opens the profile's repository here with the profile's password reference
 * (else `fallbackPassword`), its backend options and credential references:
 * proves the user may start jobs on it before anything is sent to Temporal.
 */
export async function proveProfileRepository(
  config: CofferConfig,
  profile: ProfileConfig,
  repo: string,
  env: Readonly<Record<string, string | undefined>>,
  fallbackPassword: () => Promise<string>,
): Promise<void> {
  const password = (await resolveRepositoryPassword(config, profile, env)) ?? (await fallbackPassword());
  const backend = await openBackend(repo, backendOptions(config, profile), await resolveBackendEnv(config, profile, env));
  try {
    const repository = await createEngine().open(backend, { passphrase: password });
    await repository.close();
  } finally {
    await backend.close();
  }
}
