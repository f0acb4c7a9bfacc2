/**
 * Turning measurements into the benchmark's output: the machine-readable
 * `bench:` lines (format fixed by issue 3) and a short human table.
 * 1 MB = 10^6 bytes (throughput); 1 MiB = 2^20 bytes (sizes, RSS).
 */
import type { Operation, OpResult } from './runner';
import { OPERATIONS } from './runner';

export interface ToolResults {
  readonly name: string;
  readonly description: string;
  readonly ops: Partial<Record<Operation, OpResult>>;
  readonly repoSizeBytes?: number;
}

export function mbPerSecond(bytes: number, seconds: number): number {
  return bytes / 1e6 / seconds;
}

function fmt(x: number | undefined, digits: number): string {
  return x === undefined || !Number.isFinite(x) ? 'n/a' : x.toFixed(digits);
}

const MiB = 1024 * 1024;

/** The fixed-format lines: throughput per operation, repository size, peak RSS. */
export function benchLines(datasetBytes: number, tools: readonly ToolResults[]): string[] {
  const lines: string[] = [];
  const byName = new Map(tools.map((t) => [t.name, t]));
  const named = ['coffer', 'restic', 'borg'];
  const extras = tools.filter((t) => !named.includes(t.name));
  const order = [...named, ...extras.map((t) => t.name)];
  const rate = (tool: string, op: Operation): number | undefined => {
    const r = byName.get(tool)?.ops[op];
    return r ? mbPerSecond(datasetBytes, r.seconds) : undefined;
  };
  for (const op of OPERATIONS) {
    const parts = order.map((t) => `${t}=${fmt(rate(t, op), 1)}`);
    const restic = rate('restic', op);
    const ratio = (tool: string): string => {
      const mine = rate(tool, op);
      return mine !== undefined && restic !== undefined ? (mine / restic).toFixed(2) : 'n/a';
    };
    // The first four fields keep the issue's exact format; variants follow.
    const extraRatios = extras.map((t) => ` ratio_${t.name}_vs_restic=${ratio(t.name)}`).join('');
    const [coffer, resticPart, borg, ...rest] = parts;
    lines.push(`bench: ${op} ${coffer} ${resticPart} ${borg} ratio_vs_restic=${ratio('coffer')}${rest.map((p) => ` ${p}`).join('')}${extraRatios}`);
  }
  const size = (t: string): string => fmt(byName.get(t)?.repoSizeBytes !== undefined ? byName.get(t)!.repoSizeBytes! / MiB : undefined, 1);
  lines.push(`bench: repo-size ${order.map((t) => `${t}=${size(t)}`).join(' ')}`);
  for (const op of OPERATIONS) {
    const rss = (t: string): string => {
      const kib = byName.get(t)?.ops[op]?.peakRssKiB;
      return fmt(kib !== undefined ? kib / 1024 : undefined, 0);
    };
    lines.push(`bench: peak-rss-${op} ${order.map((t) => `${t}=${rss(t)}`).join(' ')}`);
  }
  return lines;
}

/** A compact table for people: seconds, MB/s and peak RSS per tool and operation. */
export function humanTable(datasetBytes: number, tools: readonly ToolResults[]): string {
  const header = ['operation', ...tools.map((t) => t.name)];
  const rows: string[][] = [];
  for (const op of OPERATIONS) {
    rows.push([op, ...tools.map((t) => {
      const r = t.ops[op];
      if (!r) return 'n/a';
      const rss = r.peakRssKiB !== undefined ? `, ${(r.peakRssKiB / 1024).toFixed(0)} MiB` : '';
      return `${r.seconds.toFixed(2)} s (${mbPerSecond(datasetBytes, r.seconds).toFixed(0)} MB/s${rss})`;
    })]);
  }
  rows.push(['repo size', ...tools.map((t) => (t.repoSizeBytes !== undefined ? `${(t.repoSizeBytes / MiB).toFixed(1)} MiB` : 'n/a'))]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: readonly string[]): string => cells.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}
