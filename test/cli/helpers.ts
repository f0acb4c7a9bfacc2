/** Shared by the CLI tests: run `coffer` as a child process, closed ports, repositories with a known tree. */
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { createEngine } from '../../activities/engine';
import type { Repository, Unlock } from '../../activities/engine/api';
import type { Backend } from '../../activities/storage/backend';
import { openBackend } from '../../activities/storage/url';
import { TEST_INIT_OPTIONS } from '../e2e/harness';
import { stackEnv } from '../helpers/stack';

const ROOT = resolve(__dirname, '..', '..');

export interface CliRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
}

/** The stack's endpoints under the real environment: what a user's shell with the stack running has. */
export function baseEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries({ ...stackEnv(), ...process.env })) if (v !== undefined) env[k] = v;
  return env;
}

export function runCoffer(args: readonly string[], env: Record<string, string>, timeoutMs = 120_000): Promise<CliRun> {
  const started = Date.now();
  return new Promise((resolveRun, reject) => {
    const child = spawn(process.execPath, ['--no-warnings', '--import', 'tsx', join(ROOT, 'clients', 'cli.ts'), ...args], { cwd: ROOT, env });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolveRun({ code, stdout, stderr, ms: Date.now() - started });
    });
  });
}

/** A TCP port nothing listens on (bound, then released). */
export async function closedPort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}

export async function withRepo<T>(url: string, unlock: Unlock, fn: (repository: Repository, backend: Backend) => Promise<T>, create = false): Promise<T> {
  const backend = await openBackend(url, {}, baseEnv());
  try {
    const engine = createEngine({ cpuWorkers: 0 });
    const repository = create ? await engine.init(backend, unlock, TEST_INIT_OPTIONS) : await engine.open(backend, unlock);
    try {
      return await fn(repository, backend);
    } finally {
      await repository.close();
    }
  } finally {
    await backend.close();
  }
}
