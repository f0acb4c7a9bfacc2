/**
 * Restarting one server of the local stack the way an operator would: the
 * pid comes from `npm run stack -- status`, the process gets SIGTERM (SIGKILL
 * after a grace period), and `npm run stack -- up` starts it again with the
 * same data (Temporal: the same SQLite file, checked on its command line).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

const ROOT = resolve(__dirname, '..', '..');

function npmStack(command: 'status' | 'up'): string {
  try {
    return execFileSync('npm', ['run', '--silent', 'stack', '--', command], { cwd: ROOT, encoding: 'utf8', timeout: 300_000, stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    const out = err as { stdout?: string; stderr?: string };
    if (command === 'status' && typeof out.stdout === 'string') return out.stdout; // status exits 1 when something is down
    throw new Error(`npm run stack -- ${command} failed: ${out.stderr ?? String(err)}`);
  }
}

export function stackPid(service: string): number | undefined {
  const row = npmStack('status').split('\n').find((line) => line.startsWith(`${service} `));
  const m = row === undefined ? null : /^\S+\s+up\s+(\d+)/.exec(row);
  return m === null ? undefined : Number(m[1]);
}

export function commandLineOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
  } catch {
    return '';
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return false;
  }
}

export interface Restart {
  readonly oldPid: number;
  readonly newPid: number;
  readonly oldCommand: string;
  readonly newCommand: string;
  readonly downMs: number;
}

/** Stops the stack's `service` and brings it back with `stack up`. */
export async function restartStackService(service: string, downForMs = 1000): Promise<Restart> {
  const oldPid = stackPid(service);
  if (oldPid === undefined) throw new Error(`${service} is not up: run 'npm run stack -- up'`);
  const oldCommand = commandLineOf(oldPid);
  const stoppedAt = Date.now();
  process.kill(oldPid, 'SIGTERM');
  for (let waited = 0; alive(oldPid); waited += 100) {
    if (waited === 15_000) process.kill(oldPid, 'SIGKILL');
    await new Promise((r) => setTimeout(r, 100));
  }
  await new Promise((r) => setTimeout(r, downForMs));
  npmStack('up');
  const newPid = stackPid(service);
  if (newPid === undefined) throw new Error(`${service} did not come back after 'npm run stack -- up'`);
  return { oldPid, newPid, oldCommand, newCommand: commandLineOf(newPid), downMs: Date.now() - stoppedAt };
}
