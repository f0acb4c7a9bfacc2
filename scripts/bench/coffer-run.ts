/**
 * One Coffer engine operation in its own process, so the benchmark measures
 * its wall time and peak RSS exactly like a peer's CLI invocation.
 *
 *   node [--import tsx] scripts/bench/coffer-run.(ts|js) <init|first-backup|second-backup|restore|verify>
 *
 * Inputs come from the environment (the passphrase must not be on a command
 * line): COFFER_BENCH_REPO, COFFER_BENCH_SOURCE, COFFER_BENCH_TARGET (restore),
 * COFFER_BENCH_PASSPHRASE. The last stdout line is `COFFER_BENCH_RESULT <json>`.
 */
// First: sizes libuv's thread pool before anything starts it.
import '../../activities/engine/fs/io-threads';
import { engine } from '../../activities/engine';
import type { Repository } from '../../activities/engine/api';
import { LocalBackend } from '../../activities/storage/local';

export const RESULT_PREFIX = 'COFFER_BENCH_RESULT ';

type Op = 'init' | 'first-backup' | 'second-backup' | 'restore' | 'verify';
const OPS: readonly Op[] = ['init', 'first-backup', 'second-backup', 'restore', 'verify'];

function need(name: string): string {
  const v = process.env[name];
  if (v === undefined || v === '') throw new Error(`${name} is not set`);
  return v;
}

async function run(op: Op): Promise<Record<string, unknown>> {
  const backend = new LocalBackend({ root: need('COFFER_BENCH_REPO') });
  const unlock = { passphrase: need('COFFER_BENCH_PASSPHRASE') };
  const t0 = performance.now();
  let repo: Repository;
  if (op === 'init') {
    repo = await engine.init(backend, unlock);
    await repo.close();
    return { seconds: (performance.now() - t0) / 1000 };
  }
  repo = await engine.open(backend, unlock);
  const opened = performance.now();
  let detail: Record<string, unknown>;
  try {
    if (op === 'first-backup' || op === 'second-backup') {
      const summary = await repo.backup({
        paths: [need('COFFER_BENCH_SOURCE')],
        host: 'bench',
        ...(op === 'second-backup' ? { parent: 'auto' } : {}),
      });
      detail = { snapshot: summary.id, stats: summary.stats };
    } else if (op === 'restore') {
      const snap = await repo.resolveSnapshot('latest');
      const result = await repo.restore({ snapshot: snap.id, target: need('COFFER_BENCH_TARGET') });
      detail = { snapshot: snap.id, ...result };
    } else {
      const report = await repo.verify({ level: 'read-data' });
      if (report.findings.length > 0) {
        throw new Error(`verify found ${report.findings.length} problem(s): ${JSON.stringify(report.findings.slice(0, 3))}`);
      }
      detail = { packsChecked: report.packsChecked, chunksChecked: report.chunksChecked, bytesRead: report.bytesRead, snapshotsChecked: report.snapshotsChecked };
    }
  } finally {
    await repo.close();
  }
  const done = performance.now();
  return { ...detail, openSeconds: (opened - t0) / 1000, opSeconds: (done - opened) / 1000, seconds: (done - t0) / 1000 };
}

if (require.main === module) {
  const op = process.argv[2] as Op;
  if (!OPS.includes(op)) {
    console.error(`usage: coffer-run <${OPS.join('|')}>`);
    process.exit(2);
  }
  run(op).then(
    (result) => {
      process.stdout.write(`${RESULT_PREFIX}${JSON.stringify(result)}\n`);
    },
    (err: unknown) => {
      console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
      process.exit(1);
    },
  );
}
