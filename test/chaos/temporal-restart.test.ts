/**
 * Scenario 6b — the servers restart under a running job.
 *
 * Temporal: a backup workflow runs on a child-process worker; mid-job the
 * stack's Temporal dev server is stopped (SIGTERM to the pid `npm run stack
 * -- status` reports) and started again by `npm run stack -- up`, on the same
 * SQLite file (checked on its command line). The job must complete, and its
 * snapshot restore byte-identical through a restore workflow.
 *
 * FerretDB (the catalog's MongoDB-wire server): a catalog job records a
 * stream of snapshot documents while the stack's FerretDB is restarted the
 * same way; each write failing with a retryable error is retried (as
 * Temporal retries the catalog activity). Every document must be there
 * exactly once afterwards.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { basename, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { WorkflowFailedError } from '@temporalio/client';
import type { WorkflowHandle } from '@temporalio/client';
import { Catalog } from '../../activities/catalog/catalog';
import { CofferError } from '../../activities/errors';
import type { SnapshotSummary } from '../../activities/engine/api';
import type { BackupResult } from '../../workflows/backup';
import type { RestoreOutput } from '../../workflows/restore';
import { startHarness, TEST_INIT_OPTIONS, uniqueId } from '../e2e/harness';
import type { Harness } from '../e2e/harness';
import { stackVar } from '../helpers/stack';
import { spawnWorker } from './child-worker';
import type { ChildWorker } from './child-worker';
import { ChaosReport } from './report';
import { describeError, manifestDiff, manifestOf, writeDataset } from './helpers';
import type { Manifest } from './helpers';
import { restartStackService } from './stack-control';

const SCENARIO_TEMPORAL = 'temporal-restart';
const SCENARIO_FERRET = 'ferretdb-restart';
const report = new ChaosReport();
report.declare(SCENARIO_TEMPORAL);
report.declare(SCENARIO_FERRET);

/** A workflow's result, riding out the client's connection errors while the server is away. */
async function resultThroughOutage<R>(handle: WorkflowHandle, deadlineMs: number): Promise<R> {
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    try {
      return (await handle.result()) as R;
    } catch (err) {
      if (err instanceof WorkflowFailedError || Date.now() > deadline) throw err;
      report.count(SCENARIO_TEMPORAL, 'client-reconnects');
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
}

void describe('chaos: Temporal and FerretDB restarted mid-job', () => {
  let h: Harness;
  let worker: ChildWorker | undefined;
  let source: string;
  let manifest: Manifest;

  before(async () => {
    h = await startHarness({ workers: false });
    source = join(h.tmp, 'source');
    // Enough small batches that the job is still running when the server goes
    // away, even on a quiet machine (the restart must land mid-job).
    await writeDataset(source, 7001, { files: 600, minSize: 10_000, maxSize: 250_000, dirs: 8 });
    manifest = await manifestOf(source);
  });

  after(async () => {
    await worker?.kill();
    await h.close();
  });

  void it('a backup completes across a Temporal server restart (same SQLite file) and restores byte-identical', { timeout: 15 * 60_000 }, async () => {
    let outcome: 'ok' | 'lost' | 'other' = 'other';
    try {
      worker = spawnWorker(h.childEnv({ COFFER_ENGINE_BATCH_FILES: '4' }), join(h.tmp, 'worker.log'));
      await worker.ready;
      const repo = join(h.tmp, 'repo');
      const hostInput = { host: h.host, hostQueue: h.hostQueue };
      await h.run('initRepositoryWorkflow', { repo, options: TEST_INIT_OPTIONS });
      const handle = await h.client.workflow.start('backupWorkflow', {
        taskQueue: h.taskQueue, workflowId: uniqueId('chaos-temporal-restart'), args: [{ repo, paths: [source], ...hostInput }],
      });
      await new Promise((r) => setTimeout(r, 700));
      const before = await handle.describe();
      assert.equal(before.status.name, 'RUNNING', 'the restart must land mid-job');
      const restart = await restartStackService('temporal');
      const dbFile = /--db-filename (\S+)/.exec(restart.oldCommand)?.[1];
      assert.ok(dbFile !== undefined, `no --db-filename in ${restart.oldCommand}`);
      assert.ok(restart.newCommand.includes(`--db-filename ${dbFile}`), 'Temporal came back on the same SQLite file');
      assert.notEqual(restart.newPid, restart.oldPid);
      report.detail(SCENARIO_TEMPORAL, 'server-down-ms', restart.downMs);
      const backup = await resultThroughOutage<BackupResult>(handle, 10 * 60_000);
      assert.equal(backup.snapshot.stats.files, manifest.size);
      const target = join(h.tmp, 'restored');
      const restored = await h.run<RestoreOutput>('restoreWorkflow', { repo, snapshot: backup.snapshot.id, target, ...hostInput });
      const diff = manifestDiff(manifest, await manifestOf(join(target, basename(source))));
      outcome = diff.length === 0 && restored.verified.differences === 0 ? 'ok' : 'lost';
      assert.deepEqual(diff.slice(0, 10), []);
    } finally {
      report.run(SCENARIO_TEMPORAL, outcome);
    }
  });

  void it('catalog writes complete across a FerretDB restart, each document exactly once', { timeout: 10 * 60_000 }, async () => {
    const dbName = `chaos_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
    const repoId = randomBytes(32).toString('hex');
    const url = stackVar('COFFER_MONGODB_URL');
    const total = 120;
    let outcome: 'ok' | 'lost' | 'other' = 'other';
    let catalog = await Catalog.open({ url, dbName, serverSelectionTimeoutMs: 2000 });
    try {
      const summaries: SnapshotSummary[] = Array.from({ length: total }, (_, i) => ({
        id: randomBytes(32).toString('hex'), time: new Date(Date.UTC(2025, 0, 1, 0, i)).toISOString(), host: 'chaos', paths: ['/data'], tags: [],
        rootTree: randomBytes(32).toString('hex'), keyEpoch: 1,
        stats: { files: i, dirs: 1, bytes: i * 10, bytesNew: 0, bytesUploaded: 0, chunksNew: 0, chunksDeduplicated: 0, filesUnchanged: 0, errors: 0 },
      }));
      let restarting: Promise<void> | undefined;
      let retries = 0;
      for (const [i, summary] of summaries.entries()) {
        await new Promise((r) => setTimeout(r, 100)); // a job's pace, so the restart lands mid-stream
        if (i === 10) {
          restarting = restartStackService('ferretdb', 1500).then((r) => {
            report.detail(SCENARIO_FERRET, 'server-down-ms', r.downMs);
          });
        }
        // What the activity retry policy does: retry retryable failures with a pause, up to a deadline.
        for (let attempt = 1; ; attempt++) {
          try {
            await catalog.recordSnapshot(repoId, summary);
            break;
          } catch (err) {
            if (!(err instanceof CofferError && err.retryable) || attempt > 120) throw new Error(`write ${i} failed for good: ${describeError(err)}`);
            retries++;
            await new Promise((r) => setTimeout(r, 500));
            if (attempt % 10 === 0) {
              // A retried activity would open a fresh client.
              await catalog.close().catch(() => undefined);
              catalog = await Catalog.open({ url, dbName, serverSelectionTimeoutMs: 2000 }).catch(() => catalog);
            }
          }
        }
      }
      await restarting;
      report.detail(SCENARIO_FERRET, 'write-retries', retries);
      const stored = await catalog.listSnapshots(repoId, { limit: total * 2 });
      const ids = new Set(stored.map((d) => d.snapshotId));
      const missing = summaries.filter((s) => !ids.has(s.id));
      outcome = missing.length === 0 && stored.length === total ? 'ok' : 'lost';
      assert.equal(missing.length, 0, `${missing.length} snapshot documents missing`);
      assert.equal(stored.length, total, 'each document exactly once');
      assert.ok(retries > 0, 'the restart landed while writes were going on');
    } finally {
      report.run(SCENARIO_FERRET, outcome);
      await catalog.db.dropDatabase().catch(() => undefined);
      await catalog.close().catch(() => undefined);
    }
  });
});
