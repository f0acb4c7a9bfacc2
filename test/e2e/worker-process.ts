/** Running the real worker entry point (workers/main.ts) as a child process, to kill it. */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { join, resolve } from 'node:path';
import type { Client } from '@temporalio/client';

const ROOT = resolve(__dirname, '..', '..');

export interface WorkerProcess {
  readonly child: ChildProcess;
  readonly output: () => string;
  /** Resolves with the exit code (or the signal name). */
  readonly exited: Promise<number | string>;
}

export function spawnWorker(env: NodeJS.ProcessEnv): WorkerProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'workers', 'main.ts')], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | string>((resolveExit) => child.on('exit', (code, signal) => resolveExit(code ?? signal ?? 'unknown')));
  return { child, output: () => output, exited };
}

/** Waits until the worker process `pid` polls every queue (its default identity is `<pid>@<host>`). */
export async function waitForPollers(client: Client, queues: readonly string[], pid: number, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const counts = await Promise.all(
      queues.map(async (name) => {
        const response = await client.workflowService.describeTaskQueue({ namespace: client.options.namespace, taskQueue: { name, kind: 1 }, taskQueueType: 2 });
        return (response.pollers ?? []).filter((p) => (p.identity ?? '').startsWith(`${pid}@`)).length;
      }),
    );
    if (counts.every((n) => n > 0)) return;
    if (Date.now() > deadline) throw new Error(`no worker polling ${queues.join(', ')} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 250));
  }
}
