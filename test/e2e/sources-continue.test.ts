/**
 * A backup with hooks that continues as new: continuing is not an ending, so
 * post hooks run once, after the commit, and the pre hooks do not run again
 * in later runs.
 */
import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { InitRepositoryOutput } from '../../activities/repository';
import type { BackupResult } from '../../workflows/backup';
import { startHarness, TEST_INIT_OPTIONS } from './harness';
import type { Harness } from './harness';

void describe('backup hooks across continue-as-new', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ engine: { batchFiles: 2 }, allowCommands: ['sh'] });
  });
  after(async () => h.close());

  void test('pre hooks once at the start, post hooks once at the end, however many runs the backup takes', async () => {
    const repo = join(h.tmp, 'repo');
    await h.run<InitRepositoryOutput>('initRepositoryWorkflow', { repo, options: TEST_INIT_OPTIONS });
    const source = join(h.tmp, 'source');
    await mkdir(source);
    for (let i = 0; i < 8; i++) await writeFile(join(source, `f${i}.txt`), `file ${i}\n`.repeat(100));
    const log = join(h.tmp, 'hooks.log');
    const result = await h.run<BackupResult>('backupWorkflow', {
      repo,
      paths: [source],
      host: h.host,
      hostQueue: h.hostQueue,
      concurrency: 1,
      batchesPerRun: 1,
      hooks: { pre: [['sh', '-c', `echo pre >> ${log}`]], post: [['sh', '-c', `echo post >> ${log}`]], timeoutSeconds: 30 },
    });
    assert.equal(result.plan.batches, 4);
    assert.ok(result.runs >= 4, `the backup continued as new (${result.runs} runs)`);
    assert.equal(result.snapshot.stats.files, 8);
    assert.equal(await readFile(log, 'utf8'), 'pre\npost\n');
  });
});
