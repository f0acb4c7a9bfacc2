/** Running the `coffer` CLI (clients/cli.ts) as a child process joined to a harness. */
import { spawn } from 'node:child_process';
import { join, resolve } from 'node:path';
import type { Harness } from './harness';

const ROOT = resolve(__dirname, '..', '..');

export interface CliRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export function runCli(h: Harness, args: readonly string[], env: Record<string, string> = {}): Promise<CliRun> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'clients', 'cli.ts'), ...args], { cwd: ROOT, env: h.childEnv(env) });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolveRun({ code, stdout, stderr }));
  });
}
