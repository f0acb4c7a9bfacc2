import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * The local stack writes every endpoint and test credential to one KEY=VALUE
 * file (default `.data/stack.env` at the project root). Tests, the worker and
 * the CLI read it when present; real deployments set the same variables in
 * the environment instead.
 */
export const DEFAULT_STACK_ENV_FILE = join(projectRoot(__dirname), '.data', 'stack.env');

/** The nearest directory holding package.json: the same from sources and from dist/. */
function projectRoot(start: string): string {
  let dir = start;
  for (;;) {
    if (existsSync(join(dir, 'package.json')) && !dir.endsWith('dist')) return dir;
    const parent = dirname(dir);
    if (parent === dir) return start;
    dir = parent;
  }
}

export function parseEnvFile(text: string): Record<string, string> {
  const vars: Record<string, string> = {};
  for (const rawLine of text.split('\n')) {
    const line = rawLine.trim();
    if (line === '' || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    if (eq <= 0) continue;
    const key = line.slice(0, eq).trim();
    let value = line.slice(eq + 1).trim();
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) {
      value = JSON.parse(value) as string;
    }
    vars[key] = value;
  }
  return vars;
}

/** Reads the stack env file; returns undefined if it does not exist. */
export function readStackEnv(file: string = process.env.COFFER_STACK_ENV ?? DEFAULT_STACK_ENV_FILE): Record<string, string> | undefined {
  if (!existsSync(file)) return undefined;
  return parseEnvFile(readFileSync(file, 'utf8'));
}

/** Environment with the stack file's values underneath the real environment's. */
export function environmentWithStack(env: NodeJS.ProcessEnv = process.env): Record<string, string | undefined> {
  return { ...(readStackEnv() ?? {}), ...env };
}
