/**
 * Chaos on the server: a private Temporal dev server (own port, own SQLite
 * file) is killed with SIGKILL in the middle of a backup run by a real worker
 * process, then restarted on the same database. The backup completes and the
 * restore is byte-identical.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { BackupResult } from '../../workflows/backup';
import type { RestoreOutput } from '../../workflows/restore';
import { startHarness, TEST_INIT_OPTIONS } from './harness';
import type { Harness } from './harness';
import { startPrivateTemporal } from './temporal-server';
import type { PrivateTemporal } from './temporal-server';
import { treeDifferences } from './trees';
import { spawnWorker, waitForPollers } from './worker-process';
import type { WorkerProcess } from './worker-process';

void describe('restart the Temporal server in the middle of a backup', () => {
  let server: PrivateTemporal;
  let h: Harness;
  let worker: WorkerProcess | undefined;
  let dir: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'coffer-temporal-'));
    server = await startPrivateTemporal(join(dir, 'temporal.db'));
    h = await startHarness({ workers: false, address: server.address });
  });
  after(async () => {
    if (worker !== undefined && worker.child.exitCode === null) worker.child.kill('SIGKILL');
    await h.close().catch(() => undefined);
    await server.kill();
    await rm(dir, { recursive: true, force: true });
  });

  void test('the backup completes after the server comes back', async () => {
    const source = join(h.tmp, 'src');
    await mkdir(source, { recursive: true });
    for (let i = 0; i < 30; i++) await writeFile(join(source, `blob-${i}.bin`), randomBytes(2 * 1024 * 1024));
    const repo = join(h.tmp, 'repo');
    worker = spawnWorker(h.childEnv({ COFFER_ENGINE_BATCH_FILES: '10' }));
    await waitForPollers(h.client, [h.taskQueue, h.hostQueue], worker.child.pid as number);
    await h.run('initRepositoryWorkflow', { repo, options: TEST_INIT_OPTIONS });
    const { handle, result } = await h.start<BackupResult>('backupWorkflow', { repo, paths: [source], host: h.host, hostQueue: h.hostQueue, concurrency: 1 });
    const deadline = Date.now() + 120_000;
    for (;;) {
      const progress = await handle.query<{ batchesDone?: number }>('progress').catch(() => ({ batchesDone: 0 }));
      if ((progress.batchesDone ?? 0) >= 1) break;
      assert.ok(Date.now() < deadline, 'the backup never finished its first batch');
      await new Promise((r) => setTimeout(r, 50));
    }
    await server.kill('SIGKILL');
    await new Promise((r) => setTimeout(r, 3000));
    await server.start();
    const backup = await result;
    assert.equal(backup.snapshot.stats.files, 30);
    assert.equal(backup.totals.batchesDone, 3);
    const target = join(h.tmp, 'restored');
    const restored = await h.run<RestoreOutput>('restoreWorkflow', { repo, target, host: h.host, hostQueue: h.hostQueue });
    assert.equal(restored.verified.differences, 0);
    assert.deepEqual(await treeDifferences(source, join(target, 'src')), []);
    worker.child.kill('SIGTERM');
    assert.equal(await worker.exited, 0);
  });
});
