/**
 * Replays the saved histories under test/workflows/histories/ (recorded by
 * test/e2e/replay.test.ts with COFFER_RECORD_HISTORIES=1) against the current
 * workflow code, offline: a change that breaks determinism for running
 * workflows fails here (drill-v1-before-report is a drill recorded before the
 * report was stored in the repository: it replays through `patched()`). The
 * histories are encrypted with the throwaway test codec keys saved beside them.
 */
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { temporal } from '@temporalio/proto';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { bundleCofferWorkflows } from '../../workers/bundle';
import { EncryptionCodec } from '../../workers/codec';
import { createDataConverter } from '../../workers/data-converter';

const DIR = join(__dirname, 'histories');

void test('saved histories of every workflow replay deterministically', async () => {
  try {
    Runtime.install({ logger: new DefaultLogger('WARN') });
  } catch {
    // already installed in this process
  }
  const files = (await readdir(DIR)).filter((f) => f.endsWith('.history.bin')).sort();
  const kinds = new Set(files.map((f) => f.replace(/(-run\d+)?\.history\.bin$/, '')));
  for (const kind of ['init', 'backup-multi-run', 'backup-cancelled', 'restore', 'restore-target-not-empty', 'verify', 'drill', 'retention-dry-run', 'rotate-keys', 'replicate', 'drill-v1-before-report',
    // Recorded after the catalog, access and sources steps (patched) landed, with a catalog.
    'init-v2', 'backup-multi-run-v2', 'backup-cancelled-v2', 'restore-v2', 'verify-v2', 'drill-v2', 'retention-dry-run-v2', 'rotate-keys-v2', 'replicate-v2',
    'remove-key', 'catalog-rebuild', 'catalog-check', 'audit-verify', 'report-inputs']) {
    assert.ok(kinds.has(kind), `a saved history of ${kind}`);
  }
  const histories = await Promise.all(
    files.map(async (file) => ({ workflowId: file, history: temporal.api.history.v1.History.decode(await readFile(join(DIR, file))) })),
  );
  const dataConverter = createDataConverter(EncryptionCodec.fromKeyFile(join(DIR, 'codec.key'), false));
  let replayed = 0;
  for await (const result of Worker.runReplayHistories({ workflowBundle: await bundleCofferWorkflows(), dataConverter, replayName: 'saved' }, histories)) {
    assert.equal(result.error, undefined, `${result.workflowId}: ${String(result.error)}`);
    replayed += 1;
  }
  assert.equal(replayed, files.length);
});
