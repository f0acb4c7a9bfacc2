/**
 * Running one timed command: wall-clock seconds and peak resident set size.
 *
 * Peak RSS comes from GNU time (`/usr/bin/time -f %M`, KiB) when installed,
 * otherwise from polling /proc/<pid>/status VmHWM of the child (which misses
 * grandchildren; none of the measured tools forks workers that do the work).
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface CommandResult {
  readonly seconds: number;
  /** Peak RSS in KiB, when it could be measured. */
  readonly peakRssKiB: number | undefined;
  readonly stdout: string;
  readonly stderr: string;
}

export interface CommandOptions {
  readonly cwd?: string;
  readonly env?: NodeJS.ProcessEnv;
  /** Bytes to feed on stdin (e.g. nothing, so no tool waits for a TTY). */
  readonly input?: string;
}

const GNU_TIME = '/usr/bin/time';
/** Output kept per stream; tools may print a lot and we only need the tail. */
const KEEP = 256 * 1024;

export class CommandFailed extends Error {
  constructor(readonly command: string, readonly exitCode: number | null, readonly stderr: string) {
    super(`${command} exited with ${exitCode ?? 'a signal'}: ${stderr.trim().split('\n').slice(-8).join('\n')}`);
    this.name = 'CommandFailed';
  }
}

export async function runMeasured(argv: readonly string[], options: CommandOptions = {}): Promise<CommandResult> {
  const useGnuTime = existsSync(GNU_TIME);
  const tmp = await mkdtemp(join(tmpdir(), 'coffer-bench-time-'));
  const rssFile = join(tmp, 'rss');
  const full = useGnuTime ? [GNU_TIME, '-f', '%M', '-o', rssFile, ...argv] : [...argv];
  const started = performance.now();
  try {
    const child = spawn(full[0], full.slice(1), {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => { stdout = (stdout + d).slice(-KEEP); });
    child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr = (stderr + d).slice(-KEEP); });
    child.stdin.end(options.input ?? '');
    let polledKiB = 0;
    const poll = useGnuTime ? undefined : setInterval(() => {
      polledKiB = Math.max(polledKiB, readVmHwm(child.pid));
    }, 50);
    const code = await new Promise<number | null>((resolve, reject) => {
      child.on('error', reject);
      child.on('close', (c) => resolve(c));
    });
    const seconds = (performance.now() - started) / 1000;
    if (poll) clearInterval(poll);
    if (code !== 0) throw new CommandFailed(argv.join(' '), code, stderr);
    let peakRssKiB: number | undefined = polledKiB > 0 ? polledKiB : undefined;
    if (useGnuTime) {
      const text = (await readFile(rssFile, 'utf8')).trim().split('\n').pop() ?? '';
      const kib = Number(text);
      peakRssKiB = Number.isFinite(kib) && kib > 0 ? kib : undefined;
    }
    return { seconds, peakRssKiB, stdout, stderr };
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

function readVmHwm(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

let dropWorks: boolean | undefined;

/**
 * Empties the kernel page cache so every tool reads its input cold. Needs root;
 * returns false (and the run is "warm") when the kernel refuses.
 */
export function dropCaches(): boolean {
  if (dropWorks === false) return false;
  try {
    spawnSync('sync', { stdio: 'ignore' });
    writeFileSync('/proc/sys/vm/drop_caches', '3\n');
    dropWorks = true;
  } catch {
    dropWorks = false;
  }
  return dropWorks;
}

/** Total bytes of files under `dir` (`du -sb`, as the issue specifies for repository size). */
export async function duBytes(dir: string): Promise<number> {
  const result = await runMeasured(['du', '-sb', dir]);
  const n = Number(result.stdout.split(/\s/)[0]);
  if (!Number.isFinite(n)) throw new Error(`du -sb ${dir} printed ${JSON.stringify(result.stdout)}`);
  return n;
}
