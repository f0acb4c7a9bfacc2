import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { servicePidFile, serviceLogFile } from './paths';

/** Writes a file so no reader ever sees it half-written. */
export function writeFileAtomic(file: string, text: string, mode = 0o644): void {
  mkdirSync(dirname(file), { recursive: true });
  const temp = `${file}.tmp-${process.pid}`;
  writeFileSync(temp, text, { mode });
  renameSync(temp, file);
}

export function readPid(service: string): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(servicePidFile(service), 'utf8').trim(), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function commandLine(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
  } catch {
    return undefined;
  }
}

function isZombie(pid: number): boolean {
  try {
    return /^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return false;
  }
}

/**
 * The pid of the service's process if it is alive AND is ours: its command
 * line must contain `identity` (an absolute path under this clone's .data), so
 * a recycled pid never gets signalled.
 */
export function runningPid(service: string, identity: string): number | undefined {
  const pid = readPid(service);
  if (pid === undefined) return undefined;
  const cmdline = commandLine(pid);
  if (cmdline === undefined || !cmdline.includes(identity) || isZombie(pid)) return undefined;
  return pid;
}

/** Starts a server detached from this process (own process group), output appended to its log. */
export function startDetached(service: string, file: string, args: readonly string[], env: NodeJS.ProcessEnv, cwd: string): number {
  mkdirSync(dirname(serviceLogFile(service)), { recursive: true });
  const log = openSync(serviceLogFile(service), 'a');
  try {
    writeFileSync(log, `\n=== ${new Date().toISOString()} starting ${file} ${args.join(' ')}\n`);
    const child = spawn(file, args, { cwd, env, detached: true, stdio: ['ignore', log, log] });
    if (child.pid === undefined) throw new Error(`${service}: could not start ${file}`);
    child.unref();
    writeFileAtomic(servicePidFile(service), `${child.pid}\n`);
    return child.pid;
  } finally {
    closeSync(log);
  }
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}

/** Whether `pid` is a live process (not a zombie), whatever its command line says right now. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return !isZombie(pid);
  } catch {
    return false;
  }
}

/** SIGTERM the service's process group, SIGKILL it after `graceMs`. Returns true if it was running. */
export async function stopService(service: string, identity: string, graceMs = 10_000): Promise<boolean> {
  const pid = runningPid(service, identity);
  if (pid !== undefined) {
    signalGroup(pid, 'SIGTERM');
    const deadline = Date.now() + graceMs;
    while (isAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    if (isAlive(pid)) signalGroup(pid, 'SIGKILL');
    while (isAlive(pid)) await new Promise((r) => setTimeout(r, 50));
  }
  rmSync(servicePidFile(service), { force: true });
  return pid !== undefined;
}
