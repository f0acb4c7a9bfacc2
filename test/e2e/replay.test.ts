/**
 * Replay: record the real histories of every Coffer workflow (including a
 * multi-run backup, a failed restore and a cancelled backup) and replay them
 * with Worker.runReplayHistories against the current workflow code. With
 * COFFER_RECORD_HISTORIES=1 the histories (binary protobuf) (and the throwaway codec key that
 * encrypted them) are saved under test/workflows/histories/ for the offline
 * replay test.
 */
import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { Worker } from '@temporalio/worker';
import type { BackupResult } from '../../workflows/backup';
import { failureCode, startHarness, TEST_INIT_OPTIONS, uniqueId, workflowBundle } from './harness';
import type { Harness } from './harness';
import { fetchAllRuns } from './histories';
import type { RunHistory } from './histories';
import { makeTree } from './trees';

const HISTORIES_DIR = resolve(__dirname, '..', 'workflows', 'histories');

void describe('replay of recorded histories', () => {
  let h: Harness;
  const recorded: { name: string; handle: WorkflowHandleWithFirstExecutionRunId }[] = [];

  before(async () => {
    // With a catalog, so every workflow's catalog step (record, audit, head) is in its history.
    h = await startHarness({ engine: { batchFiles: 4 }, catalog: true });
  });
  after(async () => h.close());

  async function record(name: string, workflow: string, input: unknown, expectFailure?: string): Promise<unknown> {
    const { handle, result } = await h.start(workflow, input, uniqueId(name));
    recorded.push({ name, handle });
    if (expectFailure === undefined) return result;
    await assert.rejects(result, (err: unknown) => failureCode(err) === expectFailure);
    return undefined;
  }

  void test('every workflow replays deterministically', async () => {
    const repo = join(h.tmp, 'repo');
    const source = join(h.tmp, 'src');
    await makeTree(source, { smallFiles: 12, largeFiles: [256 * 1024] });
    const host = { host: h.host, hostQueue: h.hostQueue };
    await record('init', 'initRepositoryWorkflow', { repo, options: TEST_INIT_OPTIONS });
    const backup = (await record('backup-multi-run', 'backupWorkflow', { repo, paths: [source], ...host, batchesPerRun: 2 })) as BackupResult;
    assert.ok(backup.runs >= 2, `expected continue-as-new, got ${backup.runs} run(s)`);
    await record('restore', 'restoreWorkflow', { repo, target: join(h.tmp, 'restored'), ...host });
    await record('restore-target-not-empty', 'restoreWorkflow', { repo, target: join(h.tmp, 'restored'), ...host }, 'COFFER-E404');
    await record('verify', 'verifyWorkflow', { repo, level: 'read-data' });
    await record('drill', 'drDrillWorkflow', { repo, ...host });
    await record('retention-dry-run', 'retentionWorkflow', { repo, policy: { keepLast: 1 }, dryRun: true });
    // A second key to remove (added with the engine: a new passphrase never travels through a workflow).
    const deps = h.deps;
    assert.ok(deps !== undefined);
    const extraKey = await deps.repositories.use(repo, async (r) => r.addKey({ passphrase: 'a second passphrase' }, 'replay'));
    await record('remove-key', 'removeKeyWorkflow', { repo, keyId: extraKey.id });
    await record('rotate-keys', 'rotateKeysWorkflow', { repo, packsPerBatch: 1, batchesPerRun: 2 });
    await record('replicate', 'replicateWorkflow', { source: repo, destination: join(h.tmp, 'replica'), initDestination: true, initOptions: TEST_INIT_OPTIONS });

    await record('catalog-rebuild', 'catalogRebuildWorkflow', { repo });
    await record('catalog-check', 'catalogCheckWorkflow', { repo });
    await record('audit-verify', 'auditVerifyWorkflow', { repo });
    await record('report-inputs', 'reportInputsWorkflow', { repo });

    // A cancelled backup: cancel once it is uploading.
    const big = join(h.tmp, 'big');
    await makeTree(big, { smallFiles: 200, largeFiles: [] });
    const { handle, result } = await h.start('backupWorkflow', { repo, paths: [big], ...host, concurrency: 1 }, uniqueId('backup-cancelled'));
    recorded.push({ name: 'backup-cancelled', handle });
    await handle.cancel();
    await assert.rejects(result);

    const runs: (RunHistory & { name: string })[] = [];
    for (const { name, handle: wf } of recorded) {
      const all = await fetchAllRuns(h.client, wf.workflowId, wf.firstExecutionRunId);
      all.forEach((run, i) => runs.push({ ...run, name: all.length === 1 ? name : `${name}-run${i + 1}` }));
    }
    const results = Worker.runReplayHistories(
      { workflowBundle: await workflowBundle(), dataConverter: h.dataConverter, replayName: 'coffer-replay' },
      runs.map((r) => ({ workflowId: r.workflowId, history: r.history })),
    );
    let replayed = 0;
    for await (const replay of results) {
      assert.equal(replay.error, undefined, `${replay.workflowId}: ${String(replay.error)}`);
      replayed += 1;
    }
    assert.equal(replayed, runs.length);
    console.log(`# replayed ${replayed} histories of ${recorded.length} workflows`);

    if (process.env.COFFER_RECORD_HISTORIES === '1') {
      await mkdir(HISTORIES_DIR, { recursive: true });
      // This run's key first; earlier keys stay so older saved histories still decode.
      const keyFile = join(HISTORIES_DIR, 'codec.key');
      const previous = await readFile(keyFile, 'utf8').catch(() => '');
      const current = await readFile(h.codecKeyFile, 'utf8');
      const lines = [...current.split('\n'), ...previous.split('\n')].filter((l) => l.trim() !== '');
      await writeFile(keyFile, `${[...new Set(lines)].join('\n')}\n`, { mode: 0o600 });
      // Binary protobuf: exact, and independent of the JSON mapping's version quirks.
      for (const run of runs) await writeFile(join(HISTORIES_DIR, `${run.name}.history.bin`), temporal.api.history.v1.History.encode(run.history).finish());
    }
  });
});
