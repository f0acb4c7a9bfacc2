/**
 * `npm run bench`: Coffer vs restic vs borg on the same generated dataset, in one run.
 *
 * For each operation in turn (first backup, unchanged second backup, restore,
 * read-data verify) every tool runs once, with the page cache dropped before
 * each run when the kernel allows it (else the run is warm and says so).
 * Restore and verify, which leave the repositories as they were, run in
 * several rounds in rotating order and report each tool's median (rounds.ts).
 * Every restore is hashed and compared with the dataset's manifest; a wrong
 * restore aborts the benchmark. Results: `bench:` lines on stdout, a table,
 * and .data/bench/results-<timestamp>.json.
 *
 * Environment: COFFER_BENCH_SIZE_MIB (default 1024), COFFER_BENCH_SEED (1),
 * COFFER_BENCH_TOOLS (coffer,restic,borg; also coffer-temporal), COFFER_BENCH_DROP_CACHES (1; 0 = warm),
 * COFFER_BENCH_ROUNDS (3: rounds of restore and verify),
 * COFFER_BENCH_KEEP (1 keeps repositories), COFFER_BENCH_CPU_PROF (dir: profile Coffer).
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { datasetOptionsFromEnv, ensureDataset } from './dataset';
import { compareManifests, describeDifference, hashTree, isIdentical } from './manifest';
import { dropCaches } from './measure';
import { benchDataDir } from './paths';
import { DEFAULT_TOOLS, RUNNERS } from './registry';
import { medianRun, REPEATED_OPERATIONS, rotated, roundsFromEnv } from './rounds';
import { benchLines, humanTable } from './report';
import type { ToolResults } from './report';
import type { Operation, OpResult, Runner } from './runner';
import { OPERATIONS } from './runner';

class RestoreMismatch extends Error {
  override name = 'RestoreMismatch';
}

function log(line: string): void {
  process.stderr.write(`[bench] ${line}\n`);
}

function selectedTools(): string[] {
  const raw = process.env.COFFER_BENCH_TOOLS;
  const tools = raw ? raw.split(',').map((s) => s.trim()).filter(Boolean) : [...DEFAULT_TOOLS];
  for (const t of tools) if (!RUNNERS.has(t)) throw new Error(`unknown tool ${t} in COFFER_BENCH_TOOLS (known: ${[...RUNNERS.keys()].join(', ')})`);
  return tools;
}

async function main(): Promise<void> {
  const started = new Date();
  const stamp = started.toISOString().replace(/[:.]/g, '-');
  const { sizeMiB, seed } = datasetOptionsFromEnv();
  const tools = selectedTools();
  const wantCold = process.env.COFFER_BENCH_DROP_CACHES !== '0';
  const keep = process.env.COFFER_BENCH_KEEP === '1';
  const rounds = roundsFromEnv();

  const dataset = ensureDataset({ sizeMiB, seed, log });
  const bytes = dataset.manifest.bytes;
  log(`dataset ${dataset.root}: ${dataset.manifest.files} files, ${(bytes / 2 ** 20).toFixed(1)} MiB`);

  const workRoot = join(benchDataDir(), `run-${stamp}`);
  mkdirSync(workRoot, { recursive: true });
  const passphrase = randomBytes(24).toString('base64url');
  const runners: Runner[] = tools.map((name) => RUNNERS.get(name)!({
    source: dataset.root,
    workDir: join(workRoot, name),
    passphrase,
    log,
  }));

  const results = new Map<string, { description: string; ops: Partial<Record<Operation, OpResult>>; repoSizeBytes?: number }>();
  let cold = wantCold;
  const prepare = (): void => {
    if (wantCold && !dropCaches()) cold = false;
  };

  try {
    for (const r of runners) {
      await r.setup();
      const description = await r.describe();
      log(`${r.name}: ${description}`);
      results.set(r.name, { description, ops: {} });
    }
    const restored: string[] = [];
    for (const op of OPERATIONS) {
      const opRounds = REPEATED_OPERATIONS.has(op) ? rounds : 1;
      const runs = new Map<string, OpResult[]>(runners.map((r) => [r.name, []]));
      for (let round = 0; round < opRounds; round++) {
        for (const target of restored.splice(0)) rmSync(target, { recursive: true, force: true });
        for (const r of rotated(runners, round)) {
          prepare();
          let result: OpResult;
          if (op === 'restore') {
            // Every tool restores into a fresh directory, and no tool's restore follows the deletion of another's
            // (deleted in bulk after all restores of a round): creating files right after deleting thousands costs
            // ext4 extra work (its recently-deleted inode checks), which would tax whichever tool came second.
            const target = join(workRoot, `${r.name}-restore-${round + 1}`);
            mkdirSync(target);
            result = await r.restore(target);
            await checkRestore(r, target, dataset.manifest.entries);
            restored.push(target);
          } else if (op === 'first-backup') {
            result = await r.firstBackup();
          } else if (op === 'second-backup') {
            result = await r.secondBackup();
          } else {
            result = await r.verify();
          }
          runs.get(r.name)!.push(result);
          const rss = result.peakRssKiB !== undefined ? `, peak RSS ${(result.peakRssKiB / 1024).toFixed(0)} MiB` : '';
          const which = opRounds > 1 ? ` (round ${round + 1}/${opRounds})` : '';
          log(`${op} ${r.name}${which}: ${result.seconds.toFixed(2)} s (${(bytes / 1e6 / result.seconds).toFixed(1)} MB/s${rss})`);
        }
      }
      for (const r of runners) results.get(r.name)!.ops[op] = medianRun(runs.get(r.name)!);
    }
    for (const r of runners) results.get(r.name)!.repoSizeBytes = await r.repoSizeBytes();
  } finally {
    // Workers and connections a runner started must not outlive the benchmark.
    for (const r of runners) await r.close?.().catch((err: unknown) => log(`${r.name}: close failed: ${String(err)}`));
    if (!keep) rmSync(workRoot, { recursive: true, force: true });
  }

  const toolResults: ToolResults[] = runners.map((r) => ({ name: r.name, ...results.get(r.name)! }));
  for (const line of benchLines(bytes, toolResults)) console.log(line);
  console.log('');
  console.log(`dataset: ${dataset.manifest.files} files, ${(bytes / 1e6).toFixed(1)} MB (${sizeMiB} MiB target, seed ${seed}); page cache ${cold ? 'dropped before each run (cold)' : 'NOT dropped (warm runs)'}; restore and verify: median of ${rounds} rotating round${rounds === 1 ? '' : 's'}`);
  console.log(humanTable(bytes, toolResults));
  for (const t of toolResults) {
    // Runners that report their own split (Coffer: key derivation + index load vs the operation itself).
    const parts = OPERATIONS.flatMap((op) => {
      const d = t.ops[op]?.detail;
      return typeof d?.openSeconds === 'number' && typeof d.opSeconds === 'number'
        ? [`${op} open ${d.openSeconds.toFixed(2)} s + op ${d.opSeconds.toFixed(2)} s`]
        : [];
    });
    if (parts.length > 0) console.log(`${t.name} in-process split: ${parts.join('; ')}`);
  }

  const out = {
    started: started.toISOString(),
    finished: new Date().toISOString(),
    machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model, memBytes: totalmem(), loadavgAtEnd: loadavg(), node: process.version },
    cold,
    rounds,
    dataset: { root: dataset.root, sizeMiB, seed, bytes, files: dataset.manifest.files, composition: dataset.manifest.composition },
    tools: toolResults.map((t) => ({
      name: t.name,
      description: t.description,
      repoSizeBytes: t.repoSizeBytes,
      ops: Object.fromEntries(OPERATIONS.filter((op) => t.ops[op]).map((op) => {
        const r = t.ops[op]!;
        return [op, { seconds: r.seconds, mbPerSecond: bytes / 1e6 / r.seconds, peakRssKiB: r.peakRssKiB, detail: r.detail }];
      })),
    })),
    lines: benchLines(bytes, toolResults),
  };
  const file = join(benchDataDir(), `results-${stamp}.json`);
  writeFileSync(`${file}.tmp`, `${JSON.stringify(out, null, 2)}\n`);
  renameSync(`${file}.tmp`, file);
  log(`results written to ${file}`);
}

async function checkRestore(r: Runner, target: string, expected: Parameters<typeof compareManifests>[0]): Promise<void> {
  const root = r.restoredRoot(target);
  const actual = await hashTree(root);
  const diff = compareManifests(expected, actual);
  if (!isIdentical(diff)) {
    throw new RestoreMismatch(`${r.name} restored WRONG DATA into ${root}: ${describeDifference(diff)} — benchmark void`);
  }
  log(`restore ${r.name}: ${actual.length} files match the dataset manifest`);
}

main().catch((err: unknown) => {
  console.error(`bench FAILED: ${err instanceof Error ? err.message : String(err)}`);
  if (err instanceof Error && !(err instanceof RestoreMismatch) && err.stack) console.error(err.stack);
  process.exit(1);
});
