/**
 * Coffer's engine alone (no Temporal): each operation runs in a child process
 * (coffer-run) on a local-directory repository with default init options, so
 * wall time and peak RSS are measured per process like restic's and borg's.
 *
 * Run from sources (tsx), the child would pay tsx's loader on every start
 * (~1–2 s here, against ~0.3 s compiled), which restic and borg do not; so
 * setup() first emits plain JavaScript of coffer-run and everything it imports
 * (tsc --noCheck) into .data/bench/coffer-build and the children run that.
 * COFFER_BENCH_TSX=1 runs the children through tsx instead.
 *
 * COFFER_BENCH_CPU_PROF=<dir> runs the children with `node --cpu-prof` and
 * leaves the .cpuprofile files (one per thread) in <dir>/<operation>/.
 */
import { existsSync } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { RESULT_PREFIX } from './coffer-run';
import { duBytes, runMeasured } from './measure';
import { benchDataDir, projectRoot, runningCompiled } from './paths';
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

  // How children start: compiled JS next to this file, a private build, or tsx.
  let script = join(__dirname, runningCompiled() ? 'coffer-run.js' : 'coffer-run.ts');
  let viaTsx = !runningCompiled();

  const child = async (op: ChildOp, extraEnv: NodeJS.ProcessEnv = {}): Promise<OpResult> => {
    const nodeArgs = viaTsx ? ['--import', 'tsx'] : [];
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
      return `Coffer engine in-process (one node process per operation, ${viaTsx ? 'through tsx' : 'compiled JS'}), local-directory backend, default init options`;
    },
    async setup() {
      await mkdir(ctx.workDir, { recursive: true });
      if (viaTsx && process.env.COFFER_BENCH_TSX !== '1') {
        script = await buildChild(ctx.log);
        viaTsx = false;
      }
      ctx.log(`coffer: children run ${viaTsx ? 'through tsx' : 'compiled'}: ${script}`);
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

/** Emits JavaScript for coffer-run and its imports; returns the entry's path. */
async function buildChild(log: (line: string) => void): Promise<string> {
  const root = projectRoot();
  const out = join(benchDataDir(), 'coffer-build');
  const tmp = `${out}.tmp-${process.pid}`;
  await rm(tmp, { recursive: true, force: true });
  const started = performance.now();
  const tsc = require.resolve('typescript/bin/tsc', { paths: [root] });
  // Same module settings as tsconfig.json; no type check (tsc/eslint do that), only emit.
  await runMeasured([process.execPath, tsc, '--noCheck', '--module', 'node16', '--moduleResolution', 'node16', '--target', 'es2022',
    '--esModuleInterop', '--skipLibCheck', '--resolveJsonModule', '--strict', '--types', 'node', '--sourceMap',
    '--rootDir', root, '--outDir', tmp, join(root, 'scripts', 'bench', 'coffer-run.ts')], { cwd: root });
  await rm(out, { recursive: true, force: true });
  await rename(tmp, out);
  log(`coffer: compiled the engine for the benchmark in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  return join(out, 'scripts', 'bench', 'coffer-run.js');
}
