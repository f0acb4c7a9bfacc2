/**
 * The config file's schema (zod). Every message is written for the person
 * editing the file; the loader prefixes it with `file:line: field.path:`.
 * Cross-field rules (exactly one of cron/every, schedules naming known
 * sources, …) are refinements here so they get a line number too.
 */
import { isAbsolute } from 'node:path';
import { z } from 'zod';
import { parseRepositoryUrl } from '../storage/url';
import { parseDuration } from '../../workflows/retention-policy';
import { cronProblem, parseInterval } from './profile-schedule';
import { ENV_NAME } from './profile-secrets';
import type { SecretRef } from './profile-secrets';

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

const count = z
  .number({ error: 'expected a whole number ≥ 0' })
  .int({ error: 'expected a whole number ≥ 0' })
  .min(0, { error: 'expected a whole number ≥ 0' });
const positiveInt = z
  .number({ error: 'expected a whole number > 0' })
  .int({ error: 'expected a whole number > 0' })
  .min(1, { error: 'expected a whole number > 0' });
const positiveSeconds = z.number({ error: 'expected a number of seconds > 0' }).positive({ error: 'expected a number of seconds > 0' });
const share = z.number({ error: 'expected a share between 0 and 1 (e.g. 0.3)' }).min(0, { error: 'expected a share between 0 and 1 (e.g. 0.3)' }).max(1, { error: 'expected a share between 0 and 1 (e.g. 0.3)' });
const text = z.string({ error: 'expected a non-empty string' }).min(1, { error: 'expected a non-empty string' });
const port = z.number({ error: 'expected a port number 1-65535' }).int({ error: 'expected a port number 1-65535' }).min(1, { error: 'expected a port number 1-65535' }).max(65_535, { error: 'expected a port number 1-65535' });
const absolutePath = text.refine((p) => isAbsolute(p), { error: 'expected an absolute path (starting with /)' });
const envName = z.string({ error: 'expected an environment variable name' }).regex(ENV_NAME, { error: 'expected an environment variable name (letters, digits, _)' });
const stringList = z.array(text, { error: 'expected a list of strings' });
const argv = z.array(text, { error: 'expected a command as a list, e.g. ["pg_dump", "mydb"]' }).min(1, { error: 'expected a command as a list, e.g. ["pg_dump", "mydb"]' });
const interval = text.refine((t) => (parseInterval(t) ?? 0) > 0, { error: 'expected an interval like 90s, 15m, 6h, 1d or 1h30m' });

/** `{ env: NAME }` or `{ file: path }`: exactly one. */
export const secretRefSchema = z
  .strictObject({ env: envName.optional(), file: text.optional() }, { error: 'expected a secret reference: { env: VARIABLE } or { file: /path/to/file }' })
  .superRefine((ref, ctx) => {
    if ((ref.env === undefined) === (ref.file === undefined)) ctx.addIssue({ code: 'custom', message: 'a secret reference needs exactly one of env or file' });
  })
  .transform((ref): SecretRef => (ref.env !== undefined ? { env: ref.env } : { file: ref.file ?? '' }));

const backendOptionsSchema = z.strictObject({
  s3: z
    .strictObject({
      endpoint: text.optional(),
      region: text.optional(),
      forcePathStyle: z.boolean().optional(),
      pageSize: positiveInt.optional(),
      multipartThreshold: positiveInt.optional(),
      lockMode: z.enum(['COMPLIANCE', 'GOVERNANCE']).optional(),
      conditionalWrites: z.boolean().optional(),
    })
    .optional(),
  gcs: z.strictObject({ endpoint: text.optional(), projectId: text.optional(), keyFile: text.optional(), pageSize: positiveInt.optional() }).optional(),
  azure: z.strictObject({ endpoint: text.optional(), pageSize: positiveInt.optional() }).optional(),
  sftp: z
    .strictObject({ keyFile: text.optional(), knownHostsFile: text.optional(), fingerprint: text.optional(), readyTimeoutMs: positiveInt.optional() })
    .optional(),
  retry: z
    .union([z.literal(false), z.strictObject({ maxAttempts: positiveInt.optional(), baseDelayMs: positiveInt.optional(), maxDelayMs: positiveInt.optional() })], {
      error: 'expected false or { maxAttempts, baseDelayMs, maxDelayMs }',
    })
    .optional(),
  bandwidth: z.strictObject({ upBytesPerSecond: count.optional(), downBytesPerSecond: count.optional(), burstSeconds: positiveSeconds.optional() }).optional(),
  timeouts: z
    .strictObject({
      connectTimeoutMs: positiveInt.optional(),
      idleTimeoutMs: positiveInt.optional(),
      deadLinkCooldownMs: count.optional(),
      keepaliveIntervalMs: positiveInt.optional(),
      keepaliveCountMax: positiveInt.optional(),
    })
    .optional(),
});

const repositorySchema = z
  .strictObject({
    url: text.superRefine((url, ctx) => {
      try {
        parseRepositoryUrl(url);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: err instanceof Error ? err.message : 'invalid repository URL' });
      }
    }),
    passwordFile: text.optional(),
    passwordEnv: envName.optional(),
    options: backendOptionsSchema.optional(),
    /** Environment variables the backend reads (AWS_SECRET_ACCESS_KEY, AZURE_STORAGE_KEY, …), each a reference. */
    credentials: z.record(envName, secretRefSchema).optional(),
  })
  .superRefine((repo, ctx) => {
    if (repo.passwordFile !== undefined && repo.passwordEnv !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['passwordEnv'], message: 'give passwordFile or passwordEnv, not both' });
    }
  });

const hooksSchema = z.strictObject({
  pre: z.array(argv, { error: 'expected a list of commands, e.g. [["systemctl", "stop", "app"]]' }).optional(),
  post: z.array(argv, { error: 'expected a list of commands, e.g. [["systemctl", "start", "app"]]' }).optional(),
  /** Per hook command. */
  timeoutSeconds: positiveSeconds.default(300),
  /** Run `post` hooks even when the backup failed (default true: restart what `pre` stopped). */
  postOnFailure: z.boolean().default(true),
});

const FILE_NAME = /^(?!\.\.?$)[^/\0]{1,255}$/;

const sourceSchema = z
  .strictObject({
    paths: z.array(absolutePath, { error: 'expected a list of absolute paths' }).min(1, { error: 'expected at least one path' }).optional(),
    command: argv.optional(),
    filename: z.string().regex(FILE_NAME, { error: 'expected a plain file name (no /), e.g. mydb.sql' }).optional(),
    workdir: absolutePath.optional(),
    excludes: stringList.optional(),
    tags: stringList.optional(),
    host: text.optional(),
    hostQueue: text.optional(),
    canaries: z
      .array(text.refine((p) => !isAbsolute(p) && !p.split('/').some((s) => s === '..' || s === ''), { error: 'expected a path relative to a source path, without ..' }))
      .optional(),
    hooks: hooksSchema.optional(),
  })
  .superRefine((source, ctx) => {
    if ((source.paths === undefined) === (source.command === undefined)) {
      ctx.addIssue({ code: 'custom', message: 'a source needs exactly one of paths (files) or command (its standard output)' });
      return;
    }
    if (source.command === undefined) {
      for (const field of ['filename', 'workdir'] as const) {
        if (source[field] !== undefined) ctx.addIssue({ code: 'custom', path: [field], message: `${field} is only for command sources` });
      }
    } else {
      for (const field of ['excludes', 'canaries'] as const) {
        if (source[field] !== undefined) ctx.addIssue({ code: 'custom', path: [field], message: `${field} is only for path sources` });
      }
    }
  });

const SCHEDULE_ACTIONS = ['backup', 'retention', 'drill', 'verify'] as const;

const scheduleSchema = z
  .strictObject({
    action: z.enum(SCHEDULE_ACTIONS, { error: `expected one of ${SCHEDULE_ACTIONS.join(', ')}` }),
    cron: text.superRefine((c, ctx) => {
      const problem = cronProblem(c);
      if (problem !== undefined) ctx.addIssue({ code: 'custom', message: `invalid cron expression: ${problem}` });
    }).optional(),
    every: interval.optional(),
    /** For backup schedules: which sources (default: all of the profile's). */
    sources: z.array(text).min(1).optional(),
    paused: z.boolean().default(false),
    overlap: z.enum(['skip', 'buffer-one', 'allow-all'], { error: 'expected skip, buffer-one or allow-all' }).default('skip'),
    catchupWindow: interval.default('1h'),
    jitter: interval.optional(),
    /** For verify schedules: read and check pack contents too. */
    readData: z.boolean().optional(),
  })
  .superRefine((s, ctx) => {
    if ((s.cron === undefined) === (s.every === undefined)) ctx.addIssue({ code: 'custom', message: 'a schedule needs exactly one of cron or every' });
    if (s.sources !== undefined && s.action !== 'backup') ctx.addIssue({ code: 'custom', path: ['sources'], message: 'sources is only for backup schedules' });
    if (s.readData !== undefined && s.action !== 'verify') ctx.addIssue({ code: 'custom', path: ['readData'], message: 'readData is only for verify schedules' });
  })
  .transform((s) => ({
    ...s,
    ...(s.every === undefined ? {} : { everySeconds: parseInterval(s.every) ?? 0 }),
    catchupWindowSeconds: parseInterval(s.catchupWindow) ?? 0,
    ...(s.jitter === undefined ? {} : { jitterSeconds: parseInterval(s.jitter) ?? 0 }),
  }));

const retentionSchema = z
  .strictObject({
    keepLast: count.optional(),
    keepHourly: count.optional(),
    keepDaily: count.optional(),
    keepWeekly: count.optional(),
    keepMonthly: count.optional(),
    keepYearly: count.optional(),
    keepWithin: text
      .refine(
        (d) => {
          try {
            parseDuration(d);
            return true;
          } catch {
            return false;
          }
        },
        { error: 'expected a duration like 30d, 2w, 1y6m or 12h (y, m = months, w, d, h)' },
      )
      .optional(),
    keepTags: stringList.optional(),
    groupBy: z.array(z.enum(['host', 'paths', 'tags'], { error: 'expected host, paths or tags' })).min(1).optional(),
    /** How long pruned data stays before it is deleted (a concurrent backup may still reference it). */
    pruneGrace: interval.optional(),
  })
  .superRefine((policy, ctx) => {
    // Only the whole-policy rule here: field problems are reported on their own lines by the field schemas.
    const counts = [policy.keepLast, policy.keepHourly, policy.keepDaily, policy.keepWeekly, policy.keepMonthly, policy.keepYearly];
    if (counts.some((n) => n !== undefined && !(Number.isInteger(n) && n >= 0))) return;
    let withinMs = 0;
    try {
      withinMs = policy.keepWithin === undefined ? 0 : parseDuration(policy.keepWithin);
    } catch {
      return;
    }
    const keepsSomething = counts.some((n) => (n ?? 0) > 0) || withinMs > 0 || (policy.keepTags?.length ?? 0) > 0;
    if (!keepsSomething) ctx.addIssue({ code: 'custom', message: 'the policy keeps nothing: give at least one keep rule (keepLast, keepDaily, keepWithin, …)' });
  });

const drillSchema = z.strictObject({
  rtoSeconds: positiveSeconds,
  rpoSeconds: positiveSeconds,
  /** Where the drill restores (removed afterwards); default: the worker's scratch directory. */
  scratchDir: absolutePath.optional(),
  host: text.optional(),
  hostQueue: text.optional(),
  snapshotHost: text.optional(),
  include: stringList.optional(),
});

const SEVERITIES = ['info', 'warning', 'error'] as const;
const notifyCommon = {
  minSeverity: z.enum(SEVERITIES, { error: 'expected info, warning or error' }).default('warning'),
  /** Only these event kinds (workflow-failed, verify-failed, drill-result, approval-requested, …); default all. */
  kinds: stringList.optional(),
};
const urlText = text.refine((u) => /^https?:\/\//.test(u), { error: 'expected an http:// or https:// URL' });

const notificationSchema = z.discriminatedUnion(
  'type',
  [
    z.strictObject({ type: z.literal('webhook'), url: z.union([urlText, secretRefSchema]), headers: z.record(text, z.union([text, secretRefSchema])).optional(), ...notifyCommon }),
    // A Slack incoming-webhook URL is itself a credential: reference only.
    z.strictObject({ type: z.literal('slack'), url: secretRefSchema, ...notifyCommon }),
    z.strictObject({
      type: z.literal('email'),
      host: text,
      port,
      from: text,
      to: z.array(text).min(1, { error: 'expected at least one recipient' }),
      secure: z.boolean().optional(),
      auth: z.strictObject({ user: text, password: secretRefSchema }).optional(),
      clientName: text.optional(),
      ...notifyCommon,
    }),
    z.strictObject({
      type: z.literal('syslog'),
      host: text,
      port,
      protocol: z.enum(['udp', 'tcp'], { error: 'expected udp or tcp' }).default('udp'),
      facility: z.number().int().min(0).max(23, { error: 'expected a facility number 0-23' }).optional(),
      appName: text.optional(),
      hostname: text.optional(),
      ...notifyCommon,
    }),
  ],
  { error: 'expected a notification target with type: webhook, slack, email or syslog' },
);

const anomalySchema = z.strictObject({
  /** Alert when a backup changes more than this share of files (0–1) compared with the parent. */
  changedFilesShare: share.default(0.5),
  /** … or more than this share of bytes. */
  changedBytesShare: share.default(0.5),
  /** Only alert when the share is also this many times the median of the recent backups. */
  factorOverMedian: z.number().min(1, { error: 'expected a number ≥ 1' }).default(3),
  /** How many recent backups form the baseline. */
  history: positiveInt.default(10),
  /** Fail the backup (not just alert) when the threshold is crossed. */
  failBackup: z.boolean().default(false),
});

function names<T>(value: z.ZodType<T>, what: string) {
  return z.record(z.string().regex(NAME, { error: `${what} names use letters, digits, ., _ and - (max 63)` }), value, { error: `expected a mapping of ${what} names to settings` });
}

const profileSchema = z
  .strictObject({
    description: z.string().optional(),
    repository: repositorySchema,
    sources: names(sourceSchema, 'source').default({}),
    schedules: names(scheduleSchema, 'schedule').default({}),
    retention: retentionSchema.optional(),
    drill: drillSchema.optional(),
    notifications: names(notificationSchema, 'notification').default({}),
    anomaly: anomalySchema.optional(),
  })
  .superRefine((profile, ctx) => {
    for (const [name, schedule] of Object.entries(profile.schedules)) {
      (schedule.sources ?? []).forEach((source, i) => {
        if (!(source in profile.sources)) ctx.addIssue({ code: 'custom', path: ['schedules', name, 'sources', i], message: `no source named '${source}' in this profile` });
      });
      if (schedule.action === 'backup' && Object.keys(profile.sources).length === 0) {
        ctx.addIssue({ code: 'custom', path: ['schedules', name], message: 'a backup schedule needs at least one source in the profile' });
      }
      if (schedule.action === 'retention' && profile.retention === undefined) {
        ctx.addIssue({ code: 'custom', path: ['schedules', name], message: 'a retention schedule needs a retention policy in the profile' });
      }
      if (schedule.action === 'drill' && profile.drill === undefined) {
        ctx.addIssue({ code: 'custom', path: ['schedules', name], message: 'a drill schedule needs drill objectives in the profile' });
      }
    }
  });

export const configSchema = z
  .strictObject(
    {
      version: z.literal(1, { error: 'expected version: 1' }),
      defaultProfile: text.optional(),
      profiles: names(profileSchema, 'profile').refine((p) => Object.keys(p).length > 0, { error: 'expected at least one profile' }),
    },
    { error: 'expected a mapping with version and profiles' },
  )
  .superRefine((config, ctx) => {
    if (config.defaultProfile !== undefined && !(config.defaultProfile in config.profiles)) {
      ctx.addIssue({ code: 'custom', path: ['defaultProfile'], message: `no profile named '${config.defaultProfile}'` });
    }
  });

export type ConfigOutput = z.output<typeof configSchema>;
