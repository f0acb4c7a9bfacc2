/**
 * Which programs a worker may run as command sources and hooks.
 *
 * Anyone who can start a backupWorkflow (the Temporal UI, a script with
 * Temporal access) chooses the argv of its command source and hooks, so the
 * worker, not the workflow input, decides what may run: its configuration
 * lists the allowed programs (COFFER_ALLOW_COMMANDS). Nothing is allowed by
 * default.
 *
 * Matching, on both sides by the real absolute path of the program file:
 *   - an entry is an absolute path (`/usr/bin/pg_dump`) or a bare name
 *     (`pg_dump`) looked up in the PATH that commands get;
 *   - argv[0] is resolved the same way (absolute path, or bare name through
 *     that PATH); a relative path such as `./dump.sh` is always refused
 *     (it would depend on the working directory);
 *   - symbolic links are followed on both sides, so `/usr/bin/sh` and `sh`
 *     match an entry `/bin/dash` when that is what they are;
 *   - the resolved path is what gets executed (argv[0] as the program sees it
 *     is kept), so the checked file is the one that runs: no shell, no second
 *     PATH lookup.
 * Allowing a shell or an interpreter (sh, bash, python) allows whatever it is
 * told to run: list the dump tools themselves where you can.
 */
import { constants } from 'node:fs';
import { access, realpath, stat } from 'node:fs/promises';
import { delimiter, isAbsolute, join } from 'node:path';
import { CommandNotAllowed } from './errors';

/** The worker setting that lists allowed programs (named in errors and docs). */
export const ALLOW_COMMANDS_SETTING = 'COFFER_ALLOW_COMMANDS';

/** What the worker's configuration says about running commands (see workers/config.ts). */
export interface CommandPolicy {
  /** Absolute paths or bare names of the programs command sources and hooks may run; empty: none. */
  readonly allow: readonly string[];
  /** The environment commands and hooks get (already stripped of Coffer's and the backends' credentials). */
  readonly env: Readonly<Record<string, string>>;
}

/** No program may run (what a worker without the setting gets). */
export const NO_COMMANDS: CommandPolicy = { allow: [], env: {} };

/** Undefined when `entry` can be an allowlist entry, else why not. */
export function allowEntryProblem(entry: string): string | undefined {
  if (entry === '' || entry.includes('\0')) return 'empty entry';
  if (isAbsolute(entry)) return undefined;
  if (entry.includes('/')) return `'${entry}' is a relative path: give an absolute path or a bare program name`;
  return undefined;
}

/** Splits the comma-separated setting into entries (blank entries dropped). */
export function parseAllowList(text: string | undefined): string[] {
  return (text ?? '')
    .split(',')
    .map((e) => e.trim())
    .filter((e) => e !== '');
}

async function isExecutableFile(path: string): Promise<boolean> {
  try {
    if (!(await stat(path)).isFile()) return false;
    await access(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * The real path of the program a name or absolute path denotes, or undefined
 * when there is none (missing, not executable, relative).
 */
export async function resolveProgram(program: string, env: Readonly<Record<string, string>>): Promise<string | undefined> {
  let candidate: string | undefined;
  if (isAbsolute(program)) {
    candidate = program;
  } else if (!program.includes('/') && program !== '') {
    for (const dir of (env.PATH ?? '').split(delimiter)) {
      // An empty PATH element means the current directory: never searched here.
      if (dir === '' || !isAbsolute(dir)) continue;
      if (await isExecutableFile(join(dir, program))) {
        candidate = join(dir, program);
        break;
      }
    }
  }
  if (candidate === undefined || !(await isExecutableFile(candidate))) return undefined;
  try {
    return await realpath(candidate);
  } catch {
    return undefined;
  }
}

export interface CommandUse {
  /** `command source 'db'` or `pre hook of source 'db'`: how the message names the use. */
  readonly what: string;
  readonly argv: readonly string[];
}

/**
 * The path to execute for `use.argv`, or CommandNotAllowed (non-retryable)
 * naming the program and the setting to change.
 */
export async function authorizeCommand(use: CommandUse, policy: CommandPolicy, taskQueue: string): Promise<string> {
  const program = use.argv[0] ?? '';
  const refuse = (why: string): CommandNotAllowed =>
    new CommandNotAllowed(`${use.what}: '${program}' ${why} on the worker of task queue ${taskQueue} (see ${ALLOW_COMMANDS_SETTING})`, {
      hint:
        policy.allow.length === 0
          ? `no command may run on this worker: add the program's absolute path (or name) to ${ALLOW_COMMANDS_SETTING} in the worker's environment and restart the worker (docs/configuration.md)`
          : `add the program's absolute path (or name) to ${ALLOW_COMMANDS_SETTING} in the worker's environment and restart the worker, or use an allowed program (docs/configuration.md)`,
    });
  if (!isAbsolute(program) && program.includes('/')) throw refuse('is a relative path (give an absolute path or a bare program name), not allowed');
  if (policy.allow.length === 0) throw refuse('is not allowed: no command is allowed');
  const resolved = await resolveProgram(program, policy.env);
  for (const entry of policy.allow) {
    if (allowEntryProblem(entry) !== undefined) continue;
    if (resolved === undefined) {
      // Listed but missing: let it run and fail as "could not be started (ENOENT)", which says what is wrong.
      if (entry === program) return program;
      continue;
    }
    if ((await resolveProgram(entry, policy.env)) === resolved) return resolved;
  }
  throw refuse(resolved === undefined ? 'is not an allowed program (not found here either)' : `(${resolved}) is not allowed`);
}
