import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';

/** The nearest directory above this file with a package.json: right from source and from dist/. */
function projectRoot(): string {
  let dir = __dirname;
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`no package.json above ${__dirname}`);
    dir = parent;
  }
  return dir;
}

/** Every path the stack uses, derived from the project root so a second clone gets its own. */
export const ROOT = projectRoot();
export const DATA_DIR = join(ROOT, '.data');
export const LOG_DIR = join(DATA_DIR, 'logs');
export const PID_DIR = join(DATA_DIR, 'pids');
export const ENV_FILE = join(DATA_DIR, 'stack.env');
export const LOCK_FILE = join(DATA_DIR, 'stack.lock');
export const TOOLS_BIN = join(ROOT, '.tools', 'bin');
export const NODE_BIN = join(ROOT, 'node_modules', '.bin');

/**
 * Go binaries take minutes to build on two cores, so they are cached per
 * machine (outside the clone): a fresh CI clone on the same machine reuses them.
 */
export const TOOL_CACHE = process.env.COFFER_TOOL_CACHE ?? join(homedir(), '.cache', 'coffer', 'tools');

export function serviceDataDir(service: string): string {
  return join(DATA_DIR, service);
}

export function serviceLogFile(service: string): string {
  return join(LOG_DIR, `${service}.log`);
}

export function servicePidFile(service: string): string {
  return join(PID_DIR, `${service}.pid`);
}
