/**
 * Command sources, hooks, canaries and the anomaly alert through the real
 * backupWorkflow (real Temporal, in-process workers, real engine, local-disk
 * repository), plus the spool's retry behaviour in a mock activity
 * environment.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import { WorkflowFailedError } from '@temporalio/client';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createActivities } from '../../activities';
import type { SnapshotSummary } from '../../activities/engine/api';
import type { InitRepositoryOutput } from '../../activities/repository';
import type { SpoolCommandOutput } from '../../activities/sources/activities';
import { jobSpoolDir, sourceDataDir } from '../../activities/sources/spool';
import { commandPolicy } from '../../workers/config';
import type { BackupAlert, BackupResult } from '../../workflows/backup';
import type { RestoreOutput } from '../../workflows/restore';
import { failureCode, startHarness, TEST_INIT_OPTIONS, uniqueId } from './harness';
import type { Harness } from './harness';

const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

void describe('backup sources: commands, hooks, canaries, anomalies', () => {
  let h: Harness;
  let hostInput: { host: string; hostQueue: string };
  before(async () => {
    // The worker runs only what its allowlist names (COFFER_ALLOW_COMMANDS); these tests use sh and sleep.
    h = await startHarness({ engine: { batchFiles: 16 }, allowCommands: ['sh', 'sleep'] });
    hostInput = { host: h.host, hostQueue: h.hostQueue };
  });
  after(async () => h.close());

  async function newRepo(name: string): Promise<string> {
    const repo = join(h.tmp, name);
    await h.run<InitRepositoryOutput>('initRepositoryWorkflow', { repo, options: TEST_INIT_OPTIONS });
    return repo;
  }
  async function snapshots(repo: string): Promise<SnapshotSummary[]> {
    const deps = h.deps;
    assert.ok(deps !== undefined);
    return deps.repositories.use(repo, async (r) => r.listSnapshots(), { fresh: true });
  }
  function failure(err: unknown): ApplicationFailure {
    assert.ok(err instanceof WorkflowFailedError, `expected a failed workflow, got ${String(err)}`);
    assert.ok(err.cause instanceof ApplicationFailure);
    return err.cause;
  }

  void test('command source: stdout stored as /coffer-commands/<source>/<filename>, restored byte for byte; spool removed', async () => {
    const repo = await newRepo('repo-cmd');
    const expected = join(h.tmp, 'expected-dump.bin');
    const result = await h.run<BackupResult>('backupWorkflow', {
      repo,
      source: 'pgdb',
      paths: [],
      command: { argv: ['sh', '-c', `head -c 5000000 /dev/urandom | tee ${expected}; echo 'dump done' >&2`], filename: 'mydb.dump' },
      ...hostInput,
    });
    const want = await readFile(expected);
    assert.equal(want.length, 5_000_000);
    assert.deepEqual(result.snapshot.paths, ['/coffer-commands/pgdb']);
    assert.equal(result.command?.path, '/coffer-commands/pgdb/mydb.dump');
    assert.equal(result.command?.bytes, 5_000_000);
    assert.equal(result.command?.sha256, sha256(want));
    assert.equal(result.command?.reused, false);
    assert.equal(result.snapshot.stats.files, 1);
    assert.equal(result.snapshot.stats.bytesChanged, 5_000_000);
    // The spool (a copy of the dump) is gone once the snapshot is committed.
    const deps = h.deps;
    assert.ok(deps !== undefined);
    const spoolRoot = join(deps.scratchDir, 'command-spool');
    assert.deepEqual(existsSync(spoolRoot) ? await readdir(spoolRoot) : [], []);

    const target = join(h.tmp, 'restore-cmd');
    const restored = await h.run<RestoreOutput>('restoreWorkflow', { repo, snapshot: result.snapshot.id, target, ...hostInput });
    assert.equal(restored.verified.differences, 0);
    const got = await readFile(join(target, 'pgdb', 'mydb.dump'));
    assert.equal(got.length, want.length);
    assert.ok(got.equals(want), 'restored dump differs from the command output');
  });

  void test('failing command: typed error naming the command, status and stderr; no snapshot; post hook still runs', async () => {
    const repo = await newRepo('repo-cmd-fail');
    const log = join(h.tmp, 'hooks-fail.log');
    const before = (await snapshots(repo)).length;
    const err = await h
      .run<BackupResult>('backupWorkflow', {
        repo,
        source: 'pgdb',
        paths: [],
        command: { argv: ['sh', '-c', "head -c 100000 /dev/zero; echo 'pg_dump: error: connection to server failed' >&2; exit 3"], filename: 'mydb.dump' },
        hooks: { pre: [['sh', '-c', `echo pre >> ${log}`]], post: [['sh', '-c', `echo post >> ${log}`]], timeoutSeconds: 30 },
        ...hostInput,
      })
      .then(
        () => assert.fail('the backup should have failed'),
        (e: unknown) => e,
      );
    assert.equal(failureCode(err), 'COFFER-E213');
    const f = failure(err);
    assert.match(f.message, /command source 'pgdb': `sh -c .*` exited with status 3/);
    assert.match(f.message, /stderr: pg_dump: error: connection to server failed/);
    assert.equal((await snapshots(repo)).length, before, 'no snapshot may be written');
    assert.equal(await readFile(log, 'utf8'), 'pre\npost\n');
    const deps = h.deps;
    assert.ok(deps !== undefined);
    const spoolRoot = join(deps.scratchDir, 'command-spool');
    assert.deepEqual(existsSync(spoolRoot) ? await readdir(spoolRoot) : [], []);
  });

  void test('hooks run in order: pre before the command, post after the commit; postOnFailure false skips post', async () => {
    const repo = await newRepo('repo-hooks');
    const log = join(h.tmp, 'hooks.log');
    const ok = await h.run<BackupResult>('backupWorkflow', {
      repo,
      source: 'app',
      paths: [],
      command: { argv: ['sh', '-c', `echo command >> ${log}; echo payload`], filename: 'app.txt' },
      hooks: { pre: [['sh', '-c', `echo pre1 >> ${log}`], ['sh', '-c', `echo pre2 >> ${log}`]], post: [['sh', '-c', `echo post >> ${log}`]], timeoutSeconds: 30 },
      ...hostInput,
    });
    assert.equal(ok.command?.bytes, 'payload\n'.length);
    assert.equal(await readFile(log, 'utf8'), 'pre1\npre2\ncommand\npost\n');

    // A failing pre hook fails the backup (E214); with postOnFailure false nothing else runs.
    const log2 = join(h.tmp, 'hooks2.log');
    const err = await h
      .run('backupWorkflow', {
        repo,
        source: 'app',
        paths: [],
        command: { argv: ['sh', '-c', `echo command >> ${log2}`], filename: 'app.txt' },
        hooks: { pre: [['sh', '-c', `echo pre >> ${log2}; echo stopping failed >&2; exit 1`]], post: [['sh', '-c', `echo post >> ${log2}`]], postOnFailure: false, timeoutSeconds: 30 },
        ...hostInput,
      })
      .then(
        () => assert.fail('should fail'),
        (e: unknown) => e,
      );
    assert.equal(failureCode(err), 'COFFER-E214');
    assert.match(failure(err).message, /pre hook of source 'app': .* exited with status 1; stderr: stopping failed/);
    assert.equal(await readFile(log2, 'utf8'), 'pre\n');

    // A hook that outlives its timeout is killed and reported as timed out.
    const err3 = await h
      .run('backupWorkflow', { repo, paths: [join(h.tmp)], hooks: { pre: [['sleep', '30']], timeoutSeconds: 1 }, ...hostInput })
      .then(
        () => assert.fail('should fail'),
        (e: unknown) => e,
      );
    assert.equal(failureCode(err3), 'COFFER-E214');
    assert.match(failure(err3).message, /`sleep 30` timed out after 1s/);
  });

  void test('allowlist: programs the worker does not list are refused (E546, non-retryable) before anything runs; names and paths match by real path', async () => {
    const repo = await newRepo('repo-allow');
    const marker = join(h.tmp, 'allow-marker');
    const refused = async (input: Record<string, unknown>): Promise<ApplicationFailure> => {
      const err = await h.run('backupWorkflow', { repo, source: 'db', paths: [], ...hostInput, ...input }).then(
        () => assert.fail('the backup should have been refused'),
        (e: unknown) => e,
      );
      assert.equal(failureCode(err), 'COFFER-E546');
      return failure(err);
    };
    const count = (await snapshots(repo)).length;

    // A command source whose program is not listed.
    const f1 = await refused({ command: { argv: ['touch', marker], filename: 'x' } });
    assert.match(f1.message, /command source 'db': 'touch' \(\/.*touch\) is not allowed on the worker of task queue .* \(see COFFER_ALLOW_COMMANDS\)/);
    assert.equal(f1.nonRetryable, true);
    // A hook whose program is not listed: the backup stops before the command runs.
    const f2 = await refused({ command: { argv: ['sh', '-c', `echo ran > ${marker}`], filename: 'x' }, hooks: { pre: [['sh', '-c', 'true'], ['touch', marker]], timeoutSeconds: 10 } });
    assert.match(f2.message, /pre hook of source 'db': 'touch' .* is not allowed/);
    // A relative path is never allowed, and a copy of an allowed program elsewhere is another program.
    await writeFile(join(h.tmp, 'dump.sh'), '#!/bin/sh\necho hi\n', { mode: 0o755 });
    const f3 = await refused({ command: { argv: ['./dump.sh'], filename: 'x', workdir: h.tmp } });
    assert.match(f3.message, /'\.\/dump\.sh' is a relative path/);
    const fake = join(h.tmp, 'fakebin');
    await mkdir(fake, { recursive: true });
    await copyFile('/bin/sh', join(fake, 'sh'));
    const f4 = await refused({ command: { argv: [join(fake, 'sh'), '-c', `echo ran > ${marker}`], filename: 'x' } });
    assert.match(f4.message, /fakebin\/sh.* is not allowed/);
    assert.equal(existsSync(marker), false, 'nothing refused may have run');
    assert.equal((await snapshots(repo)).length, count, 'no snapshot after a refusal');

    // The listed name also allows its absolute path and a symlink to the same file (what runs is that file).
    await symlink('/bin/sh', join(fake, 'my-shell'));
    const ok = await h.run<BackupResult>('backupWorkflow', {
      repo,
      source: 'db',
      paths: [],
      command: { argv: [join(fake, 'my-shell'), '-c', 'echo dumped'], filename: 'x.sql' },
      hooks: { pre: [['/bin/sh', '-c', `echo pre > ${marker}`]], timeoutSeconds: 10 },
      ...hostInput,
    });
    assert.equal(ok.command?.bytes, 'dumped\n'.length);
    assert.equal(await readFile(marker, 'utf8'), 'pre\n');
  });

  void test('a worker without an allowlist runs no command; commands get an environment without credentials', async () => {
    const deps = h.deps;
    assert.ok(deps !== undefined);
    const env = (): MockActivityEnvironment => new MockActivityEnvironment({ heartbeatTimeoutMs: 30_000 });
    const { commands: _allowed, ...withoutPolicy } = deps;
    const none = createActivities(withoutPolicy);
    const input = { spoolKey: uniqueId('no-allow'), source: 'db', argv: ['sh', '-c', 'echo hi'], filename: 'db.txt' };
    await assert.rejects(
      env().run(none.spoolCommandOutput, input),
      (err: unknown) => {
        assert.ok(err instanceof ApplicationFailure);
        assert.equal(err.type, 'COFFER-E546');
        assert.match(err.message, /no command is allowed/);
        return true;
      },
    );
    // The environment comes from the worker's configuration, stripped of Coffer's and the backends' variables.
    const acts = createActivities({ ...deps, commands: commandPolicy('sh', { ...process.env, COFFER_PASSWORD: 'secret', AWS_SECRET_ACCESS_KEY: 'secret', SOME_SETTING: 'kept' }) });
    const envInput = { spoolKey: uniqueId('env'), source: 'envdump', argv: ['sh', '-c', 'env'], filename: 'env.txt' };
    const out = await env().run<[typeof envInput], SpoolCommandOutput, typeof acts.spoolCommandOutput>(acts.spoolCommandOutput, envInput);
    const text = await readFile(join(out.readFrom, 'env.txt'), 'utf8');
    assert.match(text, /^SOME_SETTING=kept$/m);
    assert.doesNotMatch(text, /^(COFFER_|AWS_|AZURE_|TEMPORAL_)/m);
    await env().run(acts.removeCommandSpool, { spoolKey: envInput.spoolKey });
  });

  void test('a retried spool activity reuses a complete spool and never runs the command twice', async () => {
    const deps = h.deps;
    assert.ok(deps !== undefined);
    const acts = createActivities(deps);
    const counter = join(h.tmp, 'runs.log');
    const spoolKey = uniqueId('spool-test');
    const input = { spoolKey, source: 'db', argv: ['sh', '-c', `echo run >> ${counter}; head -c 300000 /dev/urandom`], filename: 'db.bin' };
    const env = (): MockActivityEnvironment => new MockActivityEnvironment({ heartbeatTimeoutMs: 30_000 });
    const spool = (): Promise<SpoolCommandOutput> => env().run<[typeof input], SpoolCommandOutput, typeof acts.spoolCommandOutput>(acts.spoolCommandOutput, input);
    const first = await spool();
    const second = await spool();
    assert.equal(first.reused, false);
    assert.equal(second.reused, true);
    assert.equal(second.sha256, first.sha256);
    assert.equal(await readFile(counter, 'utf8'), 'run\n');
    // A damaged spool is not trusted: the command runs again.
    const file = join(sourceDataDir(jobSpoolDir(deps.scratchDir, spoolKey), 'db'), 'db.bin');
    await writeFile(file, 'truncated');
    const third = await spool();
    assert.equal(third.reused, false);
    assert.equal(await readFile(counter, 'utf8'), 'run\nrun\n');
    await env().run(acts.removeCommandSpool, { spoolKey });
    assert.equal(existsSync(jobSpoolDir(deps.scratchDir, spoolKey)), false);
  });

  void test('canary changed or deleted: E212 with an alert in the failure details', async () => {
    const repo = await newRepo('repo-canary');
    const src = join(h.tmp, 'canary-src');
    await mkdir(join(src, 'docs'), { recursive: true });
    await writeFile(join(src, 'docs', 'report.txt'), 'quarterly numbers');
    await writeFile(join(src, '.coffer-canary.docx'), 'do not touch');
    const input = { repo, source: 'www', paths: [src], canaries: ['.coffer-canary.docx'], ...hostInput };
    await h.run<BackupResult>('backupWorkflow', input);
    const again = await h.run<BackupResult>('backupWorkflow', input);
    assert.equal(again.alerts, undefined);
    const count = (await snapshots(repo)).length;

    await writeFile(join(src, '.coffer-canary.docx'), 'encrypted!!!'); // same size would still move ctime
    const err = await h.run('backupWorkflow', input).then(
      () => assert.fail('should fail'),
      (e: unknown) => e,
    );
    assert.equal(failureCode(err), 'COFFER-E212');
    const f = failure(err);
    assert.match(f.message, /canary file .*\.coffer-canary\.docx changed/);
    const alert = (f.details ?? []).map((d) => (d as { alert?: BackupAlert }).alert).find((a) => a !== undefined);
    assert.ok(alert !== undefined, `no alert in ${JSON.stringify(f.details)}`);
    assert.equal(alert.kind, 'canary-changed');
    assert.equal(alert.severity, 'error');
    assert.match(alert.title, /Canary file changed on www/);
    assert.equal((await snapshots(repo)).length, count, 'no snapshot after a canary change');

    await rm(join(src, '.coffer-canary.docx'));
    const err2 = await h.run('backupWorkflow', input).then(
      () => assert.fail('should fail'),
      (e: unknown) => e,
    );
    assert.equal(failureCode(err2), 'COFFER-E212');
    assert.match(failure(err2).message, /was deleted/);
  });

  void test('mass change after normal backups: anomaly reported and alerted; failBackup refuses the snapshot; a normal backup is clean', async () => {
    const repo = await newRepo('repo-anomaly');
    const src = join(h.tmp, 'anomaly-src');
    await mkdir(src, { recursive: true });
    const FILES = 30;
    for (let i = 0; i < FILES; i++) await writeFile(join(src, `doc-${i}.txt`), `document ${i}\n`.repeat(200 + i));
    const policy = { changedFilesShare: 0.3, changedBytesShare: 0.3, factorOverMedian: 3, history: 10, failBackup: false };
    const input = { repo, paths: [src], anomaly: policy, ...hostInput };
    const first = await h.run<BackupResult>('backupWorkflow', input);
    assert.equal(first.anomaly, undefined, 'a first backup has no baseline');
    // A few normal days: one file edited each time.
    for (let day = 0; day < 3; day++) {
      await writeFile(join(src, `doc-${day}.txt`), `edited on day ${day}\n`.repeat(300));
      const normal = await h.run<BackupResult>('backupWorkflow', input);
      assert.equal(normal.anomaly, undefined, `day ${day}: ${JSON.stringify(normal.anomaly)}`);
      assert.equal(normal.snapshot.stats.filesChanged, 1);
    }
    // Ransomware: 80% of the files rewritten with random bytes.
    const encrypt = async (): Promise<void> => {
      for (let i = 0; i < Math.round(FILES * 0.8); i++) {
        await writeFile(join(src, `doc-${i}.txt`), randomBytes(4000 + i));
      }
    };
    await encrypt();
    const hit = await h.run<BackupResult>('backupWorkflow', input);
    assert.ok(hit.anomaly !== undefined, 'the mass change must be reported');
    assert.ok(hit.anomaly.filesShare >= 0.79, `files share ${hit.anomaly.filesShare}`);
    assert.equal(hit.anomaly.baseline, 3);
    assert.ok(hit.anomaly.reasons.some((r) => /of files changed/.test(r)));
    assert.equal(hit.alerts?.[0]?.kind, 'backup-anomaly');
    assert.equal(hit.alerts?.[0]?.severity, 'warning');
    assert.equal(hit.snapshot.stats.filesChanged, 24);

    // The next, normal backup is clean (the mass change is one sample among four: the median stays low).
    await writeFile(join(src, 'doc-29.txt'), 'a normal edit\n');
    const calm = await h.run<BackupResult>('backupWorkflow', input);
    assert.equal(calm.anomaly, undefined, JSON.stringify(calm.anomaly));

    // With failBackup, the same kind of change fails the backup and writes no snapshot.
    const count = (await snapshots(repo)).length;
    await encrypt();
    const err = await h.run('backupWorkflow', { ...input, anomaly: { ...policy, failBackup: true } }).then(
      () => assert.fail('should fail'),
      (e: unknown) => e,
    );
    assert.equal(failureCode(err), 'COFFER-E215');
    assert.match(failure(err).message, /refused, no snapshot written: .*of files changed/);
    assert.equal((await snapshots(repo)).length, count);
  });
});
