/**
 * The compliance evidence report: what protects the data (algorithms and KDF
 * parameters from the repository config), how keys are managed (ages,
 * rotations), which retention policies are in force, when each source was
 * last backed up, how drills did against RTO/RPO, and whether the audit
 * chain verifies. It collects evidence for a reviewer; it certifies nothing,
 * and says so at the top of the page and in the JSON.
 */
import { esc } from './escape';
import { drillCharts, drillReportJson, drillTable } from './drill-report';
import type { DrillObjectives, DrillResult } from './drill-report';
import { formatBytes, formatDuration, formatTime, shortId } from './format';
import { badge, card, page } from './page';

export const NOT_A_CERTIFICATION =
  'This report presents evidence recorded by Coffer to support a review. It is not a certification, attestation or audit opinion, and it does not by itself show compliance with any standard.';

export interface AlgorithmsInUse {
  readonly aead: string;
  readonly kdf: string;
  readonly kdfParams?: { readonly opsLimit: number; readonly memLimitBytes: number };
  /** The keyed hash naming chunks (a MAC: chunk ids reveal nothing without the key). */
  readonly chunkId: string;
  readonly chunker?: string;
  readonly compression: string;
  readonly compressionLevel?: number;
  readonly formatVersion?: number;
}

export interface KeyEvidence {
  readonly keyId: string;
  /** 'passphrase' | 'x25519' access keys, 'epoch' for data-key epochs. */
  readonly kind: string;
  readonly epoch?: number;
  readonly label?: string;
  readonly createdAt: string;
  readonly retiredAt?: string;
}

export interface RotationEvidence {
  readonly time: string;
  readonly fromEpoch: number;
  readonly toEpoch: number;
  /** 'completed' | 'in-progress' | 'failed' … */
  readonly status: string;
  readonly workflowId?: string;
}

export interface RetentionEvidence {
  /** Profile or schedule the policy belongs to. */
  readonly name: string;
  /** The rules, e.g. { keepDaily: 14, keepWithin: '2d' }. */
  readonly policy: Readonly<Record<string, number | string | readonly string[]>>;
  readonly schedule?: string;
  readonly lastRun?: string;
  readonly lastOutcome?: string;
}

export interface SourceEvidence {
  readonly name: string;
  readonly host: string;
  readonly paths: readonly string[];
  /** Last successful backup, if any. */
  readonly lastSuccess?: { readonly time: string; readonly snapshotId: string; readonly bytes?: number };
  /** Age beyond which the source counts as stale (default: the RPO objective). */
  readonly maxAgeSeconds?: number;
}

export interface AuditEvidence {
  readonly entries: number;
  /** The chain verifies from seq 1 up to this seq. */
  readonly verifiedThroughSeq: number;
  /** First seq where the chain breaks, when it does. */
  readonly brokenAtSeq?: number;
  readonly problems: readonly { readonly kind: string; readonly seq: number; readonly detail: string }[];
  readonly verifiedAt?: string;
}

export interface ComplianceReportData {
  readonly repository: { readonly url: string; readonly repoId?: string; readonly created?: string };
  /** Label of the framework the evidence is gathered for (e.g. 'ISO 27001 A.8.13'); informative only. */
  readonly standard?: string;
  readonly algorithms: AlgorithmsInUse;
  readonly keys: readonly KeyEvidence[];
  readonly rotations: readonly RotationEvidence[];
  /** Keys older than this are flagged (default 365 days). */
  readonly keyMaxAgeDays?: number;
  readonly retention: readonly RetentionEvidence[];
  readonly sources: readonly SourceEvidence[];
  readonly drills: { readonly objectives: DrillObjectives; readonly results: readonly DrillResult[] };
  readonly audit?: AuditEvidence;
  /** ISO-8601; default: now. */
  readonly generatedAt?: string;
}

export type FindingSeverity = 'info' | 'warning' | 'critical';

export interface ComplianceFinding {
  readonly severity: FindingSeverity;
  readonly area: 'keys' | 'backups' | 'drills' | 'audit' | 'retention';
  readonly message: string;
}

export interface ComplianceReportJson {
  readonly kind: 'coffer-compliance-evidence';
  readonly version: 1;
  readonly disclaimer: string;
  readonly generatedAt: string;
  readonly standard?: string;
  readonly repository: ComplianceReportData['repository'];
  readonly algorithms: AlgorithmsInUse;
  readonly keys: readonly (KeyEvidence & { readonly ageDays: number; readonly active: boolean })[];
  readonly rotations: readonly RotationEvidence[];
  readonly retention: readonly RetentionEvidence[];
  readonly sources: readonly (SourceEvidence & { readonly ageSeconds?: number; readonly stale: boolean })[];
  readonly drills: ReturnType<typeof drillReportJson>;
  readonly audit: (AuditEvidence & { readonly status: 'verified' | 'broken' }) | { readonly status: 'not-checked' };
  /** Things a reviewer should look at first. */
  readonly findings: readonly ComplianceFinding[];
}

const DAY = 86_400;

/** The evidence as a JSON-safe object, with ages computed at `generatedAt` and the findings derived from it. */
export function complianceReportJson(data: ComplianceReportData): ComplianceReportJson {
  const generatedAt = data.generatedAt ?? new Date().toISOString();
  const now = Date.parse(generatedAt);
  const maxKeyAgeDays = data.keyMaxAgeDays ?? 365;
  const findings: ComplianceFinding[] = [];

  const keys = data.keys.map((k) => {
    const ageDays = Math.max(0, Math.floor((now - Date.parse(k.createdAt)) / (DAY * 1000)));
    const active = k.retiredAt === undefined;
    if (active && ageDays > maxKeyAgeDays) findings.push({ severity: 'warning', area: 'keys', message: `${k.kind} key ${k.keyId} is ${ageDays} days old (policy: rotate within ${maxKeyAgeDays} days)` });
    return { ...k, ageDays, active };
  });
  for (const r of data.rotations) {
    if (r.status !== 'completed') findings.push({ severity: r.status === 'failed' ? 'critical' : 'info', area: 'keys', message: `key rotation epoch ${r.fromEpoch}→${r.toEpoch} is ${r.status}` });
  }

  const sources = data.sources.map((s) => {
    const limit = s.maxAgeSeconds ?? data.drills.objectives.rpoSeconds;
    if (s.lastSuccess === undefined) {
      findings.push({ severity: 'critical', area: 'backups', message: `source ${s.name} (${s.host}) has no successful backup` });
      return { ...s, stale: true };
    }
    const ageSeconds = Math.max(0, Math.round((now - Date.parse(s.lastSuccess.time)) / 1000));
    const stale = ageSeconds > limit;
    if (stale) findings.push({ severity: 'critical', area: 'backups', message: `source ${s.name} (${s.host}) was last backed up ${formatDuration(ageSeconds)} ago (limit ${formatDuration(limit)})` });
    return { ...s, ageSeconds, stale };
  });

  if (data.retention.length === 0) findings.push({ severity: 'warning', area: 'retention', message: 'no retention policy is configured: snapshots are kept forever' });

  const drills = drillReportJson({ repository: data.repository.url, objectives: data.drills.objectives, drills: data.drills.results, growth: [], generatedAt });
  if (drills.summary.drills === 0) findings.push({ severity: 'critical', area: 'drills', message: 'no disaster-recovery drill has been run' });
  else if (drills.summary.last?.passed === false) findings.push({ severity: 'critical', area: 'drills', message: `the last drill (${formatTime(drills.summary.last.time)}) failed` });
  if (drills.summary.failed > 0) findings.push({ severity: 'warning', area: 'drills', message: `${drills.summary.failed} of ${drills.summary.drills} drills failed` });

  let audit: ComplianceReportJson['audit'];
  if (data.audit === undefined) {
    audit = { status: 'not-checked' };
    findings.push({ severity: 'warning', area: 'audit', message: 'the audit chain was not verified for this report' });
  } else if (data.audit.brokenAtSeq !== undefined || data.audit.problems.length > 0) {
    audit = { ...data.audit, status: 'broken' };
    findings.push({ severity: 'critical', area: 'audit', message: `the audit chain is broken at seq ${data.audit.brokenAtSeq ?? data.audit.problems[0]?.seq ?? '?'} (verified up to seq ${data.audit.verifiedThroughSeq})` });
  } else {
    audit = { ...data.audit, status: 'verified' };
  }

  const order: Record<FindingSeverity, number> = { critical: 0, warning: 1, info: 2 };
  findings.sort((a, b) => order[a.severity] - order[b.severity]);
  return {
    kind: 'coffer-compliance-evidence',
    version: 1,
    disclaimer: NOT_A_CERTIFICATION,
    generatedAt,
    ...(data.standard === undefined ? {} : { standard: data.standard }),
    repository: data.repository,
    algorithms: data.algorithms,
    keys,
    rotations: [...data.rotations].sort((a, b) => Date.parse(a.time) - Date.parse(b.time)),
    retention: data.retention,
    sources,
    drills,
    audit,
    findings,
  };
}

function kv(rows: readonly (readonly [string, string])[]): string {
  return `<dl class="kv">${rows.map(([k, v]) => `<dt>${esc(k)}</dt><dd>${v}</dd>`).join('')}</dl>`;
}

function policyText(policy: RetentionEvidence['policy']): string {
  return Object.entries(policy)
    .map(([k, v]) => `${k}: ${Array.isArray(v) ? v.join(', ') : String(v)}`)
    .join(' · ');
}

function severityBadge(severity: FindingSeverity): string {
  const tone = severity === 'critical' ? 'fail' : severity === 'warning' ? 'warn' : 'pass';
  return `<span class="badge ${tone}">${esc(severity.toUpperCase())}</span>`;
}

/** A self-contained HTML page (inline CSS and SVG, no scripts, no network). */
export function renderComplianceReport(data: ComplianceReportData): string {
  const j = complianceReportJson(data);
  const a = j.algorithms;
  const critical = j.findings.filter((f) => f.severity === 'critical').length;
  const staleSources = j.sources.filter((s) => s.stale).length;
  const auditCard =
    j.audit.status === 'verified'
      ? card('Audit chain', `verified to #${j.audit.verifiedThroughSeq}`, 'ok')
      : j.audit.status === 'broken'
        ? card('Audit chain', `broken at #${j.audit.brokenAtSeq ?? j.audit.problems[0]?.seq ?? '?'}`, 'bad')
        : card('Audit chain', 'not checked', 'warn');
  const cards = [
    card('Findings needing attention', String(critical), critical === 0 ? 'ok' : 'bad'),
    card('Sources backed up in time', `${j.sources.length - staleSources} / ${j.sources.length}`, staleSources === 0 ? 'ok' : 'bad'),
    card('Drills passed', `${j.drills.summary.passed} / ${j.drills.summary.drills}`, j.drills.summary.failed === 0 && j.drills.summary.drills > 0 ? 'ok' : 'bad'),
    auditCard,
  ].join('');

  const findings =
    j.findings.length === 0
      ? '<p class="muted">No findings.</p>'
      : `<table class="findings"><thead><tr><th>Severity</th><th>Area</th><th>Finding</th></tr></thead><tbody>${j.findings
          .map((f) => `<tr data-severity="${f.severity}"><td>${severityBadge(f.severity)}</td><td>${esc(f.area)}</td><td>${esc(f.message)}</td></tr>`)
          .join('')}</tbody></table>`;

  const algorithms = kv([
    ['Authenticated encryption', `<code>${esc(a.aead)}</code>`],
    ['Key derivation', `<code>${esc(a.kdf)}</code>${a.kdfParams === undefined ? '' : ` — ops limit ${esc(a.kdfParams.opsLimit)}, memory ${esc(formatBytes(a.kdfParams.memLimitBytes))}`}`],
    ['Chunk ids (keyed MAC)', `<code>${esc(a.chunkId)}</code>`],
    ...(a.chunker === undefined ? [] : [['Chunking', `<code>${esc(a.chunker)}</code>`] as const]),
    ['Compression', `<code>${esc(a.compression)}</code>${a.compressionLevel === undefined ? '' : ` level ${esc(a.compressionLevel)}`}`],
    ...(a.formatVersion === undefined ? [] : [['Repository format version', esc(a.formatVersion)] as const]),
  ]);

  const keyRows = j.keys
    .map(
      (k) =>
        `<tr><td><code>${esc(shortId(k.keyId))}</code>${k.label === undefined ? '' : ` <span class="muted">${esc(k.label)}</span>`}</td><td>${esc(k.kind)}${k.epoch === undefined ? '' : ` #${esc(k.epoch)}`}</td><td>${esc(formatTime(k.createdAt))}</td><td class="num">${esc(k.ageDays)} d</td><td>${k.active ? badge(true, 'ACTIVE') : `<span class="muted">retired ${esc(formatTime(k.retiredAt ?? ''))}</span>`}</td></tr>`,
    )
    .join('');
  const rotationRows = j.rotations
    .map((r) => `<tr><td>${esc(formatTime(r.time))}</td><td>${esc(r.fromEpoch)} → ${esc(r.toEpoch)}</td><td>${r.status === 'completed' ? badge(true, 'COMPLETED') : badge(false, r.status.toUpperCase())}</td><td class="mono">${esc(r.workflowId ?? '')}</td></tr>`)
    .join('');
  const keys = `<table class="keys"><thead><tr><th>Key</th><th>Kind</th><th>Created</th><th class="num">Age</th><th>State</th></tr></thead><tbody>${keyRows || '<tr><td colspan="5" class="muted">no keys recorded</td></tr>'}</tbody></table>
<h3>Rotations</h3>${j.rotations.length === 0 ? '<p class="muted">No key rotation recorded.</p>' : `<table class="rotations"><thead><tr><th>Time</th><th>Epochs</th><th>Status</th><th>Workflow</th></tr></thead><tbody>${rotationRows}</tbody></table>`}`;

  const retention =
    j.retention.length === 0
      ? '<p class="muted">No retention policy configured.</p>'
      : `<table class="retention"><thead><tr><th>Policy</th><th>Rules</th><th>Schedule</th><th>Last run</th></tr></thead><tbody>${j.retention
          .map((r) => `<tr><td>${esc(r.name)}</td><td>${esc(policyText(r.policy))}</td><td>${esc(r.schedule ?? '—')}</td><td>${esc(r.lastRun === undefined ? '—' : formatTime(r.lastRun))}${r.lastOutcome === undefined ? '' : ` <span class="muted">(${esc(r.lastOutcome)})</span>`}</td></tr>`)
          .join('')}</tbody></table>`;

  const sources = `<table class="sources"><thead><tr><th>Source</th><th>Host</th><th>Paths</th><th>Last successful backup</th><th class="num">Age</th><th>State</th></tr></thead><tbody>${j.sources
    .map(
      (s) =>
        `<tr class="${s.stale ? 'failed' : ''}" data-stale="${s.stale}"><td>${esc(s.name)}</td><td>${esc(s.host)}</td><td class="mono">${s.paths.map((p) => esc(p)).join('<br>')}</td><td>${s.lastSuccess === undefined ? '<span class="missed">never</span>' : `${esc(formatTime(s.lastSuccess.time))} <code>${esc(shortId(s.lastSuccess.snapshotId))}</code>`}</td><td class="num">${s.ageSeconds === undefined ? '—' : esc(formatDuration(s.ageSeconds))}</td><td>${badge(!s.stale, s.stale ? 'STALE' : 'OK')}</td></tr>`,
    )
    .join('')}</tbody></table>`;

  const charts = drillCharts(data.drills.objectives, data.drills.results);
  const drills = `${kv([
    ['RTO objective', esc(formatDuration(data.drills.objectives.rtoSeconds))],
    ['RPO objective', esc(formatDuration(data.drills.objectives.rpoSeconds))],
  ])}<div class="charts"><figure><figcaption>Recovery time (RTO)<span class="legend">red = failed drill · dashed = objective</span></figcaption>${charts.rto}</figure><figure><figcaption>Recovery point (RPO)<span class="legend">red = failed drill · dashed = objective</span></figcaption>${charts.rpo}</figure></div><h3>Drill results</h3>${drillTable(data.drills.objectives, data.drills.results)}`;

  let audit: string;
  if (j.audit.status === 'not-checked') audit = '<p class="muted">The audit chain was not verified for this report.</p>';
  else {
    const status = j.audit.status === 'verified' ? badge(true, 'VERIFIED') : badge(false, 'BROKEN');
    const problems =
      j.audit.problems.length === 0
        ? ''
        : `<table class="audit-problems"><thead><tr><th class="num">Seq</th><th>Problem</th><th>Detail</th></tr></thead><tbody>${j.audit.problems
            .map((p) => `<tr class="failed"><td class="num">${esc(p.seq)}</td><td>${esc(p.kind)}</td><td>${esc(p.detail)}</td></tr>`)
            .join('')}</tbody></table>`;
    audit = `<div data-audit-status="${j.audit.status}">${kv([
      ['Status', status],
      ['Entries', esc(j.audit.entries)],
      ['Verified from seq 1 through', `#${esc(j.audit.verifiedThroughSeq)}`],
      ...(j.audit.brokenAtSeq === undefined ? [] : [['Broken at', `<span class="missed">#${esc(j.audit.brokenAtSeq)}</span>`] as const]),
      ...(j.audit.verifiedAt === undefined ? [] : [['Verified at', esc(formatTime(j.audit.verifiedAt))] as const]),
    ])}${problems}</div>`;
  }

  const body = `
<div class="notice" role="note" data-disclaimer><strong>Evidence, not certification.</strong> ${esc(NOT_A_CERTIFICATION)}${j.standard === undefined ? '' : ` It was gathered to support a review against <em>${esc(j.standard)}</em>.`}</div>
<section class="summary"><div class="cards">${cards}</div></section>
<section><h2>Findings</h2>${findings}</section>
<section><h2>Cryptography and format</h2><p class="muted">Read from the repository's authenticated config object.</p>${algorithms}</section>
<section><h2>Keys</h2><p class="muted">Key metadata only; no key material is part of this report. Keys older than ${esc(data.keyMaxAgeDays ?? 365)} days are flagged.</p>${keys}</section>
<section><h2>Retention policies in force</h2>${retention}</section>
<section><h2>Last successful backup per source</h2>${sources}</section>
<section><h2>Disaster-recovery drills</h2>${drills}</section>
<section><h2>Audit log integrity</h2><p class="muted">Every audit entry carries a MAC over its content and its predecessor's MAC; verification walks the chain from the first entry.</p>${audit}</section>`;
  return page({
    kind: 'compliance',
    title: 'Coffer compliance evidence report',
    metaHtml: `Repository <code>${esc(data.repository.url)}</code>${data.repository.repoId === undefined ? '' : ` (id <code>${esc(shortId(data.repository.repoId))}</code>)`} · generated ${esc(formatTime(j.generatedAt))}`,
    bodyHtml: body,
    footerHtml: esc(NOT_A_CERTIFICATION),
  });
}
