/**
 * A small time-series chart as inline SVG: no scripts, no fonts to fetch, so
 * a report stays one self-contained file that renders the same in a browser,
 * a mail client or a PDF.
 *
 * The markup is meant to be checked by tests as well as read by people:
 * the <svg> carries `data-chart` and `data-points`, each point is a
 * <circle class="point" data-value data-time data-passed>, the series is a
 * <path class="series">, and an objective is a <line class="objective"
 * data-objective>.
 */
import { esc } from './escape';
import { formatDate } from './format';

export interface ChartPoint {
  /** Epoch milliseconds. */
  readonly time: number;
  readonly value: number;
  /** Undefined = neutral (growth); false = drawn as a failure. */
  readonly passed?: boolean;
  /** Tooltip text. */
  readonly label: string;
}

export interface LineChartOptions {
  /** Stable id, also used as `data-chart` (e.g. 'rto'). */
  readonly id: string;
  /** Accessible title. */
  readonly title: string;
  readonly points: readonly ChartPoint[];
  /** A horizontal target line (e.g. the RTO objective). */
  readonly objective?: { readonly value: number; readonly label: string };
  readonly formatValue: (value: number) => string;
  /** Picks the grid step from a rough step (default decimalStep). */
  readonly step?: (rough: number) => number;
  /** Shade the area under the line (for cumulative series such as repository size). */
  readonly area?: boolean;
  readonly width?: number;
  readonly height?: number;
}

const MARGIN = { top: 16, right: 20, bottom: 34, left: 70 };

const GRID_LINES = 4;

/** Grid steps a reader can add up in their head: 1, 2, 2.5, 5 × a power of ten. */
export function decimalStep(rough: number): number {
  if (rough <= 0) return 1;
  const power = 10 ** Math.floor(Math.log10(rough));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * power >= rough) return m * power;
  return 10 * power;
}

const DURATION_STEPS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10_800, 21_600, 43_200, 86_400, 172_800, 604_800];

/** Grid steps in whole seconds, minutes, hours or days (for RTO/RPO axes). */
export function durationStep(roughSeconds: number): number {
  return DURATION_STEPS.find((s) => s >= roughSeconds) ?? Math.ceil(roughSeconds / 604_800) * 604_800;
}

/** Grid steps of 1, 2, 2.5 or 5 × 10^n KiB/MiB/GiB/… (for byte axes). */
export function byteStep(roughBytes: number): number {
  let unit = 1;
  while (unit * 1024 <= roughBytes) unit *= 1024;
  return decimalStep(roughBytes / unit) * unit;
}

function fixed(n: number): string {
  return (Math.round(n * 10) / 10).toString();
}

export function lineChart(options: LineChartOptions): string {
  const width = options.width ?? 960;
  const height = options.height ?? 280;
  const plotW = width - MARGIN.left - MARGIN.right;
  const plotH = height - MARGIN.top - MARGIN.bottom;
  const points = [...options.points].sort((a, b) => a.time - b.time);
  const head = `<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" data-chart="${esc(options.id)}" data-points="${points.length}" aria-labelledby="${esc(options.id)}-title"><title id="${esc(options.id)}-title">${esc(options.title)}</title>`;
  if (points.length === 0) {
    return `${head}<rect class="frame" x="${MARGIN.left}" y="${MARGIN.top}" width="${plotW}" height="${plotH}"/><text class="empty" x="${width / 2}" y="${height / 2}" text-anchor="middle">no data yet</text></svg>`;
  }

  const minT = points[0]?.time ?? 0;
  const maxT = points[points.length - 1]?.time ?? 0;
  const highest = Math.max(...points.map((p) => p.value), options.objective?.value ?? 0) * 1.1;
  const step = (options.step ?? decimalStep)(highest / GRID_LINES);
  const top = step * Math.max(1, Math.ceil(highest / step));
  const lines = Math.round(top / step);
  const x = (t: number): number => MARGIN.left + (maxT === minT ? plotW / 2 : ((t - minT) / (maxT - minT)) * plotW);
  const y = (v: number): number => MARGIN.top + plotH - (Math.max(0, v) / top) * plotH;

  const parts: string[] = [head];
  // Grid and y axis labels.
  for (let i = 0; i <= lines; i++) {
    const v = step * i;
    const gy = fixed(y(v));
    parts.push(`<line class="grid" x1="${MARGIN.left}" x2="${MARGIN.left + plotW}" y1="${gy}" y2="${gy}"/>`);
    parts.push(`<text class="axis" x="${MARGIN.left - 8}" y="${gy}" dy="0.32em" text-anchor="end">${esc(options.formatValue(v))}</text>`);
  }
  // X axis labels: first and last date (and the middle one when there is room).
  const ticks = maxT === minT ? [minT] : [minT, (minT + maxT) / 2, maxT];
  ticks.forEach((t, i) => {
    const anchor = ticks.length === 1 ? 'middle' : i === 0 ? 'start' : i === ticks.length - 1 ? 'end' : 'middle';
    parts.push(`<text class="axis" x="${fixed(x(t))}" y="${height - 10}" text-anchor="${anchor}">${esc(formatDate(t))}</text>`);
  });
  parts.push(`<line class="baseline" x1="${MARGIN.left}" x2="${MARGIN.left + plotW}" y1="${fixed(y(0))}" y2="${fixed(y(0))}"/>`);

  const coords = points.map((p) => `${fixed(x(p.time))},${fixed(y(p.value))}`);
  if (options.area === true && points.length > 1) {
    parts.push(`<path class="area" d="M${fixed(x(minT))},${fixed(y(0))} L${coords.join(' L')} L${fixed(x(maxT))},${fixed(y(0))} Z"/>`);
  }
  parts.push(`<path class="series" data-series="${esc(options.id)}" d="M${coords.join(' L')}"/>`);

  if (options.objective !== undefined) {
    const oy = fixed(y(options.objective.value));
    parts.push(
      `<g class="objective-group"><line class="objective" data-objective="${options.objective.value}" x1="${MARGIN.left}" x2="${MARGIN.left + plotW}" y1="${oy}" y2="${oy}"/>` +
        `<text class="objective-label" x="${MARGIN.left + plotW - 4}" y="${oy}" dy="-5" text-anchor="end">${esc(options.objective.label)}</text></g>`,
    );
  }

  points.forEach((p, i) => {
    const state = p.passed === undefined ? 'neutral' : p.passed ? 'pass' : 'fail';
    const passedAttr = p.passed === undefined ? '' : ` data-passed="${p.passed}"`;
    parts.push(
      `<circle class="point ${state}" cx="${fixed(x(p.time))}" cy="${fixed(y(p.value))}" r="${state === 'fail' ? 6 : 4.5}" data-index="${i}" data-time="${esc(new Date(p.time).toISOString())}" data-value="${p.value}"${passedAttr}><title>${esc(p.label)}</title></circle>`,
    );
  });
  parts.push('</svg>');
  return parts.join('');
}
