/**
 * A profile's sources as backupWorkflow inputs: the one mapping used by
 * `coffer backup --config … --profile …` and by schedules built from a
 * profile, so a scheduled backup and a manual one back up the same thing.
 *
 *   path source    -> paths, excludes, tags, canaries, hooks, anomaly
 *   command source -> command { argv, filename, workdir }, tags, hooks,
 *                     anomaly; stored as /coffer-commands/<source>/<filename>
 */
import { isAbsolute, resolve } from 'node:path';
import { InvalidInput } from '../activities/errors';
import type { CofferConfig, ProfileConfig, SourceConfig } from '../activities/config/profile';
import { parseRepositoryUrl } from '../activities/storage/url';
import type { BackupWorkflowInput } from '../workflows/backup';

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
