/**
 * The DR drill report: how long recovery took (RTO) and how old the
 * recovered data was (RPO) over past drills, each against its objective, and
 * how the repository grew. One self-contained HTML page (charts are inline
 * SVG) plus the same facts as JSON.
 *
 * The drill workflow / catalog produce `DrillReportData`; rendering is pure.
 */
import { esc } from './escape';
import { formatBytes, formatCount, formatDuration, formatTime, shortId } from './format';
import { badge, card, page } from './page';
import { byteStep, durationStep, lineChart } from './svg-chart';

export interface DrillObjectives {
  readonly rtoSeconds: number;
  readonly rpoSeconds: number;
}

/** One drill, as the drill workflow reports it. Times are ISO-8601. */
export interface DrillResult {
  /** When the drill started. */
  readonly time: string;
  readonly snapshotId: string;
  readonly snapshotTime: string;
  /** Wall time from the drill's start to a verified restore. */
  readonly rtoSeconds: number;
  /** Age of the snapshot when the drill started. */
  readonly rpoSeconds: number;
  readonly filesVerified: number;
  readonly bytesVerified: number;
  readonly passed: boolean;
  /** Human-readable gaps (differences, missed objectives); empty when passed. */
  readonly gaps: readonly string[];
  /** Optional context shown in the table. */
  readonly drillId?: string;
  readonly host?: string;
  /** The snapshot's source paths (user data: always escaped). */
  readonly paths?: readonly string[];
}

export interface GrowthPoint {
  readonly time: string;
  /** Stored (deduplicated, compressed) bytes in the repository at that time. */
  readonly bytes: number;
}

export interface DrillReportData {
  /** Repository URL or id (no credentials). */
  readonly repository: string;
  readonly objectives: DrillObjectives;
  readonly drills: readonly DrillResult[];
  readonly growth: readonly GrowthPoint[];
  /** ISO-8601; default: now. */
  readonly generatedAt?: string;
}

export interface DrillReportJson {
  readonly kind: 'coffer-drill-report';
  readonly version: 1;
  readonly generatedAt: string;
  readonly repository: string;
  readonly objectives: DrillObjectives;
  readonly summary: {
    readonly drills: number;
    readonly passed: number;
    readonly failed: number;
    readonly last?: { readonly time: string; readonly passed: boolean; readonly rtoSeconds: number; readonly rpoSeconds: number };
    readonly rtoSeconds?: { readonly min: number; readonly max: number; readonly median: number };
    readonly rpoSeconds?: { readonly min: number; readonly max: number; readonly median: number };
    readonly rtoMissed: number;
    readonly rpoMissed: number;
    readonly repositoryBytes?: number;
  };
  /** Oldest first, each with whether it met the objectives. */
  readonly drills: readonly (DrillResult & { readonly rtoMet: boolean; readonly rpoMet: boolean })[];
  readonly growth: readonly GrowthPoint[];
}

function byTime<T extends { readonly time: string }>(items: readonly T[]): T[] {
  return [...items].sort((a, b) => Date.parse(a.time) - Date.parse(b.time));
}

function stats(values: readonly number[]): { min: number; max: number; median: number } | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 === 1 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
  return { min: sorted[0] ?? 0, max: sorted[sorted.length - 1] ?? 0, median };
}

/** The report's facts as a JSON-safe object (`JSON.stringify` it to write `drill-report.json`). */
export function drillReportJson(data: DrillReportData): DrillReportJson {
  const drills = byTime(data.drills).map((d) => ({ ...d, rtoMet: d.rtoSeconds <= data.objectives.rtoSeconds, rpoMet: d.rpoSeconds <= data.objectives.rpoSeconds }));
  const growth = byTime(data.growth);
  const last = drills[drills.length - 1];
  const rto = stats(drills.map((d) => d.rtoSeconds));
  const rpo = stats(drills.map((d) => d.rpoSeconds));
  const lastGrowth = growth[growth.length - 1];
  return {
    kind: 'coffer-drill-report',
    version: 1,
    generatedAt: data.generatedAt ?? new Date().toISOString(),
    repository: data.repository,
    objectives: data.objectives,
    summary: {
      drills: drills.length,
      passed: drills.filter((d) => d.passed).length,
      failed: drills.filter((d) => !d.passed).length,
      ...(last === undefined ? {} : { last: { time: last.time, passed: last.passed, rtoSeconds: last.rtoSeconds, rpoSeconds: last.rpoSeconds } }),
      ...(rto === undefined ? {} : { rtoSeconds: rto }),
      ...(rpo === undefined ? {} : { rpoSeconds: rpo }),
      rtoMissed: drills.filter((d) => !d.rtoMet).length,
      rpoMissed: drills.filter((d) => !d.rpoMet).length,
      ...(lastGrowth === undefined ? {} : { repositoryBytes: lastGrowth.bytes }),
    },
    drills,
    growth,
  };
}

/** The RTO and RPO charts (also used by the compliance report). */
export function drillCharts(objectives: DrillObjectives, drills: readonly DrillResult[]): { rto: string; rpo: string } {
  const sorted = byTime(drills);
  const point = (d: DrillResult, value: number, what: string) => ({
    time: Date.parse(d.time),
    value,
    passed: d.passed,
    label: `${formatTime(d.time)}: ${what} ${formatDuration(value)} (${d.passed ? 'passed' : 'FAILED'}), snapshot ${shortId(d.snapshotId)}`,
  });
  return {
    rto: lineChart({
      id: 'rto',
      title: 'Recovery time (RTO) per drill against the objective',
      points: sorted.map((d) => point(d, d.rtoSeconds, 'RTO')),
      objective: { value: objectives.rtoSeconds, label: `RTO objective ${formatDuration(objectives.rtoSeconds)}` },
      formatValue: formatDuration,
      step: durationStep,
    }),
    rpo: lineChart({
      id: 'rpo',
      title: 'Recovery point (RPO, snapshot age) per drill against the objective',
      points: sorted.map((d) => point(d, d.rpoSeconds, 'RPO')),
      objective: { value: objectives.rpoSeconds, label: `RPO objective ${formatDuration(objectives.rpoSeconds)}` },
      formatValue: formatDuration,
      step: durationStep,
    }),
  };
}

function figure(caption: string, legend: string, svg: string): string {
  return `<figure><figcaption>${esc(caption)}<span class="legend">${esc(legend)}</span></figcaption>${svg}</figure>`;
}

/** The drills table, newest first; failed rows carry class "failed" and data-passed="false". */
export function drillTable(objectives: DrillObjectives, drills: readonly DrillResult[]): string {
  if (drills.length === 0) return '<p class="muted">No drills have run yet.</p>';
  const rows = byTime(drills)
    .reverse()
    .map((d) => {
      const rtoCell = d.rtoSeconds > objectives.rtoSeconds ? `<span class="missed">${esc(formatDuration(d.rtoSeconds))}</span>` : esc(formatDuration(d.rtoSeconds));
      const rpoCell = d.rpoSeconds > objectives.rpoSeconds ? `<span class="missed">${esc(formatDuration(d.rpoSeconds))}</span>` : esc(formatDuration(d.rpoSeconds));
      const paths = d.paths === undefined || d.paths.length === 0 ? '' : `<div class="mono muted">${d.paths.map((p) => esc(p)).join('<br>')}</div>`;
      const host = d.host === undefined ? '' : `<div class="muted">${esc(d.host)}</div>`;
      const findings = d.gaps.length === 0 ? '<span class="muted">none</span>' : `<ul class="findings">${d.gaps.map((g) => `<li>${esc(g)}</li>`).join('')}</ul>`;
      return (
        `<tr class="drill${d.passed ? '' : ' failed'}" data-passed="${d.passed}">` +
        `<td>${esc(formatTime(d.time))}${host}</td>` +
        `<td><code title="${esc(d.snapshotId)}">${esc(shortId(d.snapshotId))}</code><div class="muted">taken ${esc(formatTime(d.snapshotTime))}</div>${paths}</td>` +
        `<td class="num">${rtoCell}</td><td class="num">${rpoCell}</td>` +
        `<td class="num">${esc(formatCount(d.filesVerified))}<div class="muted">${esc(formatBytes(d.bytesVerified))}</div></td>` +
        `<td>${badge(d.passed)}</td><td>${findings}</td></tr>`
      );
    })
    .join('\n');
  return `<table class="drills"><thead><tr><th>Drill started</th><th>Snapshot</th><th class="num">RTO</th><th class="num">RPO</th><th class="num">Verified</th><th>Result</th><th>Findings</th></tr></thead><tbody>
${rows}
</tbody></table>`;
}

/** A self-contained HTML page (inline CSS and SVG, no scripts, no network). */
export function renderDrillReport(data: DrillReportData): string {
  const json = drillReportJson(data);
  const s = json.summary;
  const charts = drillCharts(data.objectives, data.drills);
  const growth = lineChart({
    id: 'growth',
    title: 'Repository size over time',
    points: json.growth.map((g) => ({ time: Date.parse(g.time), value: g.bytes, label: `${formatTime(g.time)}: ${formatBytes(g.bytes)}` })),
    formatValue: formatBytes,
    step: byteStep,
    area: true,
  });
  const lastTone = s.last === undefined ? 'warn' : s.last.passed ? 'ok' : 'bad';
  const cards = [
    card('Last drill', s.last === undefined ? 'none yet' : `${badge(s.last.passed)} <span class="muted" style="font-size:13px">${esc(formatTime(s.last.time))}</span>`, lastTone),
    card('Drills passed', `${s.passed} / ${s.drills}`, s.failed === 0 && s.drills > 0 ? 'ok' : s.failed > 0 ? 'bad' : 'warn'),
    card('Worst RTO', s.rtoSeconds === undefined ? '—' : esc(formatDuration(s.rtoSeconds.max)), s.rtoMissed > 0 ? 'bad' : 'ok'),
    card('Worst RPO', s.rpoSeconds === undefined ? '—' : esc(formatDuration(s.rpoSeconds.max)), s.rpoMissed > 0 ? 'bad' : 'ok'),
    card('Repository size', s.repositoryBytes === undefined ? '—' : esc(formatBytes(s.repositoryBytes))),
  ].join('');
  const failing = json.drills.filter((d) => !d.passed);
  const notice =
    failing.length === 0
      ? ''
      : `<div class="notice bad" data-failed-drills="${failing.length}"><strong>${failing.length} of ${json.drills.length} drills failed.</strong> Each failed drill is a recovery that would not have met its objectives or did not restore correctly; its findings are listed below.</div>`;
  const body = `
<section class="summary"><div class="cards">${cards}</div>${notice}</section>
<section><h2>Objectives</h2><dl class="kv"><dt>Recovery time objective (RTO)</dt><dd>${esc(formatDuration(data.objectives.rtoSeconds))} — wall time from the start of a drill to a restore verified byte for byte</dd><dt>Recovery point objective (RPO)</dt><dd>${esc(formatDuration(data.objectives.rpoSeconds))} — age of the restored snapshot when the drill started</dd></dl></section>
<section class="charts"><h2>Trends</h2>
${figure('Recovery time (RTO)', 'dots: drills (red = failed) · dashed: objective', charts.rto)}
${figure('Recovery point (RPO)', 'dots: drills (red = failed) · dashed: objective', charts.rpo)}
${figure('Repository growth', 'stored bytes after deduplication and compression', growth)}
</section>
<section><h2>Drills</h2>${drillTable(data.objectives, data.drills)}</section>`;
  return page({
    kind: 'drill',
    title: 'Coffer disaster-recovery drill report',
    metaHtml: `Repository <code>${esc(data.repository)}</code> · generated ${esc(formatTime(json.generatedAt))} · ${json.drills.length} drill${json.drills.length === 1 ? '' : 's'}`,
    bodyHtml: body,
    footerHtml: 'Generated by Coffer from recorded drill results. A drill restores a snapshot into a scratch directory, verifies it byte for byte against the snapshot, and measures RTO and RPO.',
  });
}
