/**
 * `coffer schedule create|apply|list|describe|pause|unpause|trigger|delete`:
 * Temporal Schedules that start Coffer jobs (backup, retention, verify,
 * drill) on a cron expression or an interval, skipping a run while the
 * previous one is still going (overlap SKIP), and catching up missed runs
 * only within a window.
 *
 * `apply --config coffer.yaml [--profile p]` creates or updates the
 * schedules of a config profile: a backup schedule becomes one Temporal
 * Schedule per source (`<prefix>/<schedule>/<source>`, each its own
 * snapshot) whose workflow input comes from the same mapping as `coffer
 * backup --config` (clients/profile-sources.ts); retention, verify and drill
 * schedules one each (`<prefix>/<schedule>`). The prefix defaults to the
 * profile's name. Re-applying updates them in place; `--prune` deletes the
 * prefix's schedules the profile no longer has.
 *
 * `apply <file>` creates or updates every schedule of a YAML/JSON file:
 *
 *   schedules:
 *     - id: nightly-home
 *       job: backup
 *       cron: "0 3 * * *"        # or: every: 24h
 *       catchupWindow: 1h
 *       input: { repo: /srv/repo, paths: [/home] }
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Client, ScheduleDescription, ScheduleOptions } from '@temporalio/client';
import { ScheduleNotFoundError, ScheduleOverlapPolicy } from '@temporalio/client';
import type { Duration } from '@temporalio/common';
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { parse as parseYaml } from 'yaml';
import { loadConfig, selectProfile } from '../../activities/config/profile';
import type { CofferConfig, ProfileConfig } from '../../activities/config/profile';
import { InvalidInput } from '../../activities/errors';
import { repositoryTag } from '../../workflows/ids';
import { signScheduleAction } from '../access';
import type { CliContext } from '../context';
import { requirePollers } from '../connection';
import { profileScheduleJobs, proveProfileRepository } from '../profile-sources';
import { addPolicyOptions, policyFrom } from './retention';
import type { RetentionFlags } from './retention';
import { collect, durationSeconds } from './common';
import type { ContextFactory } from './common';

export const SCHEDULED_JOBS = {
  backup: 'backupWorkflow',
  retention: 'retentionWorkflow',
  verify: 'verifyWorkflow',
  drill: 'drDrillWorkflow',
} as const;
type Job = keyof typeof SCHEDULED_JOBS;

export interface ScheduleDefinition {
  readonly id: string;
  readonly job: Job;
  readonly every?: string;
  readonly cron?: string;
  readonly catchupWindow?: string;
  readonly paused?: boolean;
  readonly note?: string;
  /** The workflow input; `host`/`hostQueue` default to this machine's for backup and drill. */
  readonly input: Record<string, unknown> & { readonly repo: string };
}

function isJob(value: unknown): value is Job {
  return typeof value === 'string' && value in SCHEDULED_JOBS;
}

function asDuration(seconds: number): Duration {
  return `${seconds}s` as Duration;
}

/** Validates a definition and fills in this host's defaults. */
export function completeDefinition(def: ScheduleDefinition, ctx: CliContext): ScheduleDefinition {
  if (typeof def.id !== 'string' || !/^[A-Za-z0-9._@/-]{1,200}$/.test(def.id)) throw new InvalidInput(`schedule id '${String(def.id)}' must be letters, digits and . _ @ / -`);
  if (!isJob(def.job)) throw new InvalidInput(`schedule ${def.id}: job must be one of ${Object.keys(SCHEDULED_JOBS).join(', ')}`);
  if ((def.every === undefined) === (def.cron === undefined)) throw new InvalidInput(`schedule ${def.id}: give exactly one of every or cron`);
  if (def.every !== undefined) durationSeconds(def.every);
  if (def.catchupWindow !== undefined) durationSeconds(def.catchupWindow);
  if (typeof def.input !== 'object' || def.input === null || typeof def.input.repo !== 'string') throw new InvalidInput(`schedule ${def.id}: input.repo is required`);
  const input: Record<string, unknown> & { repo: string } = { ...def.input, repo: ctx.repoUrl(def.input.repo) };
  if (def.job === 'backup' || def.job === 'drill') {
    input.host ??= ctx.config.host;
    input.hostQueue ??= input.host === ctx.config.host ? ctx.config.hostTaskQueue : undefined;
    if (input.hostQueue === undefined) delete input.hostQueue;
  }
  if (def.job === 'backup') {
    if (!Array.isArray(input.paths) || input.paths.length === 0) throw new InvalidInput(`schedule ${def.id}: a backup needs input.paths`);
    input.paths = (input.paths as unknown[]).map((p) => resolve(String(p)));
  }
  if (def.job === 'retention' && (typeof input.policy !== 'object' || input.policy === null)) throw new InvalidInput(`schedule ${def.id}: retention needs input.policy`);
  return { ...def, input };
}

/** A schedule ready to send: from flags, a schedules file or a config profile. */
export interface PlannedSchedule {
  readonly id: string;
  readonly job: Job;
  readonly cron?: string;
  readonly everySeconds?: number;
  readonly catchupWindowSeconds: number;
  readonly jitterSeconds?: number;
  readonly overlap: ScheduleOverlapPolicy;
  readonly paused: boolean;
  readonly note?: string;
  /** The workflow input (a repository URL and ids, never a secret). */
  readonly input: object & { readonly repo: string };
  /** The profile source a backup schedule backs up. */
  readonly source?: string;
}

function planned(def: ScheduleDefinition): PlannedSchedule {
  return {
    id: def.id,
    job: def.job,
    ...(def.cron === undefined ? {} : { cron: def.cron }),
    ...(def.every === undefined ? {} : { everySeconds: durationSeconds(def.every) }),
    catchupWindowSeconds: durationSeconds(def.catchupWindow ?? '1h'),
    overlap: ScheduleOverlapPolicy.SKIP,
    paused: def.paused === true,
    ...(def.note === undefined ? {} : { note: def.note }),
    input: def.input,
  };
}

const OVERLAP = { skip: ScheduleOverlapPolicy.SKIP, 'buffer-one': ScheduleOverlapPolicy.BUFFER_ONE, 'allow-all': ScheduleOverlapPolicy.ALLOW_ALL } as const;
const ID_PREFIX = /^[A-Za-z0-9._@-][A-Za-z0-9._@/-]{0,120}$/;

/** Every Temporal Schedule a profile's schedules make, with ids `<prefix>/<schedule>[/<source>]`. */
export function plannedFromProfile(config: CofferConfig, profile: ProfileConfig, prefix: string, here: { host: string; hostQueue: string }): PlannedSchedule[] {
  if (!ID_PREFIX.test(prefix)) throw new InvalidInput(`schedule id prefix '${prefix}' must be letters, digits and . _ @ / - (max 121)`);
  const out: PlannedSchedule[] = [];
  for (const schedule of Object.values(profile.schedules)) {
    const note = `from ${config.file}, profile ${profile.name}, schedule ${schedule.name}`;
    for (const job of profileScheduleJobs(config, profile, schedule, here)) {
      out.push({
        id: job.action === 'backup' ? `${prefix}/${schedule.name}/${job.source}` : `${prefix}/${schedule.name}`,
        job: job.action,
        ...(schedule.cron === undefined ? {} : { cron: schedule.cron }),
        ...(schedule.everySeconds === undefined ? {} : { everySeconds: schedule.everySeconds }),
        catchupWindowSeconds: schedule.catchupWindowSeconds,
        ...(schedule.jitterSeconds === undefined ? {} : { jitterSeconds: schedule.jitterSeconds }),
        overlap: OVERLAP[schedule.overlap],
        paused: schedule.paused,
        note,
        input: job.input,
        ...(job.action === 'backup' ? { source: job.source } : {}),
      });
    }
  }
  if (out.length === 0) throw new InvalidInput(`profile '${profile.name}' in ${config.file} has no schedules`, { hint: 'add a schedules: section to the profile (docs/configuration.md)' });
  return out;
}

function scheduleOptions(plan: PlannedSchedule, ctx: CliContext): ScheduleOptions {
  const host = 'host' in plan.input && typeof plan.input.host === 'string' ? plan.input.host : undefined;
  return {
    scheduleId: plan.id,
    spec: {
      ...(plan.cron !== undefined ? { cronExpressions: [plan.cron] } : { intervals: [{ every: asDuration(plan.everySeconds ?? 0) }] }),
      ...(plan.jitterSeconds === undefined ? {} : { jitter: asDuration(plan.jitterSeconds) }),
    },
    action: {
      type: 'startWorkflow' as const,
      workflowType: SCHEDULED_JOBS[plan.job],
      taskQueue: ctx.config.taskQueue,
      // Temporal appends the scheduled time to this id, so runs stay unique business ids.
      workflowId: `${plan.job}/${repositoryTag(plan.input.repo)}/${host === undefined ? '' : `${host}/`}schedule-${plan.id}`,
      args: [plan.input],
    },
    policies: { overlap: plan.overlap, catchupWindow: asDuration(plan.catchupWindowSeconds) },
    state: { paused: plan.paused, ...(plan.note === undefined ? {} : { note: plan.note }) },
  };
}

async function createOrUpdate(client: Client, plan: PlannedSchedule, ctx: CliContext): Promise<'created' | 'updated'> {
  const unsigned = scheduleOptions(plan, ctx);
  const handle = client.schedule.getHandle(plan.id);
  let previous: ScheduleDescription | undefined;
  try {
    previous = await handle.describe();
  } catch (err) {
    if (!(err instanceof ScheduleNotFoundError)) throw err;
  }
  // Access control: the caller's grant is checked and a schedule credential signed into the action (docs/access.md).
  const options = { ...unsigned, action: await signScheduleAction(ctx.env, plan.id, unsigned.action, previous?.action) };
  if (previous === undefined) {
    await client.schedule.create(options);
    return 'created';
  }
  // The whole spec, action and policies are replaced (a changed cron or input takes effect); run history stays.
  await handle.update((previous) => ({ ...previous, spec: options.spec, action: options.action, policies: { ...previous.policies, ...options.policies }, state: { ...previous.state, ...options.state } }));
  return 'updated';
}

interface CreateFlags extends RetentionFlags {
  job: string;
  repo: string;
  every?: string;
  cron?: string;
  catchup?: string;
  path?: string[];
  tag?: string[];
  readData?: boolean;
  paused?: boolean;
  note?: string;
}

function inputFromFlags(flags: CreateFlags): Record<string, unknown> & { repo: string } {
  switch (flags.job) {
    case 'backup':
      return { repo: flags.repo, paths: flags.path ?? [], ...(flags.tag === undefined ? {} : { tags: flags.tag }) };
    case 'retention':
      return { repo: flags.repo, policy: policyFrom(flags) };
    case 'verify':
      return { repo: flags.repo, level: flags.readData === true ? 'read-data' : 'structure' };
    case 'drill':
      return { repo: flags.repo };
    default:
      throw new InvalidArgumentError(`unknown job '${flags.job}'`);
  }
}

async function loadDefinitions(file: string): Promise<ScheduleDefinition[]> {
  let parsed: unknown;
  try {
    parsed = parseYaml(await readFile(file, 'utf8'));
  } catch (err) {
    throw new InvalidInput(`cannot read schedules file ${file}`, { cause: err, hint: 'give a YAML or JSON file with a `schedules:` list' });
  }
  const list = (parsed as { schedules?: unknown } | null)?.schedules;
  if (!Array.isArray(list)) throw new InvalidInput(`schedules file ${file} has no 'schedules' list`);
  return list as ScheduleDefinition[];
}

interface ApplyFlags {
  config?: string;
  profile?: string;
  prefix?: string;
  prune?: boolean;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value;
}

interface ApplyResult {
  scheduleId: string;
  outcome: 'created' | 'updated' | 'deleted' | 'stale';
  job?: Job;
  source?: string;
}

/** `apply --config`: the profile's schedules, created or updated; stale ones under the prefix reported or (--prune) deleted. */
async function applyProfile(ctx: CliContext, configFile: string, flags: ApplyFlags): Promise<void> {
  const config = await loadConfig(configFile);
  const profile = selectProfile(config, flags.profile ?? nonEmpty(ctx.env.COFFER_PROFILE));
  const prefix = flags.prefix ?? profile.name;
  const plans = plannedFromProfile(config, profile, prefix, { host: ctx.config.host, hostQueue: ctx.config.hostTaskQueue });
  for (const repo of new Set(plans.map((p) => p.input.repo))) await proveProfileRepository(config, profile, repo, ctx.env, async () => ctx.password());
  const client = await ctx.client();
  const results: ApplyResult[] = [];
  for (const plan of plans) {
    results.push({ scheduleId: plan.id, outcome: await createOrUpdate(client, plan, ctx), job: plan.job, ...(plan.source === undefined ? {} : { source: plan.source }) });
  }
  // Schedules this prefix made earlier for schedules or sources since removed from the profile.
  const wanted = new Set(plans.map((p) => p.id));
  for await (const listed of client.schedule.list()) {
    if (!listed.scheduleId.startsWith(`${prefix}/`) || wanted.has(listed.scheduleId)) continue;
    if (flags.prune !== true) {
      results.push({ scheduleId: listed.scheduleId, outcome: 'stale' });
      continue;
    }
    try {
      await client.schedule.getHandle(listed.scheduleId).delete();
    } catch (err) {
      // The listing lags deletions: one already gone is what we wanted.
      if (!(err instanceof ScheduleNotFoundError)) throw err;
    }
    results.push({ scheduleId: listed.scheduleId, outcome: 'deleted' });
  }
  ctx.print(results, () =>
    results
      .map((r) =>
        r.outcome === 'stale'
          ? `schedule ${r.scheduleId} is not in profile ${profile.name} any more (left alone; --prune deletes it)`
          : `schedule ${r.scheduleId} ${r.outcome}${r.job === undefined ? '' : `: ${r.job}${r.source === undefined ? '' : ` of source ${r.source}`}`}`,
      )
      .join('\n'),
  );
}

interface CalendarRange {
  readonly start: number | string;
  readonly end: number | string;
  readonly step?: number;
}
type Calendar = Readonly<Record<'minute' | 'hour' | 'dayOfMonth' | 'month' | 'dayOfWeek', readonly CalendarRange[] | undefined>>;

/** One cron field from Temporal's structured calendar (cron expressions come back in that form). */
function cronField(ranges: readonly CalendarRange[] | undefined, whole: readonly [number | string, number | string]): string {
  if (ranges === undefined || ranges.length === 0) return '*';
  const name = (v: number | string): string => (typeof v === 'string' ? v.slice(0, 3).toLowerCase() : String(v));
  return ranges
    .map((r) => {
      const step = r.step ?? 1;
      if (r.start === whole[0] && r.end === whole[1] && step === 1) return '*';
      const base = r.start === r.end ? name(r.start) : `${name(r.start)}-${name(r.end)}`;
      return step > 1 ? `${base}/${step}` : base;
    })
    .join(',');
}

function calendarText(c: Calendar): string {
  return [
    cronField(c.minute, [0, 59]),
    cronField(c.hour, [0, 23]),
    cronField(c.dayOfMonth, [1, 31]),
    cronField(c.month, ['JANUARY', 'DECEMBER']),
    cronField(c.dayOfWeek, ['SUNDAY', 'SATURDAY']),
  ].join(' ');
}

function specText(spec: { cronExpressions?: string[]; intervals?: { every: number | Duration }[]; calendars?: readonly unknown[] } | undefined): string {
  if (spec === undefined) return '-';
  const parts = [
    ...(spec.cronExpressions ?? []).map((c) => `cron '${c}'`),
    ...(spec.calendars ?? []).map((c) => `cron '${calendarText(c as Calendar)}'`),
    ...(spec.intervals ?? []).map((i) => `every ${typeof i.every === 'number' ? `${i.every / 1000}s` : i.every}`),
  ];
  return parts.join(', ') || '-';
}

export function registerSchedule(program: Command, makeContext: ContextFactory): void {
  const schedule = program.command('schedule').description('Temporal Schedules for backups, retention, verification and drills');

  addPolicyOptions(
    schedule
      .command('create')
      .description('create (or update) a schedule from flags')
      .argument('<id>', 'schedule id')
      .requiredOption('--job <job>', 'backup, retention, verify or drill')
      .requiredOption('-r, --repo <url>', 'repository URL')
      .option('--every <duration>', 'interval, e.g. 1h, 1d')
      .option('--cron <expr>', "cron expression, e.g. '0 3 * * *'")
      .option('--catchup <duration>', 'run missed actions only within this window (default 1h)')
      .option('--path <path>', 'backup: a path to back up (repeatable)', collect)
      .option('--tag <tag>', 'backup: tag the snapshots (repeatable)', collect)
      .option('--read-data', 'verify: read every pack')
      .option('--paused', 'create it paused')
      .option('--note <text>', 'note shown with the schedule'),
  ).action(async (id: string, flags: CreateFlags, command: Command) => {
    const ctx = makeContext(command);
    const def = completeDefinition(
      {
        id,
        job: flags.job as Job,
        ...(flags.every === undefined ? {} : { every: flags.every }),
        ...(flags.cron === undefined ? {} : { cron: flags.cron }),
        ...(flags.catchup === undefined ? {} : { catchupWindow: flags.catchup }),
        ...(flags.paused === true ? { paused: true } : {}),
        ...(flags.note === undefined ? {} : { note: flags.note }),
        input: inputFromFlags(flags),
      },
      ctx,
    );
    await ctx.proveRepository(def.input.repo);
    const client = await ctx.client();
    await requirePollers(client, ctx.config.taskQueue, 'workflow');
    const outcome = await createOrUpdate(client, planned(def), ctx);
    ctx.print({ scheduleId: id, outcome }, () => `schedule ${id} ${outcome}: ${def.job} ${def.cron !== undefined ? `cron '${def.cron}'` : `every ${def.every}`}, overlap skip`);
  });

  schedule
    .command('apply')
    .description("create or update every schedule of a YAML/JSON schedules file, or of a config profile (--config)")
    .argument('[file]', 'schedules file (a `schedules:` list); omit with --config')
    .option('-c, --config <file>', 'config file whose profile\'s schedules to apply (default: $COFFER_CONFIG)')
    .option('-p, --profile <name>', 'profile of the config file (default: $COFFER_PROFILE, defaultProfile or the only one)')
    .option('--prefix <text>', 'schedule ids are <prefix>/<schedule>[/<source>] (default: the profile name)')
    .option('--prune', "delete schedules under the prefix that the profile no longer has")
    .action(async (file: string | undefined, flags: ApplyFlags, command: Command) => {
      const ctx = makeContext(command);
      const configFile = flags.config ?? (file === undefined ? nonEmpty(ctx.env.COFFER_CONFIG) : undefined);
      if (file !== undefined && flags.config !== undefined) throw new InvalidInput('give a schedules file or --config <file>, not both');
      if (file === undefined && configFile === undefined) throw new InvalidInput('nothing to apply', { hint: 'give a schedules file, or --config <file> [--profile p] to apply a profile\'s schedules' });
      if (configFile !== undefined) {
        await applyProfile(ctx, configFile, flags);
        return;
      }
      const path = file as string;
      const defs = (await loadDefinitions(path)).map((d) => completeDefinition(d, ctx));
      const seen = new Set<string>();
      for (const def of defs) {
        if (seen.has(def.id)) throw new InvalidInput(`schedule id ${def.id} appears twice in ${path}`);
        seen.add(def.id);
      }
      for (const repo of new Set(defs.map((d) => d.input.repo))) await ctx.proveRepository(repo);
      const client = await ctx.client();
      const results: { scheduleId: string; outcome: string }[] = [];
      for (const def of defs) results.push({ scheduleId: def.id, outcome: await createOrUpdate(client, planned(def), ctx) });
      ctx.print(results, () => results.map((r) => `schedule ${r.scheduleId} ${r.outcome}`).join('\n'));
    });

  schedule
    .command('list')
    .description('list schedules')
    .action(async (_flags: unknown, command: Command) => {
      const ctx = makeContext(command);
      const client = await ctx.client();
      const rows: { scheduleId: string; workflowType?: string; spec: string; paused: boolean; next?: string }[] = [];
      for await (const s of client.schedule.list()) {
        rows.push({
          scheduleId: s.scheduleId,
          ...(s.action === undefined ? {} : { workflowType: s.action.workflowType }),
          spec: specText(s.spec),
          paused: s.state.paused,
          ...(s.info.nextActionTimes[0] === undefined ? {} : { next: s.info.nextActionTimes[0].toISOString() }),
        });
      }
      ctx.print(rows, () =>
        rows.length === 0
          ? 'no schedules'
          : rows.map((r) => `${r.scheduleId}  ${r.workflowType ?? '?'}  ${r.spec}  ${r.paused ? 'PAUSED' : `next ${r.next ?? '-'}`}`).join('\n'),
      );
    });

  schedule
    .command('describe')
    .description('show one schedule')
    .argument('<id>', 'schedule id')
    .action(async (id: string, _flags: unknown, command: Command) => {
      const ctx = makeContext(command);
      const d = await (await ctx.client()).schedule.getHandle(id).describe();
      const summary = {
        scheduleId: d.scheduleId,
        workflowType: d.action.workflowType,
        spec: specText(d.spec),
        overlap: d.policies.overlap,
        catchupWindowSeconds: d.policies.catchupWindow / 1000,
        paused: d.state.paused,
        note: d.state.note,
        nextActionTimes: d.info.nextActionTimes.map((t) => t.toISOString()),
        recentActions: d.info.recentActions.map((a) => ({ scheduledAt: a.scheduledAt.toISOString(), workflowId: a.action.workflow.workflowId })),
        input: (d.action.args ?? [])[0] as unknown,
      };
      ctx.print(summary, () => JSON.stringify(summary, null, 2));
    });

  for (const [name, description] of [
    ['pause', 'pause a schedule'],
    ['unpause', 'resume a paused schedule'],
    ['trigger', 'run the scheduled job now'],
    ['delete', 'delete a schedule (running jobs continue)'],
  ] as const) {
    schedule
      .command(name)
      .description(description)
      .argument('<id>', 'schedule id')
      .option('--note <text>', 'note (pause/unpause)')
      .action(async (id: string, flags: { note?: string }, command: Command) => {
        const ctx = makeContext(command);
        const handle = (await ctx.client()).schedule.getHandle(id);
        if (name === 'pause') await handle.pause(flags.note);
        else if (name === 'unpause') await handle.unpause(flags.note);
        else if (name === 'trigger') await handle.trigger();
        else await handle.delete();
        ctx.print({ scheduleId: id, done: name }, () => `schedule ${id}: ${name} done`);
      });
  }
}
