/**
 * Coffer's engine alone (no Temporal): each operation runs in a child process
 * (coffer-run) on a local-directory repository with default init options, so
 * wall time and peak RSS are measured per process like restic's and borg's.
 *
 * COFFER_BENCH_CPU_PROF=<dir> runs the children with `node --cpu-prof` and
 * leaves the .cpuprofile files (one per thread) in <dir>/<operation>/.
 */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { RESULT_PREFIX } from './coffer-run';
import { duBytes, runMeasured } from './measure';
import { runningCompiled } from './paths';
import type { BenchContext, OpResult, Runner } from './runner';

type ChildOp = 'init' | 'first-backup' | 'second-backup' | 'restore' | 'verify';

export function createCofferRunner(ctx: BenchContext): Runner {
  const repo = join(ctx.workDir, 'repo');
  const baseEnv: NodeJS.ProcessEnv = {
    ...process.env,
    COFFER_BENCH_REPO: repo,
    COFFER_BENCH_SOURCE: ctx.source,
    COFFER_BENCH_PASSPHRASE: ctx.passphrase,
  };

  const child = async (op: ChildOp, extraEnv: NodeJS.ProcessEnv = {}): Promise<OpResult> => {
    const script = join(__dirname, runningCompiled() ? 'coffer-run.js' : 'coffer-run.ts');
    const nodeArgs = runningCompiled() ? [] : ['--import', 'tsx'];
    const profDir = process.env.COFFER_BENCH_CPU_PROF;
    if (profDir) {
      // One directory per operation; node names the files per process and thread.
      const dir = join(profDir, op);
      await mkdir(dir, { recursive: true });
      nodeArgs.push('--cpu-prof', `--cpu-prof-dir=${dir}`);
    }
    const r = await runMeasured([process.execPath, ...nodeArgs, script, op], { env: { ...baseEnv, ...extraEnv } });
    const line = r.stdout.trim().split('\n').reverse().find((l) => l.startsWith(RESULT_PREFIX));
    if (!line) throw new Error(`coffer-run ${op} printed no result:\n${r.stdout.slice(-2000)}\n${r.stderr.slice(-2000)}`);
    const detail = JSON.parse(line.slice(RESULT_PREFIX.length)) as Record<string, unknown>;
    return { seconds: r.seconds, peakRssKiB: r.peakRssKiB, detail };
  };

  return {
    name: 'coffer',
    async describe() {
      return 'Coffer engine in-process (one node process per operation), local-directory backend, default init options';
    },
    async setup() {
      await mkdir(ctx.workDir, { recursive: true });
      await child('init');
    },
    firstBackup: () => child('first-backup'),
    secondBackup: () => child('second-backup'),
    restore: (target) => child('restore', { COFFER_BENCH_TARGET: target }),
    restoredRoot: (target) => locateRestored(target, ctx.source),
    verify: () => child('verify'),
    repoSizeBytes: () => duBytes(repo),
  };
}

/**
 * The engine may restore a source path as its full absolute path under the
 * target, as its last component, or as the target itself; find which.
 */
function locateRestored(target: string, source: string): string {
  const candidates = [join(target, source), join(target, basename(source)), target];
  return candidates.find((c) => existsSync(join(c, 'small'))) ?? candidates[0];
}
