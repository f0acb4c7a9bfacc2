/**
 * Worker and client configuration, parsed and validated once from the
 * environment merged with the local stack's env file (real variables win).
 * Nothing else in workers/ or clients/ reads process.env: they receive these
 * readonly objects.
 *
 * Secrets model: the worker holds repository passphrases (COFFER_PASSWORD,
 * COFFER_PASSWORD_FILE or a per-repository map file). Workflow inputs carry
 * only repository URLs; activities resolve the secret from the worker's deps.
 */
import { hostname, tmpdir } from 'node:os';
import { resolve } from 'node:path';
import { z } from 'zod';
import { environmentWithStack } from '../activities/config/env-file';
import { ALLOW_COMMANDS_SETTING, allowEntryProblem, parseAllowList } from '../activities/sources/allowlist';
import type { CommandPolicy } from '../activities/sources/allowlist';
import { commandEnv } from '../activities/sources/process';
import { ConfigInvalid } from './errors';
import { projectRoot } from './paths';

export const DEFAULT_TASK_QUEUE = 'coffer';

/** The queue a host's worker polls for activities that touch that host's files. */
export function hostTaskQueue(host: string, sharedQueue: string = DEFAULT_TASK_QUEUE): string {
  return `${sharedQueue}@${host}`;
}

export interface TlsConfig {
  readonly clientCertPath?: string;
  readonly clientKeyPath?: string;
  readonly serverCaCertPath?: string;
  readonly serverName?: string;
}

/** What both the worker and the CLI need to talk to Temporal. */
export interface TemporalConfig {
  readonly address: string;
  readonly namespace: string;
  /** undefined: plain TCP (local dev server). */
  readonly tls?: TlsConfig;
  readonly apiKey?: string;
  /** Shared queue: workflows and activities any worker may run. */
  readonly taskQueue: string;
  /** This machine's name as recorded in snapshots. */
  readonly host: string;
  /** This machine's queue for activities that read or write its local files. */
  readonly hostTaskQueue: string;
  /** Key file of the payload codec (see workers/codec.ts). */
  readonly codecKeyFile: string;
  /** Create the codec key file with a fresh random key if it does not exist (dev and demo). */
  readonly codecKeyCreate: boolean;
}

/** Where repository passphrases come from. Values are never logged. */
export interface SecretsConfig {
  readonly password?: string;
  readonly passwordFile?: string;
  /** JSON or YAML map: repository URL -> { password | passwordFile }. */
  readonly repositorySecretsFile?: string;
}

export interface WorkerConfig extends TemporalConfig {
  /** host:port of the Prometheus endpoint (SDK metrics plus Coffer counters); undefined = off. */
  readonly metricsBindAddress?: string;
  readonly secrets: SecretsConfig;
  /** Where scratch restores (DR drills) go by default. */
  readonly scratchDir: string;
  /** Environment handed to storage backends (endpoints and credentials of the stack or the deployment). */
  readonly storageEnv: Readonly<Record<string, string>>;
  /** Engine tunables (batch size); undefined = the engine's defaults. */
  readonly engine: { readonly batchFiles?: number; readonly batchBytes?: number };
  /** Most activities this worker runs at once on its host queue (heavy file I/O). */
  readonly hostActivitySlots: number;
  /** The MongoDB catalog; undefined = no catalog (workflows report `catalog: 'off'`). The URL may hold a password: never log it. */
  readonly catalog?: CatalogConfig;
  /** Where notifications go (failed workflows, failed verifies, drill results). */
  readonly notify: NotifyConfig;
  /** Programs command sources and hooks may run (COFFER_ALLOW_COMMANDS; default none) and the environment they get. */
  readonly commands: CommandPolicy;
}

export interface CatalogConfig {
  /** mongodb://host:port/<database> (COFFER_MONGODB_URL). */
  readonly url: string;
  /** Overrides the database named in the URL (COFFER_CATALOG_DB). */
  readonly dbName?: string;
}

export interface NotifyConfig {
  /** Generic JSON webhooks that get every event (COFFER_NOTIFY_WEBHOOKS, comma-separated). Secret-bearing: never logged. */
  readonly webhookUrls: readonly string[];
  /** A Coffer config file whose profile's `notifications` are used too (COFFER_CONFIG, COFFER_PROFILE). */
  readonly configFile?: string;
  readonly profile?: string;
}

const optionalText = z
  .string()
  .trim()
  .transform((value) => (value === '' ? undefined : value))
  .optional();

const booleanText = z
  .string()
  .trim()
  .toLowerCase()
  .refine((value) => ['', '0', '1', 'true', 'false', 'yes', 'no'].includes(value), 'expected true or false')
  .transform((value) => value === '1' || value === 'true' || value === 'yes')
  .optional();

const hostPort = z
  .string()
  .trim()
  .regex(/^[A-Za-z0-9.\-_[\]:]+:\d{1,5}$/, 'expected host:port');

const temporalSchema = z.object({
  TEMPORAL_ADDRESS: hostPort.default('127.0.0.1:7233'),
  TEMPORAL_NAMESPACE: z.string().trim().min(1).default('default'),
  TEMPORAL_API_KEY: optionalText,
  TEMPORAL_TLS: booleanText,
  TEMPORAL_TLS_CLIENT_CERT_PATH: optionalText,
  TEMPORAL_TLS_CLIENT_KEY_PATH: optionalText,
  TEMPORAL_TLS_SERVER_CA_CERT_PATH: optionalText,
  TEMPORAL_TLS_SERVER_NAME: optionalText,
  COFFER_TASK_QUEUE: z.string().trim().regex(/^[A-Za-z0-9._\-@/]+$/, 'letters, digits and . _ - @ / only').default(DEFAULT_TASK_QUEUE),
  COFFER_HOST: optionalText,
  COFFER_HOST_TASK_QUEUE: optionalText,
  COFFER_CODEC_KEY_FILE: optionalText,
  COFFER_CODEC_KEY_CREATE: booleanText,
});

const workerSchema = z.object({
  COFFER_METRICS_BIND: optionalText,
  COFFER_PASSWORD: optionalText,
  COFFER_PASSWORD_FILE: optionalText,
  COFFER_REPOSITORY_SECRETS_FILE: optionalText,
  COFFER_SCRATCH_DIR: optionalText,
  COFFER_ENGINE_BATCH_FILES: z.coerce.number().int().positive().optional(),
  COFFER_ENGINE_BATCH_BYTES: z.coerce.number().int().positive().optional(),
  COFFER_HOST_ACTIVITY_SLOTS: z.coerce.number().int().positive().max(64).default(4),
  COFFER_MONGODB_URL: optionalText,
  /** `off` runs without a catalog even when COFFER_MONGODB_URL is set (e.g. by the stack's env file). */
  COFFER_CATALOG: optionalText,
  COFFER_CATALOG_DB: optionalText,
  COFFER_NOTIFY_WEBHOOKS: optionalText,
  COFFER_CONFIG: optionalText,
  COFFER_PROFILE: optionalText,
  COFFER_ALLOW_COMMANDS: optionalText,
});

type Environment = Readonly<Record<string, string | undefined>>;

function parse<T extends z.ZodType>(schema: T, env: Environment): z.output<T> {
  const result = schema.safeParse(env);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ');
    throw new ConfigInvalid(`invalid configuration (${problems})`, {
      hint: 'fix the variable(s) named above in the environment or in .data/stack.env',
    });
  }
  return result.data;
}

export function loadTemporalConfig(env: Environment = environmentWithStack()): TemporalConfig {
  const vars = parse(temporalSchema, env);
  const tlsWanted =
    vars.TEMPORAL_TLS === true ||
    vars.TEMPORAL_TLS_CLIENT_CERT_PATH !== undefined ||
    vars.TEMPORAL_TLS_SERVER_CA_CERT_PATH !== undefined ||
    (vars.TEMPORAL_API_KEY !== undefined && vars.TEMPORAL_TLS !== false);
  if ((vars.TEMPORAL_TLS_CLIENT_CERT_PATH === undefined) !== (vars.TEMPORAL_TLS_CLIENT_KEY_PATH === undefined)) {
    throw new ConfigInvalid('TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_KEY_PATH must be set together', {
      hint: 'set both paths for mutual TLS, or neither',
    });
  }
  const host = vars.COFFER_HOST ?? hostname();
  const root = projectRoot();
  const codecKeyFile = vars.COFFER_CODEC_KEY_FILE ?? resolve(root, '.data', 'codec.key');
  return {
    address: vars.TEMPORAL_ADDRESS,
    namespace: vars.TEMPORAL_NAMESPACE,
    tls: tlsWanted
      ? {
          clientCertPath: vars.TEMPORAL_TLS_CLIENT_CERT_PATH,
          clientKeyPath: vars.TEMPORAL_TLS_CLIENT_KEY_PATH,
          serverCaCertPath: vars.TEMPORAL_TLS_SERVER_CA_CERT_PATH,
          serverName: vars.TEMPORAL_TLS_SERVER_NAME,
        }
      : undefined,
    apiKey: vars.TEMPORAL_API_KEY,
    taskQueue: vars.COFFER_TASK_QUEUE,
    host,
    hostTaskQueue: vars.COFFER_HOST_TASK_QUEUE ?? hostTaskQueue(host, vars.COFFER_TASK_QUEUE),
    codecKeyFile: resolve(codecKeyFile),
    // Only the default dev key file is created on demand; an explicitly configured key file must exist.
    codecKeyCreate: vars.COFFER_CODEC_KEY_CREATE ?? vars.COFFER_CODEC_KEY_FILE === undefined,
  };
}

export function loadWorkerConfig(env: Environment = environmentWithStack()): WorkerConfig {
  const temporal = loadTemporalConfig(env);
  const vars = parse(workerSchema, env);
  let metricsBindAddress: string | undefined = vars.COFFER_METRICS_BIND ?? '127.0.0.1:9464';
  if (metricsBindAddress === 'off') metricsBindAddress = undefined;
  else if (!hostPort.safeParse(metricsBindAddress).success) {
    throw new ConfigInvalid('invalid configuration (COFFER_METRICS_BIND: expected host:port or off)', {
      hint: 'e.g. COFFER_METRICS_BIND=127.0.0.1:9464',
    });
  }
  const storageEnv: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) {
    if (value !== undefined) storageEnv[key] = value;
  }
  return {
    ...temporal,
    metricsBindAddress,
    secrets: {
      password: vars.COFFER_PASSWORD,
      passwordFile: vars.COFFER_PASSWORD_FILE,
      repositorySecretsFile: vars.COFFER_REPOSITORY_SECRETS_FILE,
    },
    scratchDir: resolve(vars.COFFER_SCRATCH_DIR ?? resolve(tmpdir(), 'coffer-scratch')),
    storageEnv,
    engine: {
      ...(vars.COFFER_ENGINE_BATCH_FILES === undefined ? {} : { batchFiles: vars.COFFER_ENGINE_BATCH_FILES }),
      ...(vars.COFFER_ENGINE_BATCH_BYTES === undefined ? {} : { batchBytes: vars.COFFER_ENGINE_BATCH_BYTES }),
    },
    hostActivitySlots: vars.COFFER_HOST_ACTIVITY_SLOTS,
    ...catalogConfig(vars.COFFER_MONGODB_URL, vars.COFFER_CATALOG, vars.COFFER_CATALOG_DB),
    notify: notifyConfig(vars.COFFER_NOTIFY_WEBHOOKS, vars.COFFER_CONFIG, vars.COFFER_PROFILE),
    commands: commandPolicy(vars.COFFER_ALLOW_COMMANDS, env),
  };
}

/** The allowlist of command sources and hooks, and their environment: the worker's, without credentials. */
export function commandPolicy(allowText: string | undefined, env: Environment): CommandPolicy {
  const allow = parseAllowList(allowText);
  for (const entry of allow) {
    const problem = allowEntryProblem(entry);
    if (problem !== undefined) {
      throw new ConfigInvalid(`invalid configuration (${ALLOW_COMMANDS_SETTING}: ${problem})`, { hint: 'a comma-separated list of absolute program paths or bare program names, e.g. /usr/bin/pg_dump,mongodump' });
    }
  }
  return { allow, env: commandEnv(env) };
}

function catalogConfig(url: string | undefined, switchValue: string | undefined, dbName: string | undefined): { catalog?: CatalogConfig } {
  if (switchValue !== undefined && !['on', 'off'].includes(switchValue.toLowerCase())) {
    throw new ConfigInvalid('invalid configuration (COFFER_CATALOG: expected on or off)', { hint: 'unset it to use COFFER_MONGODB_URL when set' });
  }
  if (url === undefined || switchValue?.toLowerCase() === 'off') {
    if (switchValue?.toLowerCase() === 'on') throw new ConfigInvalid('COFFER_CATALOG=on needs COFFER_MONGODB_URL', { hint: 'e.g. COFFER_MONGODB_URL=mongodb://127.0.0.1:27017/coffer' });
    return {};
  }
  // The URL itself is not echoed: it may carry a password.
  if (!/^mongodb(\+srv)?:\/\//.test(url)) throw new ConfigInvalid('invalid configuration (COFFER_MONGODB_URL: expected a mongodb:// or mongodb+srv:// URL)', { hint: 'e.g. mongodb://127.0.0.1:27017/coffer' });
  return { catalog: { url, ...(dbName === undefined ? {} : { dbName }) } };
}

function notifyConfig(webhooks: string | undefined, configFile: string | undefined, profile: string | undefined): NotifyConfig {
  const webhookUrls = (webhooks ?? '').split(',').map((u) => u.trim()).filter((u) => u !== '');
  for (const [index, url] of webhookUrls.entries()) {
    if (!/^https?:\/\/[^\s]+$/.test(url)) {
      throw new ConfigInvalid(`invalid configuration (COFFER_NOTIFY_WEBHOOKS: entry ${index + 1} is not an http:// or https:// URL)`, { hint: 'a comma-separated list of webhook URLs' });
    }
  }
  return { webhookUrls, ...(configFile === undefined ? {} : { configFile: resolve(configFile) }), ...(profile === undefined ? {} : { profile }) };
}
