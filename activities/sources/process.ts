/**
 * Runs one argv (no shell) on this host with a bounded wait: stdout goes
 * where the caller says, stderr is kept as a bounded tail for the error
 * message. A timeout or an abort sends SIGTERM, then SIGKILL after a grace.
 */
import { spawn } from 'node:child_process';
import type { Writable } from 'node:stream';

export interface RunSpec {
  readonly argv: readonly string[];
  /** The file to execute (the allowlist's resolved path); argv[0] is still what the program sees. Default: argv[0]. */
  readonly executable?: string;
  readonly cwd?: string;
  /** 0 or absent: no timeout (the activity's own timeouts and cancellation still apply). */
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
  /** Where stdout goes; absent: discarded. The runner waits for it to finish. */
  readonly stdout?: Writable;
  /** Sees every stdout chunk (checksum, progress). */
  readonly onData?: (chunk: Buffer) => void;
}

export interface RunOutcome {
  /** Exit status, or null when killed by a signal. */
  readonly status: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly timedOut: boolean;
  /** The last lines of standard error (at most STDERR_TAIL_BYTES). */
  readonly stderrTail: string;
  /** Set when the program could not be started (ENOENT, EACCES). */
  readonly spawnError?: string;
}

const STDERR_TAIL_BYTES = 4096;
const KILL_GRACE_MS = 5_000;

/**
 * The environment commands and hooks get: the worker's, minus the variables
 * that carry Coffer's and the storage backends' credentials (a dump tool has
 * no business seeing the repository passphrase or the S3 secret).
 */
export function commandEnv(env: Readonly<Record<string, string | undefined>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined || /^(COFFER_|AWS_|AZURE_|GOOGLE_|GCS_|TEMPORAL_|STORAGE_EMULATOR_HOST$)/.test(k)) continue;
    out[k] = v;
  }
  return out;
}

/** The last `lines` non-empty lines of a stderr tail, joined with ' | ' for a one-line message. */
export function lastLines(text: string, lines = 5): string {
  return text
    .split('\n')
    .map((l) => l.trimEnd())
    .filter((l) => l !== '')
    .slice(-lines)
    .join(' | ');
}

/** How to show an argv in a message: words joined by spaces, quoted when needed. */
export function showArgv(argv: readonly string[]): string {
  return argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : JSON.stringify(a))).join(' ');
}

export function describeOutcome(outcome: RunOutcome, timeoutMs?: number): string {
  if (outcome.spawnError !== undefined) return `could not be started (${outcome.spawnError})`;
  if (outcome.timedOut) return `timed out after ${Math.round((timeoutMs ?? 0) / 1000)}s`;
  if (outcome.signal !== null) return `was killed by ${outcome.signal}`;
  return `exited with status ${String(outcome.status)}`;
}

/** Runs `spec` with the environment `env` (stripped again of credentials by commandEnv, whatever the caller passed). */
export function runArgv(spec: RunSpec, env: Readonly<Record<string, string | undefined>>): Promise<RunOutcome> {
  return new Promise((resolve, reject) => {
    const [program, ...args] = spec.argv;
    if (program === undefined) {
      reject(new Error('empty command'));
      return;
    }
    let stderr = Buffer.alloc(0);
    let timedOut = false;
    let spawnError: string | undefined;
    let killTimer: NodeJS.Timeout | undefined;
    const child = spawn(spec.executable ?? program, args, {
      argv0: program,
      cwd: spec.cwd,
      env: commandEnv(env),
      stdio: ['ignore', spec.stdout === undefined ? 'ignore' : 'pipe', 'pipe'],
      // Its own process group, so a timeout also stops what a `sh -c` started.
      detached: true,
    });
    const kill = (): void => {
      if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
      try {
        process.kill(-child.pid, 'SIGTERM');
      } catch {
        child.kill('SIGTERM');
      }
      killTimer ??= setTimeout(() => {
        try {
          if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
        } catch {
          child.kill('SIGKILL');
        }
      }, KILL_GRACE_MS);
    };
    const timer =
      spec.timeoutMs !== undefined && spec.timeoutMs > 0
        ? setTimeout(() => {
            timedOut = true;
            kill();
          }, spec.timeoutMs)
        : undefined;
    const onAbort = (): void => kill();
    spec.signal?.addEventListener('abort', onAbort, { once: true });

    child.stderr?.on('data', (d: Buffer) => {
      stderr = Buffer.concat([stderr, d]);
      if (stderr.length > STDERR_TAIL_BYTES) stderr = stderr.subarray(stderr.length - STDERR_TAIL_BYTES);
    });
    let stdoutDone: Promise<void> = Promise.resolve();
    if (spec.stdout !== undefined && child.stdout !== null) {
      const out = spec.stdout;
      const source = child.stdout;
      if (spec.onData !== undefined) {
        const onData = spec.onData;
        source.on('data', (d: Buffer) => onData(d));
      }
      stdoutDone = new Promise<void>((done, fail) => {
        out.on('finish', done);
        out.on('error', fail);
      });
      source.pipe(out);
    }
    child.on('error', (err: NodeJS.ErrnoException) => {
      spawnError = err.code ?? err.message;
    });
    child.on('close', (status, signal) => {
      if (timer !== undefined) clearTimeout(timer);
      if (killTimer !== undefined) clearTimeout(killTimer);
      spec.signal?.removeEventListener('abort', onAbort);
      // A program that never started has no stdout to finish.
      if (spawnError !== undefined) spec.stdout?.end();
      stdoutDone.then(
        () =>
          resolve({
            status: spawnError === undefined ? status : null,
            signal,
            timedOut,
            stderrTail: stderr.toString('utf8'),
            ...(spawnError === undefined ? {} : { spawnError }),
          }),
        reject,
      );
    });
  });
}
