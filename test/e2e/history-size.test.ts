/**
 * History stays bounded: a backup of 100,000 small files (the size;
 * COFFER_HISTORY_FILES for another count) keeps every workflow run
 * under 10,000 events and every payload under 256 KB, both with the engine's
 * default batch size and with tiny batches that force many batch activities
 * and continue-as-new.
 */
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { BackupResult } from '../../workflows/backup';
import type { RestoreOutput } from '../../workflows/restore';
import { startHarness, TEST_INIT_OPTIONS } from './harness';
import type { Harness } from './harness';
import { fetchAllRuns, payloadSizes } from './histories';

const FILES = Number(process.env.COFFER_HISTORY_FILES ?? 100_000);
const MAX_EVENTS = 10_000;
const MAX_PAYLOAD = 256 * 1024;

async function makeManySmallFiles(root: string, count: number): Promise<void> {
  const perDir = 500;
  for (let d = 0; d * perDir < count; d++) {
    const dir = join(root, `dir-${String(d).padStart(4, '0')}`);
    await mkdir(dir, { recursive: true });
    const writes: Promise<void>[] = [];
    for (let i = d * perDir; i < Math.min(count, (d + 1) * perDir); i++) writes.push(writeFile(join(dir, `file-${i}.txt`), `file ${i} ${'x'.repeat(i % 200)}\n`));
    await Promise.all(writes);
  }
}

interface Measured {
  readonly runs: number;
  readonly eventsPerRun: number[];
  readonly maxPayload: number;
  readonly ms: number;
  readonly result: BackupResult;
}

async function measuredBackup(h: Harness, repo: string, source: string, extra: Record<string, unknown> = {}): Promise<Measured> {
  const t0 = Date.now();
  const { handle, result } = await h.start<BackupResult>('backupWorkflow', { repo, paths: [source], host: h.host, hostQueue: h.hostQueue, ...extra });
  const outcome = await result;
  const ms = Date.now() - t0;
  const runs = await fetchAllRuns(h.client, handle.workflowId, handle.firstExecutionRunId);
  return {
    runs: runs.length,
    eventsPerRun: runs.map((r) => r.history.events?.length ?? 0),
    maxPayload: Math.max(...runs.flatMap((r) => payloadSizes(r.history))),
    ms,
    result: outcome,
  };
}

void describe(`history size of a backup of ${FILES} small files`, () => {
  let source: string;
  let defaults: Harness;
  let tiny: Harness;

  before(async () => {
    defaults = await startHarness();
    // ~300 batch activities whatever the file count, with 100 per run: continue-as-new must happen.
    tiny = await startHarness({ engine: { batchFiles: Math.max(10, Math.ceil(FILES / 300)) } });
    source = join(defaults.tmp, 'many');
    await makeManySmallFiles(source, FILES);
  });
  after(async () => {
    await defaults.close();
    await tiny.close();
  });

  void test('default batches: one run, few events, small payloads; restore verifies', async () => {
    const repo = join(defaults.tmp, 'repo');
    await defaults.run('initRepositoryWorkflow', { repo, options: TEST_INIT_OPTIONS });
    const m = await measuredBackup(defaults, repo, source);
    assert.equal(m.result.snapshot.stats.files, FILES);
    assert.ok(m.eventsPerRun.every((n) => n < MAX_EVENTS), `events per run ${m.eventsPerRun.join(',')}`);
    assert.ok(m.maxPayload < MAX_PAYLOAD, `largest payload ${m.maxPayload} bytes`);
    const t0 = Date.now();
    const restored = await defaults.run<RestoreOutput>('restoreWorkflow', { repo, target: join(defaults.tmp, 'restored'), host: defaults.host, hostQueue: defaults.hostQueue });
    assert.equal(restored.files, FILES);
    assert.equal(restored.verified.differences, 0);
    console.log(
      `# ${FILES} files, default batches: ${m.result.plan.batches} batch(es), ${m.runs} run(s), events/run ${m.eventsPerRun.join('/')}, ` +
        `largest payload ${m.maxPayload} B, backup ${m.ms} ms, restore+compare ${Date.now() - t0} ms`,
    );
  });

  void test('tiny batches: continue-as-new keeps every run under 10,000 events', async () => {
    const repo = join(tiny.tmp, 'repo');
    await tiny.run('initRepositoryWorkflow', { repo, options: TEST_INIT_OPTIONS });
    const m = await measuredBackup(tiny, repo, source, { batchesPerRun: 100, concurrency: 4 });
    assert.equal(m.result.snapshot.stats.files, FILES);
    assert.ok(m.result.plan.batches >= 250, `only ${m.result.plan.batches} batches`);
    assert.ok(m.runs >= 3, `expected continue-as-new, got ${m.runs} run(s)`);
    assert.equal(m.result.runs, m.runs);
    assert.ok(m.eventsPerRun.every((n) => n < MAX_EVENTS), `events per run ${m.eventsPerRun.join(',')}`);
    assert.ok(m.maxPayload < MAX_PAYLOAD, `largest payload ${m.maxPayload} bytes`);
    console.log(
      `# ${FILES} files, tiny batches: ${m.result.plan.batches} batches, ${m.runs} runs, events/run ${m.eventsPerRun.join('/')}, ` +
        `largest payload ${m.maxPayload} B, backup ${m.ms} ms`,
    );
  });
});
