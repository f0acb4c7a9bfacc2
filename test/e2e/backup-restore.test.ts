/**
 * init -> backup -> restore -> compare through the real workflows, on local
 * disk and on MinIO (s3://), with an independent byte-for-byte comparison of
 * the restored tree; then the same round trip through the `coffer` CLI run
 * as child processes.
 */
import assert from 'node:assert/strict';
import { readdir, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { WorkflowFailedError } from '@temporalio/client';
import type { InitRepositoryOutput } from '../../activities/repository';
import type { BackupResult } from '../../workflows/backup';
import type { RestoreOutput } from '../../workflows/restore';
import type { VerifyResult } from '../../workflows/verify';
import { stackVar } from '../helpers/stack';
import { failureCode, startHarness, TEST_INIT_OPTIONS } from './harness';
import type { Harness } from './harness';
import { makeTree, treeDifferences } from './trees';
import { runCli } from './cli';

void describe('backup and restore through the workflows', () => {
  let h: Harness;
  before(async () => {
    // Small batches so a modest tree spans several parallel batches.
    h = await startHarness({ engine: { batchFiles: 8 } });
  });
  after(async () => h.close());

  const backends: [string, (h: Harness) => string][] = [
    ['local disk', (harness) => join(harness.tmp, 'repo-local')],
    ['MinIO (s3)', (harness) => `s3://${stackVar('COFFER_S3_BUCKET')}/e2e/${harness.id}/repo`],
  ];

  for (const [name, repoFor] of backends) {
    void test(`${name}: init, backup, restore into staging, compare, swap`, async () => {
      const repo = repoFor(h);
      const source = join(h.tmp, `src-${basename(repo)}`);
      await makeTree(source, { smallFiles: 40, largeFiles: [3 * 1024 * 1024 + 17] });
      const hostInput = { host: h.host, hostQueue: h.hostQueue };

      const init = await h.run<InitRepositoryOutput>('initRepositoryWorkflow', { repo, options: TEST_INIT_OPTIONS });
      assert.match(init.repositoryId, /^[0-9a-f]{16,}$/);

      const t0 = Date.now();
      const first = await h.run<BackupResult>('backupWorkflow', { repo, paths: [source], ...hostInput });
      const backupMs = Date.now() - t0;
      assert.ok(first.plan.batches > 1, `expected several batches, got ${first.plan.batches}`);
      assert.equal(first.totals.batchesDone, first.plan.batches);
      assert.equal(first.snapshot.stats.files, 40 + 5); // regular files; the symlink is not a file
      assert.ok(first.totals.bytesUploaded > 0);

      // An unchanged second backup uploads (almost) nothing new.
      const second = await h.run<BackupResult>('backupWorkflow', { repo, paths: [source], ...hostInput });
      assert.notEqual(second.snapshot.id, first.snapshot.id);
      assert.equal(second.snapshot.parent, first.snapshot.id);
      assert.ok(second.totals.bytesUploaded < first.totals.bytesUploaded / 10, `second backup uploaded ${second.totals.bytesUploaded} bytes`);

      const target = join(h.tmp, `restore-${basename(repo)}`);
      const t1 = Date.now();
      const restored = await h.run<RestoreOutput>('restoreWorkflow', { repo, snapshot: 'latest', target, ...hostInput });
      const restoreMs = Date.now() - t1;
      assert.equal(restored.snapshotId, second.snapshot.id);
      assert.equal(restored.verified.differences, 0);
      assert.ok(restored.verified.matched > 40);
      assert.deepEqual(await treeDifferences(source, join(target, basename(source))), []);
      // No staging directory is left next to the target.
      assert.deepEqual((await readdir(h.tmp)).filter((n) => n.includes('coffer-staging')), []);

      // A non-empty target is refused (user error, not retried), and left untouched.
      await assert.rejects(h.run('restoreWorkflow', { repo, target, ...hostInput }), (err: unknown) => {
        assert.ok(err instanceof WorkflowFailedError);
        assert.equal(failureCode(err), 'COFFER-E404');
        return true;
      });
      assert.deepEqual(await treeDifferences(source, join(target, basename(source))), []);

      // --overwrite with an include pattern replaces the target with just that part, by snapshot id prefix.
      const partial = await h.run<RestoreOutput>('restoreWorkflow', {
        repo,
        snapshot: first.snapshot.id.slice(0, 10),
        target,
        include: [`${basename(source)}/docs`],
        overwrite: true,
        ...hostInput,
      });
      assert.equal(partial.snapshotId, first.snapshot.id);
      assert.equal(partial.replacedExisting, true);
      assert.deepEqual((await readdir(join(target, basename(source)))).sort(), ['docs']);
      assert.deepEqual(await treeDifferences(join(source, 'docs'), join(target, basename(source), 'docs')), []);

      // Point in time: asOf between the two backups selects the first.
      const asOf = new Date(Date.parse(second.snapshot.time) - 1).toISOString();
      const old = await h.run<RestoreOutput>('restoreWorkflow', { repo, asOf, target: join(h.tmp, `asof-${basename(repo)}`), ...hostInput });
      assert.equal(old.snapshotId, first.snapshot.id);

      const verify = await h.run<VerifyResult>('verifyWorkflow', { repo, level: 'read-data' });
      assert.equal(verify.ok, true);
      assert.equal(verify.findings, 0);
      assert.ok(verify.packsChecked > 0);
      console.log(`# ${name}: backup ${first.plan.files} files / ${first.plan.batches} batches in ${backupMs} ms, restore+compare in ${restoreMs} ms`);
    });
  }

  void test('a wrong repository and bad input fail non-retryably with their codes', async () => {
    await assert.rejects(h.run('restoreWorkflow', { repo: join(h.tmp, 'nothing-here'), target: join(h.tmp, 'x'), host: h.host, hostQueue: h.hostQueue }), (err: unknown) => {
      assert.equal(failureCode(err), 'COFFER-E207');
      return true;
    });
    await assert.rejects(h.run('backupWorkflow', { repo: join(h.tmp, 'r'), paths: [], host: h.host }), (err: unknown) => {
      assert.equal(failureCode(err), 'COFFER-E100');
      return true;
    });
  });
});

void describe('the coffer CLI as a child process', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(async () => h.close());

  void test('init, backup, snapshots, restore, verify; user errors are one line with exit status 2', async () => {
    const repo = join(h.tmp, 'cli-repo');
    const source = join(h.tmp, 'cli-src');
    await makeTree(source, { smallFiles: 10, largeFiles: [512 * 1024] });

    const init = await runCli(h, ['--json', 'init', '--repo', repo, '--kdf-ops', '1', '--kdf-mem-mib', '8']);
    assert.equal(init.code, 0, init.stderr);
    assert.equal(typeof (JSON.parse(init.stdout) as { repositoryId: string }).repositoryId, 'string');

    const backup = await runCli(h, ['--json', 'backup', '--repo', repo, source, '--tag', 'cli']);
    assert.equal(backup.code, 0, backup.stderr);
    const backupResult = JSON.parse(backup.stdout) as BackupResult & { workflowId: string };
    assert.match(backupResult.workflowId, new RegExp(`^backup/[0-9a-f]{8}/${h.host}/`));
    assert.deepEqual(backupResult.snapshot.tags, ['cli']);

    const snapshots = await runCli(h, ['snapshots', '--repo', repo]);
    assert.equal(snapshots.code, 0, snapshots.stderr);
    assert.ok(snapshots.stdout.includes(backupResult.snapshot.id.slice(0, 12)), snapshots.stdout);
    assert.ok(snapshots.stdout.includes('1 snapshot(s)'));

    const target = join(h.tmp, 'cli-restore');
    const restore = await runCli(h, ['restore', '--repo', repo, 'latest', '--target', target]);
    assert.equal(restore.code, 0, restore.stderr);
    assert.match(restore.stdout, /verified byte for byte against the snapshot: \d+ entries match, 0 differences/);
    assert.deepEqual(await treeDifferences(source, join(target, basename(source))), []);

    const verify = await runCli(h, ['verify', '--repo', repo, '--read-data']);
    assert.equal(verify.code, 0, verify.stderr);
    assert.match(verify.stdout, /no problems found/);

    // User mistakes: one line, a code, a hint, exit status 2, no stack trace. (Independent runs, in parallel.)
    const passwordFile = join(h.tmp, 'password');
    await writeFile(passwordFile, 'correct horse battery staple\n', { mode: 0o600 });
    const [again, wrongPassword, noRepo, badFlag, unreachable, noWorker, withFile] = await Promise.all([
      runCli(h, ['restore', '--repo', repo, 'latest', '--target', target]),
      runCli(h, ['snapshots', '--repo', repo], { COFFER_PASSWORD: 'not the password' }),
      runCli(h, ['backup', '--repo', join(h.tmp, 'missing'), source]),
      runCli(h, ['verify', '--repo', repo, '--subset', '5/2']),
      runCli(h, ['verify', '--repo', repo], { TEMPORAL_ADDRESS: '127.0.0.1:1' }),
      runCli(h, ['verify', '--repo', repo], { COFFER_TASK_QUEUE: `${h.taskQueue}-nobody` }),
      // A password file works as well as the variable.
      runCli(h, ['--password-file', passwordFile, 'snapshots', '--repo', repo], { COFFER_PASSWORD: '' }),
    ]);
    assert.equal(again.code, 2);
    assert.match(again.stderr, /^restore: workflow .*\nCOFFER-E404 restore target .* is not empty: .*--overwrite/);
    assert.doesNotMatch(again.stderr, /\n\s+at /);

    assert.equal(wrongPassword.code, 2);
    assert.match(wrongPassword.stderr, /^COFFER-E201 /);
    assert.equal(wrongPassword.stderr.trim().split('\n').length, 1);

    assert.equal(noRepo.code, 2);
    assert.match(noRepo.stderr, /^COFFER-E207 /);

    assert.equal(badFlag.code, 2);

    assert.equal(unreachable.code, 4, unreachable.stderr);
    assert.match(unreachable.stderr, /^COFFER-E401 /);

    assert.equal(noWorker.code, 4, noWorker.stderr);
    assert.match(noWorker.stderr, /^COFFER-E410 /);

    assert.equal(withFile.code, 0, withFile.stderr);
  });
});
