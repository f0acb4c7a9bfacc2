/**
 * The Coffer config file (`coffer.yaml`): named profiles, each with a
 * repository, sources, schedules, a retention policy, drill objectives and
 * notification targets. Parsed and validated once, then handed around as a
 * frozen object. Every problem is reported as `file:line: field: message`
 * (a ConfigError, COFFER-E530); secrets appear only as references and are
 * resolved on demand with `resolveSecret`.
 *
 * Fields are documented in docs/configuration.md; examples/coffer.yaml is a
 * complete example that a test loads.
 */
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { LineCounter, isMap, isScalar, isSeq, parseDocument } from 'yaml';
import type { Document } from 'yaml';
import type { z } from 'zod';
import type { BackendOptions } from '../storage/url';
import type { NotifyTarget } from '../notify/targets';
import { ConfigError } from './profile-errors';
import type { ConfigProblem } from './profile-errors';
import { configSchema } from './profile-schema';
import type { ConfigOutput } from './profile-schema';
import { findLiteralSecrets, referenceAdvice, resolveSecret } from './profile-secrets';
import type { Env, SecretRef } from './profile-secrets';

export { ConfigError, SecretUnresolved, formatProblem } from './profile-errors';
export type { ConfigProblem } from './profile-errors';
export { resolveSecret, describeSecretRef, isSecretFieldName } from './profile-secrets';
export type { SecretRef, Env } from './profile-secrets';
export { cronProblem, parseInterval } from './profile-schedule';

export type DeepReadonly<T> = T extends (infer U)[]
  ? readonly DeepReadonly<U>[]
  : T extends object
    ? { readonly [K in keyof T]: DeepReadonly<T[K]> }
    : T;

type Parsed = ConfigOutput;
type ParsedProfile = Parsed['profiles'][string];

/** A source with its name; command sources always have a `filename` (default `<name>.out`). */
export type SourceConfig = DeepReadonly<ParsedProfile['sources'][string]> & { readonly name: string };
export type ScheduleConfig = DeepReadonly<ParsedProfile['schedules'][string]> & { readonly name: string };
export type NotificationConfig = DeepReadonly<ParsedProfile['notifications'][string]> & { readonly name: string };
export type RepositoryConfig = DeepReadonly<ParsedProfile['repository']>;
export type RetentionConfig = DeepReadonly<NonNullable<ParsedProfile['retention']>>;
export type DrillConfig = DeepReadonly<NonNullable<ParsedProfile['drill']>>;
export type AnomalyConfig = DeepReadonly<NonNullable<ParsedProfile['anomaly']>>;

export interface ProfileConfig {
  readonly name: string;
  readonly description?: string;
  readonly repository: RepositoryConfig;
  readonly sources: Readonly<Record<string, SourceConfig>>;
  readonly schedules: Readonly<Record<string, ScheduleConfig>>;
  readonly retention?: RetentionConfig;
  readonly drill?: DrillConfig;
  readonly notifications: Readonly<Record<string, NotificationConfig>>;
  readonly anomaly?: AnomalyConfig;
}

export interface CofferConfig {
  /** Absolute path of the file it was read from. */
  readonly file: string;
  /** Directory relative secret files and paths resolve against. */
  readonly baseDir: string;
  readonly version: 1;
  readonly defaultProfile?: string;
  readonly profiles: Readonly<Record<string, ProfileConfig>>;
}

/** Reads, parses and validates a config file. Throws ConfigError listing every problem. */
export async function loadConfig(path: string): Promise<CofferConfig> {
  const file = resolve(path);
  let source: string;
  try {
    source = await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    throw new ConfigError([{ file: path, line: 0, field: '', message: `cannot read the config file (${code})` }], { cause: err });
  }
  return parseConfig(source, path, file);
}

/**
 * Validates config text. `name` is how errors refer to the file (as the user
 * typed it); `file` is its absolute path (relative references resolve
 * against its directory).
 */
export function parseConfig(source: string, name: string, file: string = resolve(name)): CofferConfig {
  const lineCounter = new LineCounter();
  const doc = parseDocument(source, { lineCounter, prettyErrors: false, uniqueKeys: true, strict: true });
  const lineAt = (offset: number): number => lineCounter.linePos(offset).line;
  if (doc.errors.length > 0) {
    throw new ConfigError(
      doc.errors.map((e) => ({ file: name, line: lineAt(e.pos[0]), field: '', message: `not valid YAML: ${firstLine(e.message)}` })),
    );
  }
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    throw new ConfigError([{ file: name, line: 1, field: '', message: `not valid YAML: ${err instanceof Error ? firstLine(err.message) : 'unreadable'}` }]);
  }
  const problems: ConfigProblem[] = findLiteralSecrets(value).map((s) => ({
    file: name,
    line: lineOf(doc, s.path, lineAt),
    field: fieldName(s.path),
    message: referenceAdvice(s.field),
  }));
  const result = configSchema.safeParse(value ?? {}, { reportInput: true });
  if (result.success && problems.length === 0) return freeze(shape(result.data, file));
  if (!result.success) {
    // A literal secret is already reported with its fix; the schema's "unknown field" for it would only add noise.
    const secretFields = new Set(problems.map((p) => p.field));
    for (const problem of result.error.issues.flatMap((issue) => issueProblems(issue, value, doc, name, lineAt))) {
      if (!secretFields.has(problem.field)) problems.push(problem);
    }
  }
  problems.sort((a, b) => a.line - b.line);
  throw new ConfigError(dedupe(problems));
}

/** The profile to use: the named one, else `defaultProfile`, else the only one. */
export function selectProfile(config: CofferConfig, name?: string): ProfileConfig {
  const wanted = name ?? config.defaultProfile;
  const names = Object.keys(config.profiles);
  if (wanted === undefined) {
    const only = names.length === 1 ? config.profiles[names[0] ?? ''] : undefined;
    if (only !== undefined) return only;
    throw new ConfigError([{ file: config.file, line: 0, field: 'defaultProfile', message: `several profiles (${names.join(', ')}): choose one with --profile or set defaultProfile` }]);
  }
  const profile = config.profiles[wanted];
  if (profile === undefined) {
    throw new ConfigError([{ file: config.file, line: 0, field: 'profiles', message: `no profile named '${wanted}' (have: ${names.join(', ')})` }]);
  }
  return profile;
}

/** The repository passphrase the profile refers to, or undefined when it names none (the worker holds it). */
export async function resolveRepositoryPassword(config: CofferConfig, profile: ProfileConfig, env: Env): Promise<string | undefined> {
  const { passwordFile, passwordEnv } = profile.repository;
  if (passwordFile !== undefined) return resolveSecret({ file: passwordFile }, env, config.baseDir);
  if (passwordEnv !== undefined) return resolveSecret({ env: passwordEnv }, env, config.baseDir);
  return undefined;
}

/** The environment for `openBackend`: `env` plus the profile's resolved `credentials`. */
export async function resolveBackendEnv(config: CofferConfig, profile: ProfileConfig, env: Env): Promise<Env> {
  const resolved: Record<string, string | undefined> = { ...env };
  for (const [name, ref] of Object.entries(profile.repository.credentials ?? {})) resolved[name] = await resolveSecret(ref, env, config.baseDir);
  return resolved;
}

/** Backend options for `openBackend` (relative local repositories resolve against the config's directory). */
export function backendOptions(config: CofferConfig, profile: ProfileConfig): BackendOptions {
  const o = profile.repository.options ?? {};
  return {
    ...(o.s3 === undefined ? {} : { s3: o.s3 }),
    ...(o.gcs === undefined ? {} : { gcs: o.gcs }),
    ...(o.azure === undefined ? {} : { azure: o.azure }),
    ...(o.sftp === undefined ? {} : { sftp: o.sftp }),
    ...(o.retry === undefined ? {} : { retry: o.retry }),
    ...(o.bandwidth === undefined ? {} : { bandwidth: o.bandwidth }),
    ...(o.timeouts === undefined ? {} : { timeouts: o.timeouts }),
    cwd: config.baseDir,
  };
}

async function secretOrText(value: string | SecretRef, env: Env, baseDir: string): Promise<string> {
  return typeof value === 'string' ? value : resolveSecret(value, env, baseDir);
}

/** A configured target with its secrets resolved, in the shape activities/notify sends to. Keep it out of logs. */
export async function resolveNotifyTarget(config: CofferConfig, target: NotificationConfig, env: Env): Promise<NotifyTarget> {
  switch (target.type) {
    case 'webhook': {
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(target.headers ?? {})) headers[k] = await secretOrText(v, env, config.baseDir);
      return { type: 'webhook', url: await secretOrText(target.url, env, config.baseDir), ...(target.headers === undefined ? {} : { headers }) };
    }
    case 'slack':
      return { type: 'slack', url: await resolveSecret(target.url, env, config.baseDir) };
    case 'email':
      return {
        type: 'email',
        host: target.host,
        port: target.port,
        from: target.from,
        to: target.to,
        ...(target.secure === undefined ? {} : { secure: target.secure }),
        ...(target.auth === undefined ? {} : { auth: { user: target.auth.user, pass: await resolveSecret(target.auth.password, env, config.baseDir) } }),
        ...(target.clientName === undefined ? {} : { clientName: target.clientName }),
      };
    case 'syslog':
      return {
        type: 'syslog',
        host: target.host,
        port: target.port,
        protocol: target.protocol,
        ...(target.facility === undefined ? {} : { facility: target.facility }),
        ...(target.appName === undefined ? {} : { appName: target.appName }),
        ...(target.hostname === undefined ? {} : { hostname: target.hostname }),
      };
  }
}

// ---- shaping and freezing ----

function shape(parsed: Parsed, file: string): CofferConfig {
  const profiles: Record<string, ProfileConfig> = {};
  for (const [name, p] of Object.entries(parsed.profiles)) {
    const sources: Record<string, SourceConfig> = {};
    for (const [sourceName, s] of Object.entries(p.sources)) {
      sources[sourceName] = { name: sourceName, ...s, ...(s.command !== undefined && s.filename === undefined ? { filename: `${sourceName}.out` } : {}) };
    }
    profiles[name] = {
      name,
      ...(p.description === undefined ? {} : { description: p.description }),
      repository: p.repository,
      sources,
      schedules: withNames(p.schedules),
      ...(p.retention === undefined ? {} : { retention: p.retention }),
      ...(p.drill === undefined ? {} : { drill: p.drill }),
      notifications: withNames(p.notifications),
      ...(p.anomaly === undefined ? {} : { anomaly: p.anomaly }),
    };
  }
  return {
    file,
    baseDir: dirname(file),
    version: parsed.version,
    ...(parsed.defaultProfile === undefined ? {} : { defaultProfile: parsed.defaultProfile }),
    profiles,
  };
}

function withNames<T extends object>(record: Record<string, T>): Record<string, T & { name: string }> {
  const out: Record<string, T & { name: string }> = {};
  for (const [name, value] of Object.entries(record)) out[name] = { name, ...value };
  return out;
}

function freeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const item of Object.values(value)) freeze(item);
  }
  return value;
}

// ---- errors: field paths to lines ----

type Path = readonly PropertyKey[];

function fieldName(path: Path): string {
  return path.map((seg, i) => (typeof seg === 'number' ? `[${seg}]` : `${i === 0 ? '' : '.'}${String(seg)}`)).join('');
}

function firstLine(message: string): string {
  return message.split('\n')[0] ?? message;
}

/** Line of the deepest node along `path` that exists (a missing field is reported on its parent's line). */
function lineOf(doc: Document, path: Path, lineAt: (offset: number) => number): number {
  let node: unknown = doc.contents;
  let line = node !== null && typeof node === 'object' && 'range' in node && Array.isArray(node.range) ? lineAt(Number(node.range[0])) : 1;
  for (const seg of path) {
    if (isMap(node)) {
      const pair = node.items.find((p) => (isScalar(p.key) ? String(p.key.value) : String(p.key)) === String(seg));
      if (pair === undefined) break;
      if (isScalar(pair.key) && pair.key.range) line = lineAt(pair.key.range[0]);
      node = pair.value;
    } else if (isSeq(node) && typeof seg === 'number') {
      const item: unknown = node.items[seg];
      if (item === undefined) break;
      if (isScalar(item) || isMap(item) || isSeq(item)) {
        if (item.range) line = lineAt(item.range[0]);
      }
      node = item;
    } else {
      break;
    }
  }
  return line;
}

function valueAt(root: unknown, path: Path): unknown {
  let node = root;
  for (const seg of path) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<PropertyKey, unknown>)[seg];
  }
  return node;
}

type Issue = z.core.$ZodIssue;

function issueProblems(issue: Issue, value: unknown, doc: Document, file: string, lineAt: (offset: number) => number): ConfigProblem[] {
  const at = (path: Path, message: string): ConfigProblem => ({ file, line: lineOf(doc, path, lineAt), field: fieldName(path), message });
  switch (issue.code) {
    case 'unrecognized_keys':
      return issue.keys.map((key) => at([...issue.path, key], 'unknown field (see docs/configuration.md for the fields allowed here)'));
    case 'invalid_type':
    case 'invalid_value':
      if (valueAt(value, issue.path) === undefined) return [at(issue.path, `required field is missing (${issue.message})`)];
      return [at(issue.path, issue.message)];
    case 'invalid_key':
      return [at(issue.path, issue.issues[0]?.message ?? issue.message)];
    default:
      return [at(issue.path, issue.message)];
  }
}

function dedupe(problems: ConfigProblem[]): ConfigProblem[] {
  const seen = new Set<string>();
  return problems.filter((p) => {
    const key = `${p.line}\0${p.field}\0${p.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
