/**
 * `coffer status` (alias `system-check`): one line per check, ok / WARN / FAIL
 * with what to do. Checks Temporal, the workers polling the shared and this
 * host's queues, the MongoDB catalog (if configured), and for each --repo:
 * its storage, its keys' ages and the age of the last backup of every
 * host+paths group (read from the repository's snapshots, the source of truth).
 *
 * Every check has its own timeout and the checks run concurrently, so a dead
 * dependency costs at most --timeout and is reported, never waited on forever.
 * Exit status: 0 nothing FAILed (WARNs allowed), 1 at least one FAIL.
 */
import type { Command } from 'commander';
import { MongoClient } from 'mongodb';
import type { SnapshotSummary } from '../../activities/engine/api';
import type { Backend } from '../../activities/storage/backend';
import { NotFound } from '../../activities/storage/errors';
import { probeBackend } from '../../activities/storage/probe';
import { openBackend } from '../../activities/storage/url';
import { ExitCode, renderError } from '../exit-codes';
import type { CliContext } from '../context';
import { collect, durationSeconds } from './common';
import type { ContextFactory } from './common';

export type CheckStatus = 'ok' | 'WARN' | 'FAIL';

export interface CheckResult {
  readonly check: string;
  readonly status: CheckStatus;
  readonly detail: string;
  /** What to do about a WARN or FAIL. */
  readonly hint?: string;
  readonly ms: number;
}

interface StatusFlags {
  repo?: string[];
  maxBackupAge: number;
  maxKeyAge: number;
  timeout: number;
  writeTest?: boolean;
}

type Outcome = Omit<CheckResult, 'check' | 'ms'>;

const TASK_QUEUE_KIND_NORMAL = 1;
const STALE_POLLER_MS = 2 * 60_000;

/** A protobuf Timestamp (seconds may be a Long) in milliseconds; 0 when absent. */
function timestampMs(ts: { seconds?: unknown; nanos?: number | null } | null | undefined): number {
  if (ts === null || ts === undefined) return 0;
  const raw = ts.seconds;
  const seconds = typeof raw === 'number' ? raw : typeof raw === 'object' && raw !== null && 'toNumber' in raw ? (raw as { toNumber(): number }).toNumber() : 0;
  return seconds * 1000 + Math.floor((ts.nanos ?? 0) / 1e6);
}

function human(seconds: number): string {
  if (seconds < 120) return `${Math.round(seconds)}s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)}m`;
  if (seconds < 172_800) return `${(seconds / 3600).toFixed(1)}h`;
  return `${Math.round(seconds / 86_400)}d`;
}

function failure(err: unknown): Outcome {
  const r = renderError(err);
  return { status: 'FAIL', detail: `${r.code} ${r.message}`, ...(r.hint === undefined ? {} : { hint: r.hint }) };
}

/** Runs one check with its own deadline; a check that does not answer in time FAILs. */
async function timed(check: string, timeoutMs: number, fn: () => Promise<Outcome | Outcome[]>, hintOnTimeout: string): Promise<CheckResult[]> {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<Outcome>((resolve) => {
    timer = setTimeout(() => resolve({ status: 'FAIL', detail: `no answer within ${human(timeoutMs / 1000)}`, hint: hintOnTimeout }), timeoutMs);
  });
  try {
    const outcome = await Promise.race([fn().catch(failure), deadline]);
    const ms = Math.round(performance.now() - started);
    // Spread last: a multi-line check (backup groups) names each of its lines itself.
    return (Array.isArray(outcome) ? outcome : [outcome]).map((o) => ({ check, ...o, ms }));
  } finally {
    clearTimeout(timer);
  }
}

/** A check that produces several lines (one per backup group) names each line itself. */
type NamedOutcome = Outcome & { readonly check: string };

async function temporalChecks(ctx: CliContext, timeoutMs: number): Promise<CheckResult[]> {
  const reach = await timed('temporal', timeoutMs, async () => {
    const client = await ctx.client();
    const info = await client.workflowService.getSystemInfo({});
    return { status: 'ok', detail: `${ctx.config.address} namespace ${ctx.config.namespace}${info.serverVersion ? ` (server ${info.serverVersion})` : ''}` };
  }, "check TEMPORAL_ADDRESS and that the Temporal server runs ('npm run stack -- status' locally)");
  if (reach[0]?.status !== 'ok') {
    return [...reach, { check: 'workers', status: 'FAIL', detail: 'not checked: Temporal is unreachable', hint: 'fix Temporal first', ms: 0 }];
  }
  const queues: { check: string; queue: string; type: 1 | 2; kind: string; hint: string; missing: CheckStatus }[] = [
    { check: 'workers (workflows)', queue: ctx.config.taskQueue, type: 1, kind: 'workflow', missing: 'FAIL', hint: 'start a worker: node dist/workers/main.js (COFFER_TASK_QUEUE must match)' },
    { check: 'workers (activities)', queue: ctx.config.taskQueue, type: 2, kind: 'activity', missing: 'FAIL', hint: 'start a worker: node dist/workers/main.js (COFFER_TASK_QUEUE must match)' },
    { check: `workers (host ${ctx.config.host})`, queue: ctx.config.hostTaskQueue, type: 2, kind: 'activity', missing: 'WARN', hint: 'backups and restores of this host need a worker on it (COFFER_HOST must match)' },
  ];
  const results = await Promise.all(queues.map(async (q) => timed(q.check, timeoutMs, async () => {
    const client = await ctx.client();
    const response = await client.workflowService.describeTaskQueue({ namespace: client.options.namespace, taskQueue: { name: q.queue, kind: TASK_QUEUE_KIND_NORMAL }, taskQueueType: q.type });
    const all = response.pollers ?? [];
    if (all.length === 0) return { status: q.missing, detail: `no worker polls ${q.kind} task queue '${q.queue}'`, hint: q.hint };
    // Temporal lists a stopped worker for minutes after its last poll; a live one polls at least every ~70 s.
    const now = Date.now();
    const pollers = all.filter((p) => now - timestampMs(p.lastAccessTime) <= STALE_POLLER_MS);
    if (pollers.length === 0) {
      const last = Math.max(...all.map((p) => timestampMs(p.lastAccessTime)));
      return { status: q.missing, detail: `no live worker on ${q.kind} task queue '${q.queue}': last poll ${human((now - last) / 1000)} ago`, hint: `the worker seems stopped: ${q.hint}` };
    }
    const identities = pollers.map((p) => p.identity ?? '?').slice(0, 3).join(', ');
    return { status: 'ok', detail: `${pollers.length} poller(s) on '${q.queue}': ${identities}${pollers.length > 3 ? ', …' : ''}` };
  }, 'Temporal answers slowly: check its load')));
  return [...reach, ...results.flat()];
}

/** host:port[/db] of a MongoDB URL, without user or password. */
function redactMongoUrl(url: string): string {
  const match = /^mongodb(?:\+srv)?:\/\/(?:[^@/]*@)?([^/?]+)(\/[^?]*)?/.exec(url);
  return match === null ? 'mongodb://…' : `mongodb://${match[1]}${match[2] ?? ''}`;
}

async function catalogCheck(ctx: CliContext, timeoutMs: number): Promise<CheckResult[]> {
  const url = ctx.env.COFFER_MONGODB_URL;
  if (url === undefined || url === '' || ctx.env.COFFER_CATALOG?.toLowerCase() === 'off') {
    return [{ check: 'catalog', status: 'ok', detail: 'not configured (COFFER_MONGODB_URL unset): jobs run without a catalog', ms: 0 }];
  }
  return timed('catalog', timeoutMs, async () => {
    const client = new MongoClient(url, { serverSelectionTimeoutMS: Math.round(timeoutMs * 0.8), connectTimeoutMS: Math.round(timeoutMs * 0.8) });
    try {
      await client.connect();
      await client.db(ctx.env.COFFER_CATALOG_DB ?? undefined).command({ ping: 1 });
      return { status: 'ok', detail: `${redactMongoUrl(url)} answers` };
    } catch (err) {
      return { status: 'FAIL', detail: `${redactMongoUrl(url)} unreachable: ${err instanceof Error ? err.name : 'error'}`, hint: 'start MongoDB/FerretDB or fix COFFER_MONGODB_URL; backups still run, catalog records are retried' };
    } finally {
      await client.close(true).catch(() => undefined);
    }
  }, 'MongoDB does not answer: check the server and COFFER_MONGODB_URL');
}

async function storageCheck(repo: string, ctx: CliContext, flags: StatusFlags): Promise<CheckResult[]> {
  return timed(`storage ${repo}`, flags.timeout, async () => {
    const started = performance.now();
    let backend: Backend;
    try {
      backend = await openBackend(repo, { retry: false }, ctx.env);
    } catch (err) {
      return { ...failure(err), hint: `details: coffer storage test --repo ${repo}` };
    }
    try {
      if (flags.writeTest === true) {
        const probe = await probeBackend(backend, { largeBytes: 256 * 1024 });
        const failed = probe.checks.find((c) => !c.ok);
        if (failed !== undefined) return { status: 'FAIL', detail: `${failed.name}: ${failed.detail ?? 'failed'}`, hint: `coffer storage test --repo ${repo}` };
        return { status: 'ok', detail: `write/read/list/remove round trip ${Math.round(performance.now() - started)} ms` };
      }
      try {
        await backend.stat('config');
      } catch (err) {
        if (err instanceof NotFound) return { status: 'FAIL', detail: 'reachable, but no repository config object there', hint: "check the URL, or create one with 'coffer init'" };
        throw err;
      }
      let keys = 0;
      for await (const _ of backend.list('keys/')) keys += 1;
      return { status: 'ok', detail: `reachable: config + ${keys} key file(s) read in ${Math.round(performance.now() - started)} ms` };
    } finally {
      await backend.close().catch(() => undefined);
    }
  }, `storage does not answer: coffer storage test --repo ${repo}`);
}

function backupGroups(snapshots: readonly SnapshotSummary[]): Map<string, SnapshotSummary> {
  const latest = new Map<string, SnapshotSummary>();
  for (const s of snapshots) {
    const key = `${s.host}:${[...s.paths].sort().join(',')}`;
    const seen = latest.get(key);
    if (seen === undefined || Date.parse(s.time) > Date.parse(seen.time)) latest.set(key, s);
  }
  return latest;
}

async function repositoryChecks(repo: string, ctx: CliContext, flags: StatusFlags): Promise<CheckResult[]> {
  const hasPassword = ctx.options.passwordFile !== undefined || (ctx.env.COFFER_PASSWORD_FILE ?? '') !== '' || (ctx.env.COFFER_PASSWORD ?? '') !== '';
  if (!hasPassword) {
    return [{ check: `keys ${repo}`, status: 'WARN', detail: 'no password given: key and backup ages not checked', hint: 'set COFFER_PASSWORD or pass --password-file', ms: 0 }];
  }
  const now = Date.now();
  return timed(`repository ${repo}`, flags.timeout, async (): Promise<NamedOutcome[]> => {
    const { keys, snapshots, epoch } = await ctx.withRepository(repo, async (repository) => ({
      keys: await repository.listKeys(),
      snapshots: await repository.listSnapshots(),
      epoch: repository.currentEpoch,
    }));
    const out: NamedOutcome[] = [];
    // Key files are re-written by every rotation, so the oldest one's age is the time since the last rotation.
    const ages = keys.map((k) => (now - Date.parse(k.created)) / 1000);
    const oldest = Math.max(...ages);
    const keyDetail = `${keys.length} key(s), key epoch ${epoch}, oldest key file ${human(oldest)} old`;
    out.push(oldest > flags.maxKeyAge
      ? { check: `keys ${repo}`, status: 'WARN', detail: `${keyDetail} (over ${human(flags.maxKeyAge)})`, hint: `rotate: coffer keys rotate --repo ${repo}` }
      : { check: `keys ${repo}`, status: 'ok', detail: keyDetail });
    const groups = backupGroups(snapshots);
    if (groups.size === 0) out.push({ check: `backups ${repo}`, status: 'WARN', detail: 'no snapshots yet', hint: `run a backup: coffer backup --repo ${repo} <path>` });
    for (const [group, s] of [...groups.entries()].sort(([a], [b]) => a.localeCompare(b))) {
      const age = (now - Date.parse(s.time)) / 1000;
      const detail = `last backup ${human(age)} ago (${s.time.replace(/\.\d+Z$/, 'Z')}, snapshot ${s.id.slice(0, 12)})`;
      out.push(age > flags.maxBackupAge
        ? { check: `backup ${group}`, status: 'FAIL', detail: `${detail}: older than ${human(flags.maxBackupAge)}`, hint: 'check the schedule (coffer schedule list) and the last backup workflow in the Temporal UI' }
        : { check: `backup ${group}`, status: 'ok', detail });
    }
    return out;
  }, 'the repository does not answer in time: check its storage');
}

function render(results: readonly CheckResult[]): string {
  const width = Math.max(...results.map((r) => r.check.length));
  const lines = results.map((r) => `${r.status.padEnd(4)}  ${r.check.padEnd(width)}  ${r.detail}${r.status !== 'ok' && r.hint !== undefined ? ` — ${r.hint}` : ''}`);
  const fails = results.filter((r) => r.status === 'FAIL').length;
  const warns = results.filter((r) => r.status === 'WARN').length;
  lines.push(fails > 0 ? `${fails} check(s) FAILED, ${warns} warning(s)` : warns > 0 ? `all checks passed, ${warns} warning(s)` : 'all checks passed');
  return lines.join('\n');
}

export function registerStatus(program: Command, makeContext: ContextFactory): void {
  program
    .command('status')
    .alias('system-check')
    .description('health of the whole setup: Temporal, workers, catalog, storage, key ages, last backup age per source')
    .option('-r, --repo <url>', 'repository to check (repeatable; default COFFER_REPOSITORY)', collect)
    .option('--max-backup-age <duration>', 'FAIL when the last backup of a host+paths group is older (e.g. 26h, 7d)', durationSeconds, durationSeconds('26h'))
    .option('--max-key-age <duration>', 'WARN when the oldest key file is older (time since the last rotation)', durationSeconds, durationSeconds('365d'))
    .option('--timeout <duration>', 'per-check timeout', durationSeconds, durationSeconds('15s'))
    .option('--write-test', 'storage: write/read/list/remove a small temporary object instead of read-only checks')
    .addHelpText('after', '\nExit status: 0 no check FAILed (WARN allowed), 1 at least one FAIL.')
    .action(async (rawFlags: StatusFlags, command: Command) => {
      const ctx = makeContext(command);
      const flags: StatusFlags = { ...rawFlags, timeout: rawFlags.timeout * 1000 };
      const repos = (flags.repo ?? (ctx.env.COFFER_REPOSITORY ? ctx.env.COFFER_REPOSITORY.split(',') : [])).map((r) => ctx.repoUrl(r));
      const groups = await Promise.all([
        temporalChecks(ctx, flags.timeout),
        catalogCheck(ctx, flags.timeout),
        ...repos.map(async (repo) => {
          const [storage, repository] = await Promise.all([storageCheck(repo, ctx, flags), repositoryChecks(repo, ctx, flags)]);
          return [...storage, ...repository];
        }),
      ]);
      const results = groups.flat();
      if (repos.length === 0) results.push({ check: 'repositories', status: 'WARN', detail: 'none given: storage, keys and backups not checked', hint: 'pass --repo <url> (repeatable) or set COFFER_REPOSITORY', ms: 0 });
      const ok = results.every((r) => r.status !== 'FAIL');
      if (!ok) ctx.exitCode = ExitCode.jobFailed;
      ctx.print({ ok, checks: results }, () => render(results));
      // A check that timed out may leave a socket trying in the background: never let it hold the exit.
      setTimeout(() => process.exit(ctx.exitCode), 3_000).unref();
    });
}
