/**
 * Scenario 6b — the servers restart under a running job.
 *
 * Temporal: a backup workflow runs on a child-process worker; mid-job the
 * stack's Temporal dev server is stopped (SIGTERM to the pid `npm run stack
 * -- status` reports) and started again by `npm run stack -- up`, on the same
 * SQLite file (checked on its command line). The job must complete, and its
 * snapshot restore byte-identical through a restore workflow.
 *
 * FerretDB (the catalog's MongoDB-wire server): a real backup workflow runs
 * on in-process workers with a catalog; its first batch restarts the stack's
 * FerretDB the same way (down ~6 s), so the job commits while the catalog is
 * away and its catalog step (recordJob) fails and is retried by Temporal
 * until FerretDB is back. The job completes with `catalog: 'recorded'`, and
 * its snapshot, run and audit entry are in the catalog exactly once.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { WorkflowFailedError } from '@temporalio/client';
import type { WorkflowHandle } from '@temporalio/client';
import { Catalog } from '../../activities/catalog/catalog';
import type { BackupResult } from '../../workflows/backup';
import type { RestoreOutput } from '../../workflows/restore';
import { startHarness, TEST_INIT_OPTIONS, uniqueId } from '../e2e/harness';
import type { Harness } from '../e2e/harness';
import { stackVar } from '../helpers/stack';
import { spawnWorker } from './child-worker';
import type { ChildWorker } from './child-worker';
import { ChaosReport } from './report';
import { manifestDiff, manifestOf, writeDataset } from './helpers';
import type { Manifest } from './helpers';
import { restartStackService, stackPid } from './stack-control';

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

/** Resolves once the process is gone (or a zombie). */
async function processGone(pid: number): Promise<void> {
  for (;;) {
    try {
      if (/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'))) return;
    } catch {
      return;
    }
    await new Promise((r) => setTimeout(r, 100));
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

  void it('a backup workflow with its catalog step completes across a FerretDB restart, its records exactly once', { timeout: 10 * 60_000 }, async () => {
    const dbName = `chaos_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
    const url = stackVar('COFFER_MONGODB_URL');
    let outcome: 'ok' | 'lost' | 'other' = 'other';
    let restarting: Promise<void> | undefined;
    let stopped: Promise<void> | undefined;
    let recordAttempts = 0;
    let recordFailures = 0;
    // In-process workers with a catalog; the first backup batch starts the restart (mid-job by construction),
    // and the small job commits while FerretDB is still down, so its catalog step must ride out the outage.
    const ch = await startHarness({
      catalog: { url, dbName },
      engine: { batchFiles: 4 },
      wrapActivities: (activities) => ({
        ...activities,
        backupBatch: async (input: never) => {
          if (restarting === undefined) {
            const pid = stackPid('ferretdb');
            assert.ok(pid !== undefined, 'FerretDB is up before the restart');
            stopped = processGone(pid);
            // Down longer than the catalog's 5 s server-selection wait, so an attempt made meanwhile fails and is retried.
            restarting = restartStackService('ferretdb', 8000).then((r) => {
              report.detail(SCENARIO_FERRET, 'server-down-ms', r.downMs);
            });
          }
          return activities.backupBatch(input);
        },
        recordJob: async (input: { type: string }) => {
          // The backup's catalog step starts only once FerretDB is really gone (its first attempt meets the outage).
          if (input.type === 'backup' && recordAttempts === 0) await stopped;
          if (input.type === 'backup') recordAttempts++;
          try {
            return await activities.recordJob(input as never);
          } catch (err) {
            if (input.type === 'backup') recordFailures++;
            throw err;
          }
        },
      }),
    });
    let catalog: Catalog | undefined;
    try {
      const data = join(ch.tmp, 'data');
      const dataManifest = await writeDataset(data, 7002, { files: 40, minSize: 1_000, maxSize: 20_000, dirs: 2 });
      const repo = join(ch.tmp, 'repo');
      const init = await ch.run<{ repositoryId: string; catalog?: string }>('initRepositoryWorkflow', { repo, options: TEST_INIT_OPTIONS });
      assert.equal(init.catalog, 'recorded');
      const workflowId = uniqueId('chaos-ferretdb-restart');
      const backup = await ch.run<BackupResult>('backupWorkflow', { repo, paths: [data], host: ch.host, hostQueue: ch.hostQueue }, workflowId);
      await restarting;
      report.detail(SCENARIO_FERRET, 'catalog-step-attempts', recordAttempts);
      assert.equal(backup.snapshot.stats.files, dataManifest.size);
      assert.equal(backup.catalog, 'recorded', 'the catalog step completed after FerretDB came back');
      assert.ok(recordFailures > 0, `the catalog step ran while FerretDB was down (attempts ${recordAttempts}, failures ${recordFailures})`);

      catalog = await Catalog.open({ url, dbName, serverSelectionTimeoutMs: 5000 });
      const repoId = init.repositoryId;
      const snapshots = await catalog.listSnapshots(repoId);
      const runs = await catalog.runs.find({ workflowId }).toArray();
      const audit = await catalog.audit.find({ repoId, workflowId }).toArray();
      const exactlyOnce = snapshots.length === 1 && snapshots[0]?.snapshotId === backup.snapshot.id && runs.length === 1 && audit.length === 1;
      outcome = exactlyOnce ? 'ok' : 'lost';
      assert.deepEqual(snapshots.map((d) => d.snapshotId), [backup.snapshot.id], 'the snapshot exactly once');
      assert.equal(runs.length, 1, 'the run exactly once');
      assert.equal(runs[0]?.outcome, 'succeeded');
      assert.equal(audit.length, 1, 'the audit entry exactly once');
    } finally {
      report.run(SCENARIO_FERRET, outcome);
      await restarting?.catch(() => undefined);
      await catalog?.db.dropDatabase().catch(() => undefined);
      await catalog?.close().catch(() => undefined);
      await ch.close();
    }
  });
});
