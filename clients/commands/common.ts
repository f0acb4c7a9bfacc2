/** Small helpers shared by the CLI commands. */
import { InvalidArgumentError } from 'commander';
import type { Command } from 'commander';
import type { CliContext, GlobalOptions } from '../context';

export type ContextFactory = (command: Command) => CliContext;

/** Commander reducer for repeatable options (`--tag a --tag b`). */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

export function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a positive integer');
  return n;
}

export function nonNegativeInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('expected a non-negative integer');
  return n;
}

const DURATION_UNITS: Readonly<Record<string, number>> = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 };

/** '90s', '15m', '2h', '1d', '1w' or plain seconds -> seconds. */
export function durationSeconds(value: string): number {
  const match = /^(\d+(?:\.\d+)?)([smhdw]?)$/.exec(value.trim());
  if (match === null) throw new InvalidArgumentError('expected a duration such as 90s, 15m, 2h, 1d');
  return Number(match[1]) * (DURATION_UNITS[match[2] === '' ? 's' : (match[2])]);
}

export function shortId(id: string): string {
  return id.slice(0, 12);
}

export function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

export function globals(command: Command): GlobalOptions {
  return command.optsWithGlobals<GlobalOptions>();
}
