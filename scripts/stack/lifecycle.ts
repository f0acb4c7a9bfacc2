import { existsSync, readFileSync } from 'node:fs';
import { ROOT, serviceLogFile } from './paths';
import { isAlive, runningPid, startDetached, stopService } from './pids';
import { portInUse, withTimeout } from './probe';
import type { Service } from './services';

export type Outcome =
  | { service: Service; ok: true; pid: number; state: 'started' | 'already up'; seconds: number }
  | { service: Service; ok: false; error: string; seconds: number };

const START_TIMEOUT_MS = Number(process.env.COFFER_STACK_START_TIMEOUT_MS ?? 90_000);
const PROBE_TIMEOUT_MS = 3000;

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Polls the probe until it succeeds, the process dies, or the deadline passes.
 * Liveness is checked on the pid itself, not on its command line: sshd
 * rewrites its command line ("[listener] …") as it starts, and a check that
 * read it mid-rewrite took a starting sshd for a dead one (a CI run failed so).
 */
async function waitReady(service: Service, pid: number, deadline: number): Promise<void> {
  let lastError = 'no attempt made';
  for (;;) {
    if (!isAlive(pid)) {
      throw new Error(`the process exited (last probe: ${lastError})`);
    }
    try {
      await withTimeout(service.probe(), PROBE_TIMEOUT_MS, service.name);
      return;
    } catch (error) {
      lastError = message(error);
    }
    if (Date.now() > deadline) throw new Error(`not ready after ${START_TIMEOUT_MS / 1000} s (last probe: ${lastError})`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Leaves a healthy running service alone; (re)starts a dead one; waits for it and runs its setup. */
export async function bringUp(service: Service): Promise<Outcome> {
  const started = Date.now();
  const seconds = (): number => (Date.now() - started) / 1000;
  try {
    let pid = runningPid(service.name, service.identity);
    let state: 'started' | 'already up' = 'already up';
    if (pid === undefined) {
      for (const port of service.ports) {
        if (await portInUse(port)) throw new Error(`port ${port} is already in use by a process this stack did not start`);
      }
      await service.prepare();
      const { file, args, env } = service.command();
      pid = startDetached(service.name, file, args, env ?? process.env, ROOT);
      state = 'started';
    }
    await waitReady(service, pid, started + START_TIMEOUT_MS);
    if (service.setup !== undefined) await withTimeout(service.setup(), 30_000, `${service.name} setup`);
    return { service, ok: true, pid, state, seconds: seconds() };
  } catch (error) {
    return { service, ok: false, error: message(error), seconds: seconds() };
  }
}

export type Health = { service: Service; pid: number | undefined; state: 'up' | 'down' | 'not answering'; detail?: string };

export async function health(service: Service): Promise<Health> {
  const pid = runningPid(service.name, service.identity);
  if (pid === undefined) return { service, pid, state: 'down' };
  try {
    await withTimeout(service.probe(), PROBE_TIMEOUT_MS, service.name);
    return { service, pid, state: 'up' };
  } catch (error) {
    return { service, pid, state: 'not answering', detail: message(error) };
  }
}

export async function bringDown(service: Service): Promise<boolean> {
  return stopService(service.name, service.identity);
}

export function logTail(service: Service, lines = 20): string {
  const file = serviceLogFile(service.name);
  if (!existsSync(file)) return '(no log file)';
  return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
}
