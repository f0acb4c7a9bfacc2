/**
 * Errors of command sources, hooks (and the worker refusing them) and the anomaly check. Codes are stable;
 * workflows/codes.ts repeats them as strings for workflows and the CLI.
 */
import { CofferError } from '../errors';
import type { CofferErrorOptions } from '../errors';

/** A command source (a database dump or any other command) exited non-zero, was killed, or could not be started: no snapshot was written. */
export class SourceCommandFailed extends CofferError {
  readonly code = 'COFFER-E213';
  readonly retryable = false;
  constructor(message: string, options: CofferErrorOptions = {}) {
    super(message, { hint: 'run the command by hand on the host as the worker user to see why it fails; no snapshot was written', ...options });
  }
}

/** A pre or post hook exited non-zero, timed out or could not be started. */
export class HookFailed extends CofferError {
  readonly code = 'COFFER-E214';
  readonly retryable = false;
  constructor(message: string, options: CofferErrorOptions = {}) {
    super(message, { hint: 'run the hook by hand on the host as the worker user; fix it or remove it from the profile', ...options });
  }
}

/** The backup changed an unusual share of files or bytes (possible ransomware) and the profile says `anomaly.failBackup`. */
export class BackupAnomaly extends CofferError {
  readonly code = 'COFFER-E215';
  readonly retryable = false;
  constructor(message: string, options: CofferErrorOptions = {}) {
    super(message, {
      hint: 'inspect the host for ransomware or mass changes; if the change is legitimate, back up once with failBackup off (the earlier snapshots are untouched)',
      ...options,
    });
  }
}

/**
 * The worker refused to run a command source or hook: its program is not in
 * the worker's allowlist (COFFER_ALLOW_COMMANDS), or argv[0] is a relative path.
 */
export class CommandNotAllowed extends CofferError {
  readonly code = 'COFFER-E546';
  readonly retryable = false;
  constructor(message: string, options: CofferErrorOptions = {}) {
    super(message, { hint: "add the program's absolute path (or name) to COFFER_ALLOW_COMMANDS on that host's worker and restart it (docs/configuration.md)", ...options });
  }
}
