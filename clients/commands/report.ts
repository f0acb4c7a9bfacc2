/**
 * `coffer report drill|compliance`: the DR drill report and the compliance
 * evidence report. The worker gathers the facts (reportInputsWorkflow: it
 * holds the repository password and the catalog); Temporal adds the key
 * rotations and retention schedules it ran; a config profile (--config)
 * adds the retention policy, sources and drill objectives it declares. The
 * report is rendered here and written atomically (temp file + rename) as
 * HTML (default), JSON (`.json`) or PDF (`--pdf` or `.pdf`).
 *
 *   coffer report drill      --repo <url> [--output drill-report.html] [--pdf] [--rto 1h] [--rpo 26h]
 *   coffer report compliance --repo <url> [--standard <name>] [--output compliance-report.html] [--pdf]
 *
 * With the global --json the report's JSON is printed on stdout as well.
 * The compliance report presents evidence; it certifies nothing.
 */
import { extname, resolve } from 'node:path';
import type { Command } from 'commander';
import { backendOptions, loadConfig, resolveBackendEnv, resolveRepositoryPassword, selectProfile } from '../../activities/config/profile';
import type { CofferConfig, ProfileConfig } from '../../activities/config/profile';
import { createEngine } from '../../activities/engine';
import { InvalidInput } from '../../activities/errors';
import { openBackend } from '../../activities/storage/url';
import type { ReportInputs } from '../../activities/report-inputs';
import {
  algorithmsFromRepoConfig,
  complianceReportJson,
  drillReportJson,
  drillResultFromRecord,
  NOT_A_CERTIFICATION,
  renderComplianceReport,
  renderDrillReport,
  renderPdf,
  writeReportFile,
} from '../../activities/reports';
import type { AlgorithmsInUse, AuditEvidence, ComplianceReportData, DrillObjectives, DrillReportData, KeyEvidence, RetentionEvidence, SourceEvidence } from '../../activities/reports';
import type { AuditOutcome, ReportInputsInput, ReportInputsResult } from '../../workflows/report';
import type { CliContext } from '../context';
import { backupInputForSource, profileRepoUrl } from '../profile-sources';
import { formatBytes } from '../progress';
import { temporalEvidence } from '../report-evidence';
import type { TemporalEvidence } from '../report-evidence';
import { durationSeconds, positiveInt } from './common';
import type { ContextFactory } from './common';

type Format = 'html' | 'json' | 'pdf';

interface CommonFlags {
  repo?: string;
  output?: string;
  pdf?: boolean;
  config?: string;
  profile?: string;
  rto?: number;
  rpo?: number;
}

interface ComplianceFlags extends CommonFlags {
  standard?: string;
  keyMaxAge?: number;
}

/** Drill objectives when neither the flags, the profile nor a stored drill name any (the drill command's defaults). */
const DEFAULT_OBJECTIVES: DrillObjectives = { rtoSeconds: 3600, rpoSeconds: 26 * 3600 };

export function outputFormat(path: string, pdf: boolean): Format {
  if (pdf) return 'pdf';
  const ext = extname(path).toLowerCase();
  if (ext === '.json') return 'json';
  if (ext === '.pdf') return 'pdf';
  return 'html';
}

interface Target {
  readonly repo: string;
  readonly config?: CofferConfig;
  readonly profile?: ProfileConfig;
}

async function target(ctx: CliContext, flags: CommonFlags): Promise<Target> {
  const configFile = flags.config ?? nonEmpty(ctx.env.COFFER_CONFIG);
  if (configFile === undefined) {
    if (flags.repo === undefined) throw new InvalidInput('a report needs --repo <url> (or --config <file> for a profile\'s repository)');
    return { repo: ctx.repoUrl(flags.repo) };
  }
  const config = await loadConfig(configFile);
  const profile = selectProfile(config, flags.profile ?? nonEmpty(ctx.env.COFFER_PROFILE));
  return { repo: flags.repo === undefined ? profileRepoUrl(config, profile) : ctx.repoUrl(flags.repo), config, profile };
}

/**
 * The user must know the repository password (the worker holds its own copy):
 * with a profile, its password reference and storage settings, like `backup --config`.
 */
async function proveAccess(ctx: CliContext, where: Target): Promise<void> {
  if (where.config === undefined || where.profile === undefined) return ctx.proveRepository(where.repo);
  const password = (await resolveRepositoryPassword(where.config, where.profile, ctx.env)) ?? (await ctx.password());
  const backend = await openBackend(where.repo, backendOptions(where.config, where.profile), await resolveBackendEnv(where.config, where.profile, ctx.env));
  try {
    await (await createEngine().open(backend, { passphrase: password })).close();
  } finally {
    await backend.close();
  }
}

async function gather(ctx: CliContext, where: Target, audit: boolean): Promise<ReportInputsResult> {
  await proveAccess(ctx, where);
  const repo = where.repo;
  const { result } = await ctx.runJob<ReportInputsInput, ReportInputsResult>({ workflow: 'reportInputsWorkflow', job: 'report', repo, input: { repo, audit } });
  if (result === undefined) throw new InvalidInput('a report cannot be detached: it is written by this command', { hint: 'run it without --detach' });
  return result;
}

/** Objectives: the flags, else the profile's drill section, else the newest stored drill's, else the defaults. */
export function objectivesFor(flags: CommonFlags, profile: ProfileConfig | undefined, inputs: ReportInputs): DrillObjectives {
  const newest = inputs.drills[inputs.drills.length - 1];
  const base: DrillObjectives =
    profile?.drill !== undefined
      ? { rtoSeconds: profile.drill.rtoSeconds, rpoSeconds: profile.drill.rpoSeconds }
      : newest !== undefined
        ? { rtoSeconds: newest.objectives.rtoMs / 1000, rpoSeconds: newest.objectives.rpoMs / 1000 }
        : DEFAULT_OBJECTIVES;
  return { rtoSeconds: flags.rto ?? base.rtoSeconds, rpoSeconds: flags.rpo ?? base.rpoSeconds };
}

export function drillData(inputs: ReportInputs, objectives: DrillObjectives): DrillReportData {
  return {
    repository: inputs.repository.url,
    objectives,
    drills: inputs.drills.map(drillResultFromRecord),
    growth: inputs.growth,
    generatedAt: inputs.gatheredAt,
  };
}

const UNKNOWN_ALGORITHMS: AlgorithmsInUse = { aead: 'unknown', kdf: 'unknown', chunkId: 'unknown', compression: 'unknown' };

/** Access keys (from the key files) and data-key epochs (dated by the rotation that made them, else by the evidence the repository holds). */
export function keyEvidence(inputs: ReportInputs, temporal: TemporalEvidence): KeyEvidence[] {
  const rotatedAt = new Map<number, string>();
  for (const r of temporal.rotations) if (r.status === 'completed' && r.toEpoch > 0 && !rotatedAt.has(r.toEpoch)) rotatedAt.set(r.toEpoch, r.time);
  const created = inputs.repository.created;
  const epochTime = (epoch: number, firstSeen: string | undefined): string | undefined => (epoch === 1 ? created : rotatedAt.get(epoch)) ?? firstSeen;
  const epochs = inputs.epochs.map((e, i) => {
    const next = inputs.epochs[i + 1];
    const createdAt = epochTime(e.epoch, e.firstSeen);
    const supersededAt = next === undefined ? undefined : epochTime(next.epoch, next.firstSeen);
    const how = e.epoch === 1 && created !== undefined ? 'created with the repository' : rotatedAt.has(e.epoch) ? 'created by a key rotation' : e.firstSeen !== undefined ? 'first used by a snapshot at this time' : 'creation time not recorded';
    return {
      keyId: `data-key epoch ${e.epoch}`,
      kind: 'epoch',
      epoch: e.epoch,
      label: `${e.current ? 'current' : 'superseded'}; ${how}; ${e.snapshots} snapshot(s) sealed with it`,
      createdAt: createdAt ?? inputs.gatheredAt,
      ...(e.current || supersededAt === undefined ? {} : { retiredAt: supersededAt }),
    };
  });
  const access = inputs.accessKeys.map((k) => ({ keyId: k.id, kind: k.kind, createdAt: k.created, ...(k.label === undefined ? {} : { label: k.label }) }));
  return [...access, ...epochs];
}

function sourceName(host: string, paths: readonly string[]): string {
  return `${host}:${paths.join(',')}`;
}

/** Sources: the profile's (each matched to its snapshots, stale when never backed up), plus any other source found in the repository. */
export function sourceEvidence(inputs: ReportInputs, here: { host: string; hostQueue: string }, target: Target): SourceEvidence[] {
  const key = (host: string, paths: readonly string[]): string => JSON.stringify([host, [...paths].sort()]);
  const found = new Map(inputs.sources.map((s) => [key(s.host, s.paths), s]));
  const out: SourceEvidence[] = [];
  if (target.profile !== undefined && target.config !== undefined) {
    for (const source of Object.values(target.profile.sources)) {
      const job = backupInputForSource(target.repo, target.profile, source, here);
      const paths = job.command === undefined ? job.paths : [`/coffer-commands/${source.name}`];
      const match =
        found.get(key(job.host, paths)) ??
        (job.command === undefined ? undefined : inputs.sources.find((s) => s.host === job.host && s.paths.some((p) => p.startsWith(`/coffer-commands/${source.name}`))));
      if (match !== undefined) found.delete(key(match.host, match.paths));
      out.push({ name: source.name, host: job.host, paths, ...(match === undefined ? {} : { lastSuccess: match.lastSuccess }) });
    }
  }
  for (const s of found.values()) out.push({ name: sourceName(s.host, s.paths), host: s.host, paths: s.paths, lastSuccess: s.lastSuccess });
  return out;
}

export function retentionEvidence(target: Target, temporal: TemporalEvidence): RetentionEvidence[] {
  const out: RetentionEvidence[] = [];
  const profile = target.profile;
  if (profile?.retention !== undefined) {
    const schedules = Object.values(profile.schedules).filter((s) => s.action === 'retention');
    const when = schedules.map((s) => (s.cron === undefined ? (s.every === undefined ? s.name : `every ${s.every}`) : `cron ${s.cron}`)).join(', ');
    const policy: Record<string, number | string | readonly string[]> = {};
    for (const [name, value] of Object.entries(profile.retention)) if (value !== undefined) policy[name] = value;
    out.push({
      name: `profile ${profile.name}`,
      policy,
      ...(when === '' ? {} : { schedule: when }),
      ...(temporal.lastRetention === undefined ? {} : { lastRun: temporal.lastRetention.time, lastOutcome: temporal.lastRetention.outcome }),
    });
  }
  for (const r of temporal.retention) {
    out.push({ ...r, ...(r.lastRun === undefined || temporal.lastRetention === undefined ? {} : { lastOutcome: temporal.lastRetention.outcome }) });
  }
  return out;
}

export function auditEvidence(outcome: AuditOutcome): AuditEvidence | undefined {
  if (outcome.status !== 'checked') return undefined;
  const result = outcome.result;
  const firstProblem = result.problems.length === 0 ? undefined : Math.min(...result.problems.map((p) => p.seq));
  const headSeq = result.head?.seq ?? result.entries;
  return {
    entries: result.entries,
    verifiedThroughSeq: firstProblem === undefined ? headSeq : Math.max(0, firstProblem - 1),
    ...(firstProblem === undefined ? {} : { brokenAtSeq: firstProblem }),
    problems: result.problems.map((p) => ({ kind: p.kind, seq: p.seq, detail: p.detail })),
    verifiedAt: outcome.verifiedAt,
  };
}

async function writeReport(path: string, format: Format, html: () => string, json: () => unknown): Promise<number> {
  if (format === 'pdf') return renderPdf(html(), path);
  const text = format === 'json' ? `${JSON.stringify(json(), null, 2)}\n` : html();
  await writeReportFile(path, text);
  return Buffer.byteLength(text);
}

function outputPath(flags: CommonFlags, kind: string): { path: string; format: Format } {
  const path = resolve(flags.output ?? `${kind}-report.${flags.pdf === true ? 'pdf' : 'html'}`);
  return { path, format: outputFormat(path, flags.pdf === true) };
}

function addCommon(command: Command, kind: string): Command {
  return command
    .option('-r, --repo <url>', "repository URL (default: the profile's)")
    .option('-o, --output <file>', `where to write the report: .html (default ${kind}-report.html), .json or .pdf`)
    .option('--pdf', 'write a PDF (printed by headless Chromium)')
    .option('-c, --config <file>', 'config file with profiles (default: $COFFER_CONFIG): objectives, sources and retention policy')
    .option('-p, --profile <name>', 'profile of the config file (default: $COFFER_PROFILE, defaultProfile or the only one)')
    .option('--rto <duration>', 'recovery time objective, e.g. 30m (default: the profile\'s, else the last drill\'s)', durationSeconds)
    .option('--rpo <duration>', 'recovery point objective, e.g. 26h (default: the profile\'s, else the last drill\'s)', durationSeconds);
}

export function registerReport(program: Command, makeContext: ContextFactory): void {
  const report = program.command('report').description('write the DR drill report or the compliance evidence report (HTML, JSON or PDF)');

  addCommon(report.command('drill').description('RTO and RPO of past drills against their objectives, and repository growth'), 'drill').action(
    async (flags: CommonFlags, command: Command) => {
      const ctx = makeContext(command);
      const where = await target(ctx, flags);
      const { inputs } = await gather(ctx, where, false);
      const data = drillData(inputs, objectivesFor(flags, where.profile, inputs));
      const json = drillReportJson(data);
      const out = outputPath(flags, 'drill');
      const bytes = await writeReport(out.path, out.format, () => renderDrillReport(data), () => json);
      const s = json.summary;
      ctx.print({ file: out.path, format: out.format, bytes, report: json }, () =>
        [
          `drill report written to ${out.path} (${out.format}, ${formatBytes(bytes)})`,
          `  ${s.drills} drill(s): ${s.passed} passed, ${s.failed} failed; RTO missed ${s.rtoMissed}, RPO missed ${s.rpoMissed}`,
          s.last === undefined
            ? '  no drill stored in this repository yet: run coffer drill --repo <url>'
            : `  last drill ${s.last.time}: ${s.last.passed ? 'passed' : 'FAILED'}, RTO ${s.last.rtoSeconds.toFixed(1)} s (objective ${json.objectives.rtoSeconds} s), RPO ${s.last.rpoSeconds.toFixed(0)} s (objective ${json.objectives.rpoSeconds} s)`,
          `  repository stores ${formatBytes(inputs.storedBytes)} in ${inputs.storedObjects} object(s)`,
        ].join('\n'),
      );
    },
  );

  addCommon(report.command('compliance').description('evidence for a reviewer: algorithms, keys and rotations, retention, backups per source, drills, audit chain'), 'compliance')
    .option('--standard <name>', "label of the framework the evidence is gathered for, e.g. 'ISO 27001 A.8.13' (informative only)")
    .option('--key-max-age <days>', 'flag keys older than this many days (default 365)', positiveInt)
    .action(async (flags: ComplianceFlags, command: Command) => {
      const ctx = makeContext(command);
      const where = await target(ctx, flags);
      const { inputs, audit } = await gather(ctx, where, true);
      const temporal = await temporalEvidence(await ctx.client(), where.repo);
      const objectives = objectivesFor(flags, where.profile, inputs);
      const auditFacts = auditEvidence(audit);
      const data: ComplianceReportData = {
        repository: { url: inputs.repository.url, repoId: inputs.repository.repoId, ...(inputs.repository.created === undefined ? {} : { created: inputs.repository.created }) },
        ...(flags.standard === undefined ? {} : { standard: flags.standard }),
        algorithms: inputs.config === undefined ? UNKNOWN_ALGORITHMS : algorithmsFromRepoConfig(inputs.config),
        keys: keyEvidence(inputs, temporal),
        rotations: temporal.rotations,
        ...(flags.keyMaxAge === undefined ? {} : { keyMaxAgeDays: flags.keyMaxAge }),
        retention: retentionEvidence(where, temporal),
        sources: sourceEvidence(inputs, { host: ctx.config.host, hostQueue: ctx.config.hostTaskQueue }, where),
        drills: { objectives, results: inputs.drills.map(drillResultFromRecord) },
        ...(auditFacts === undefined ? {} : { audit: auditFacts }),
        generatedAt: inputs.gatheredAt,
      };
      const json = complianceReportJson(data);
      const notes = [...temporal.notes, ...(audit.status === 'not-checked' ? [`audit chain not checked: ${audit.reason}`] : [])];
      const out = outputPath(flags, 'compliance');
      const bytes = await writeReport(out.path, out.format, () => renderComplianceReport(data), () => ({ ...json, notes }));
      ctx.print({ file: out.path, format: out.format, bytes, report: { ...json, notes } }, () =>
        [
          `compliance evidence report written to ${out.path} (${out.format}, ${formatBytes(bytes)})`,
          `  ${json.keys.length} key(s), ${json.rotations.length} rotation(s), ${json.retention.length} retention polic(ies), ${json.sources.length} source(s), ${json.drills.summary.drills} drill(s), audit ${json.audit.status}`,
          ...json.findings.map((f) => `  ${f.severity.toUpperCase()} ${f.area}: ${f.message}`),
          ...notes.map((n) => `  note: ${n}`),
          `  ${NOT_A_CERTIFICATION}`,
        ].join('\n'),
      );
    });
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}
