/**
 * Checks for the two ways a schedule can be written: a cron expression (the
 * five-field form Temporal Schedules accept, or @hourly/@daily/…) and an
 * interval such as `6h` or `1h30m`. Checked here so a typo is reported with
 * its line before anything reaches Temporal.
 */

const CRON_MACROS = new Set(['@yearly', '@annually', '@monthly', '@weekly', '@daily', '@midnight', '@hourly']);

const FIELDS: readonly { readonly name: string; readonly min: number; readonly max: number; readonly names?: readonly string[] }[] = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day of month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12, names: ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'] },
  { name: 'day of week', min: 0, max: 7, names: ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] },
];

function fieldValue(text: string, field: (typeof FIELDS)[number]): number | undefined {
  if (/^\d+$/.test(text)) {
    const n = Number(text);
    return n >= field.min && n <= field.max ? n : undefined;
  }
  const index = field.names?.indexOf(text.toLowerCase()) ?? -1;
  if (index < 0) return undefined;
  return field.name === 'month' ? index + 1 : index;
}

function fieldProblem(text: string, field: (typeof FIELDS)[number]): string | undefined {
  for (const part of text.split(',')) {
    const [range, step, extra] = part.split('/');
    if (extra !== undefined || range === undefined || range === '') return `bad ${field.name} field '${text}'`;
    if (step !== undefined && !(/^\d+$/.test(step) && Number(step) > 0)) return `bad step '${step}' in ${field.name} field`;
    if (range === '*') continue;
    const [from, to, more] = range.split('-');
    if (more !== undefined || from === undefined) return `bad ${field.name} field '${text}'`;
    const lo = fieldValue(from, field);
    const hi = to === undefined ? lo : fieldValue(to, field);
    if (lo === undefined || hi === undefined) return `${field.name} '${range}' is outside ${field.min}-${field.max}`;
    if (hi < lo) return `${field.name} range '${range}' runs backwards`;
  }
  return undefined;
}

/** Undefined when the expression is valid, otherwise what is wrong with it. */
export function cronProblem(expression: string): string | undefined {
  const text = expression.trim();
  if (CRON_MACROS.has(text.toLowerCase())) return undefined;
  const parts = text.split(/\s+/);
  if (parts.length !== 5) return `expected 5 fields (minute hour day-of-month month day-of-week) or @daily/@hourly/…, got ${parts.length}`;
  for (let i = 0; i < FIELDS.length; i++) {
    const field = FIELDS[i];
    if (field === undefined) break;
    const problem = fieldProblem(parts[i] ?? '', field);
    if (problem !== undefined) return problem;
  }
  return undefined;
}

const INTERVAL_UNITS: Readonly<Record<string, number>> = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 };

/**
 * Seconds in an interval like `90s`, `15m`, `6h`, `1d`, `1h30m` (s, m =
 * minutes, h, d, w). Undefined when the text is not one.
 */
export function parseInterval(text: string): number | undefined {
  const trimmed = text.trim();
  if (!/^(\d+[smhdw])+$/.test(trimmed)) return undefined;
  let seconds = 0;
  for (const match of trimmed.matchAll(/(\d+)([smhdw])/g)) seconds += Number(match[1]) * (INTERVAL_UNITS[match[2] ?? 's'] ?? 0);
  return seconds;
}
