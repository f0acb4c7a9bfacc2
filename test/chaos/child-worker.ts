/**
 * A Coffer worker as a real child process (`node --import tsx workers/main.ts`)
 * on the harness's unique task queues, with its stdout/stderr appended to a
 * log file the secrets scan reads later. Killed with SIGKILL: no drain, no
 * cleanup, exactly like a machine losing power.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { resolve } from 'node:path';

const ROOT = resolve(__dirname, '..', '..');

export interface ChildWorker {
  readonly child: ChildProcess;
  /** Resolves once the worker printed its ready line (rejects if it exits first). */
  readonly ready: Promise<void>;
  readonly exited: Promise<number | null>;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

export function spawnWorker(env: NodeJS.ProcessEnv, logFile: string): ChildWorker {
  const log = createWriteStream(logFile, { flags: 'a' });
  log.write(`\n=== worker started ${new Date().toISOString()}\n`);
  const child = spawn(process.execPath, ['--import', 'tsx', 'workers/main.ts'], {
    cwd: ROOT,
    env: { ...env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
  const ready = new Promise<void>((done, fail) => {
    let seen = '';
    child.stdout.on('data', (c: Buffer) => {
      seen += c.toString('utf8');
      if (/coffer worker .*: namespace/.test(seen)) done();
    });
    void exited.then((code) => fail(new Error(`worker exited with ${String(code)} before it was ready; see ${logFile}`)));
  });
  ready.catch(() => undefined);
  child.stdout.pipe(log, { end: false });
  child.stderr.pipe(log, { end: false });
  void exited.then(() => log.end());
  return {
    child,
    ready,
    exited,
    async kill(signal: NodeJS.Signals = 'SIGKILL') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
}
