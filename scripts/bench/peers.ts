/**
 * The peers, driven through their own CLIs with their DEFAULT settings:
 * restic (compression "auto" = zstd default level for repository version 2,
 * which `restic init` creates by default since 0.14) and borg (`-e repokey`,
 * default compression lz4). Each keeps its repository and caches in the
 * runner's work directory so nothing leaks into $HOME or between runs.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { duBytes, runMeasured } from './measure';
import type { BenchContext, OpResult, Runner } from './runner';

async function timed(argv: readonly string[], env: NodeJS.ProcessEnv, cwd?: string): Promise<OpResult> {
  const r = await runMeasured(argv, { env, cwd });
  return { seconds: r.seconds, peakRssKiB: r.peakRssKiB, detail: { tail: lastLines(r.stdout + r.stderr, 6) } };
}

function lastLines(text: string, n: number): string {
  return text.trim().split('\n').slice(-n).join('\n');
}

export function createResticRunner(ctx: BenchContext): Runner {
  const repo = join(ctx.workDir, 'repo');
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    RESTIC_REPOSITORY: repo,
    RESTIC_PASSWORD: ctx.passphrase,
    RESTIC_CACHE_DIR: join(ctx.workDir, 'cache'),
    RESTIC_PROGRESS_FPS: '0.2',
  };
  return {
    name: 'restic',
    async describe() {
      const v = await runMeasured(['restic', 'version'], { env });
      return `${v.stdout.trim()}; defaults (compression auto, local repo, cache in work dir)`;
    },
    async setup() {
      await mkdir(ctx.workDir, { recursive: true });
      await runMeasured(['restic', 'init'], { env });
    },
    firstBackup: () => timed(['restic', 'backup', '--host', 'bench', ctx.source], env),
    // restic picks the latest snapshot of the same host and paths as parent.
    secondBackup: () => timed(['restic', 'backup', '--host', 'bench', ctx.source], env),
    restore: (target) => timed(['restic', 'restore', 'latest', '--target', target], env),
    restoredRoot: (target) => join(target, ctx.source),
    verify: () => timed(['restic', 'check', '--read-data'], env),
    repoSizeBytes: () => duBytes(repo),
  };
}

export function createBorgRunner(ctx: BenchContext): Runner {
  const repo = join(ctx.workDir, 'repo');
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    BORG_PASSPHRASE: ctx.passphrase,
    BORG_BASE_DIR: join(ctx.workDir, 'base'),
    BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK: 'yes',
    BORG_RELOCATED_REPO_ACCESS_IS_OK: 'yes',
    BORG_DISPLAY_PASSPHRASE: 'no',
  };
  let archives = 0;
  const create = (): Promise<OpResult> => timed(['borg', 'create', `${repo}::bench-${++archives}`, ctx.source], env);
  return {
    name: 'borg',
    async describe() {
      const v = await runMeasured(['borg', '--version'], { env });
      return `${v.stdout.trim()}; defaults (-e repokey, compression lz4)`;
    },
    async setup() {
      await mkdir(ctx.workDir, { recursive: true });
      await runMeasured(['borg', 'init', '-e', 'repokey', repo], { env });
    },
    firstBackup: create,
    // borg's files cache skips unchanged files (same size, mtime, ctime, inode).
    secondBackup: create,
    // borg extract writes into the current directory, paths without the leading '/'.
    restore: (target) => timed(['borg', 'extract', `${repo}::bench-${archives}`], env, target),
    restoredRoot: (target) => join(target, ctx.source.replace(/^\/+/, '')),
    verify: () => timed(['borg', 'check', '--verify-data', repo], env),
    repoSizeBytes: () => duBytes(repo),
  };
}
