/**
 * The shell every report shares: one HTML file with its CSS inline and a
 * Content-Security-Policy that allows no scripts and no network at all, so a
 * report opened from a mail attachment or a ticket cannot fetch or run
 * anything (a second line of defence behind escaping).
 */
import { esc } from './escape';

const CSS = `
:root { --fg:#1c2430; --muted:#5b6678; --line:#d9dee7; --bg:#ffffff; --panel:#f6f8fb; --ok:#1a7f45; --bad:#c62828; --warn:#a86400; --accent:#2456b3; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; color: var(--fg); background: var(--bg); }
main { max-width: 1080px; margin: 0 auto; padding: 28px 32px 48px; }
header.report { border-bottom: 2px solid var(--fg); padding-bottom: 12px; margin-bottom: 20px; }
header.report h1 { margin: 0 0 4px; font-size: 24px; }
header.report .meta { color: var(--muted); font-size: 13px; }
h2 { font-size: 18px; margin: 28px 0 10px; padding-bottom: 4px; border-bottom: 1px solid var(--line); }
h3 { font-size: 15px; margin: 16px 0 6px; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(170px, 1fr)); gap: 12px; margin: 12px 0 8px; }
.card { background: var(--panel); border: 1px solid var(--line); border-radius: 8px; padding: 10px 12px; }
.card .label { color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: .04em; }
.card .value { font-size: 20px; font-weight: 600; margin-top: 2px; }
.card.ok .value { color: var(--ok); } .card.bad .value { color: var(--bad); } .card.warn .value { color: var(--warn); }
.charts { display: grid; grid-template-columns: 1fr; gap: 14px; }
figure { margin: 0; background: var(--panel); border: 1px solid var(--line); border-radius: 8px; padding: 10px 12px 6px; }
figcaption { font-weight: 600; margin-bottom: 4px; }
figcaption .legend { font-weight: 400; color: var(--muted); font-size: 12px; margin-left: 8px; }
svg.chart { width: 100%; height: auto; display: block; }
svg.chart .frame { fill: none; stroke: var(--line); }
svg.chart .grid { stroke: var(--line); stroke-width: 1; }
svg.chart .baseline { stroke: #9aa3b2; stroke-width: 1; }
svg.chart .axis { fill: var(--muted); font-size: 12.5px; }
svg.chart .empty { fill: var(--muted); font-size: 14px; }
svg.chart .series { fill: none; stroke: var(--accent); stroke-width: 2; }
svg.chart .area { fill: var(--accent); opacity: .12; }
svg.chart .objective { stroke: var(--warn); stroke-width: 2; stroke-dasharray: 7 5; }
svg.chart .objective-label { fill: var(--warn); font-size: 12.5px; font-weight: 600; }
svg.chart .point { stroke: #fff; stroke-width: 1.5; }
svg.chart .point.pass, svg.chart .point.neutral { fill: var(--accent); }
svg.chart .point.fail { fill: var(--bad); }
table { border-collapse: collapse; width: 100%; font-size: 13px; }
th, td { text-align: left; padding: 6px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { background: var(--panel); font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tr.failed td { background: #fdf1f1; }
code, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12px; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 12px; font-weight: 700; letter-spacing: .03em; }
.badge.pass { background: #e3f4ea; color: var(--ok); } .badge.fail { background: #fbe3e3; color: var(--bad); } .badge.warn { background: #fff1d6; color: var(--warn); }
.missed { color: var(--bad); font-weight: 600; }
ul.findings { margin: 0; padding-left: 18px; } ul.findings li { margin: 0; }
.muted { color: var(--muted); }
.notice { border: 1px solid var(--warn); background: #fff8e8; border-radius: 8px; padding: 10px 14px; margin: 12px 0; }
.notice.bad { border-color: var(--bad); background: #fdf1f1; }
dl.kv { display: grid; grid-template-columns: max-content 1fr; gap: 4px 16px; margin: 6px 0; }
dl.kv dt { color: var(--muted); } dl.kv dd { margin: 0; }
footer { margin-top: 36px; color: var(--muted); font-size: 12px; border-top: 1px solid var(--line); padding-top: 8px; }
@media print { main { padding: 0; max-width: none; } figure, table, .card { break-inside: avoid; } h2 { break-after: avoid; } }
`;

export interface PageOptions {
  readonly title: string;
  /** Already-escaped HTML for the header's meta line. */
  readonly metaHtml: string;
  /** Already-escaped HTML body sections. */
  readonly bodyHtml: string;
  readonly footerHtml: string;
  /** Machine-readable kind on <html data-report>. */
  readonly kind: string;
}

export function page(options: PageOptions): string {
  return `<!DOCTYPE html>
<html lang="en" data-report="${esc(options.kind)}">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="Coffer">
<title>${esc(options.title)}</title>
<style>${CSS}</style>
</head>
<body>
<main>
<header class="report"><h1>${esc(options.title)}</h1><div class="meta">${options.metaHtml}</div></header>
${options.bodyHtml}
<footer>${options.footerHtml}</footer>
</main>
</body>
</html>
`;
}

/** A summary card; `valueHtml` is already escaped. */
export function card(label: string, valueHtml: string, tone: 'ok' | 'bad' | 'warn' | 'plain' = 'plain'): string {
  return `<div class="card ${tone}"><div class="label">${esc(label)}</div><div class="value">${valueHtml}</div></div>`;
}

export function badge(passed: boolean, text = passed ? 'PASS' : 'FAIL'): string {
  return `<span class="badge ${passed ? 'pass' : 'fail'}">${esc(text)}</span>`;
}
