/**
 * The figure table of the chaos suite. Each scenario counts its runs and how
 * many ended ok (the checked property held) or lost something (data not
 * restorable byte-identical, a mutation gone undetected, a byte written
 * outside the target...). Counts come from real checks only; a test file
 * prints its rows once its tests are done, in the exact form
 *
 *   chaos: <scenario> runs=<n> ok=<n> lost=<n>
 *
 * followed by `chaos-detail: <scenario> key=value …` lines with the figures
 * behind them (retries, bytes re-uploaded, which check caught what).
 */
import { after } from 'node:test';

interface Row {
  runs: number;
  ok: number;
  lost: number;
  details: Map<string, number | string>;
}

export class ChaosReport {
  private readonly rows = new Map<string, Row>();

  constructor(printAtEnd = true) {
    if (printAtEnd) after(() => this.print());
  }

  private row(scenario: string): Row {
    let row = this.rows.get(scenario);
    if (row === undefined) {
      row = { runs: 0, ok: 0, lost: 0, details: new Map() };
      this.rows.set(scenario, row);
    }
    return row;
  }

  /** Registers the scenario so it prints even if it never completes a run (a crash shows as runs=0). */
  declare(scenario: string): void {
    this.row(scenario);
  }

  /** One run: `ok` if every check held, `lost` if data was lost; a run can be neither (e.g. an untyped error). */
  run(scenario: string, outcome: 'ok' | 'lost' | 'other'): void {
    const row = this.row(scenario);
    row.runs++;
    if (outcome === 'ok') row.ok++;
    if (outcome === 'lost') row.lost++;
  }

  /** Adds to a numeric detail figure (created at 0). */
  count(scenario: string, key: string, by = 1): void {
    const row = this.row(scenario);
    const current = row.details.get(key);
    row.details.set(key, (typeof current === 'number' ? current : 0) + by);
  }

  detail(scenario: string, key: string, value: number | string): void {
    this.row(scenario).details.set(key, value);
  }

  figures(scenario: string): { runs: number; ok: number; lost: number } {
    const { runs, ok, lost } = this.row(scenario);
    return { runs, ok, lost };
  }

  lines(): string[] {
    const out: string[] = [];
    for (const [name, r] of this.rows) out.push(`chaos: ${name} runs=${r.runs} ok=${r.ok} lost=${r.lost}`);
    for (const [name, r] of this.rows) {
      if (r.details.size === 0) continue;
      out.push(`chaos-detail: ${name} ${[...r.details].map(([k, v]) => `${k}=${v}`).join(' ')}`);
    }
    return out;
  }

  print(): void {
    for (const line of this.lines()) console.log(line);
  }
}
