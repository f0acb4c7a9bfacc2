/**
 * Coffer's activities in MockActivityEnvironment over the real engine on a
 * real local-disk repository: heartbeats carry progress and the batch cursor,
 * a cancelled batch stops and a retry resumes from the last heartbeat, and
 * domain errors map to Temporal failures with their codes.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { createActivities } from '../../activities';
import type { HeartbeatDetails } from '../../activities/context';
import { createEngine } from '../../activities/engine';
import type { BatchCursor } from '../../activities/engine/api';
import { InvalidInput } from '../../activities/errors';
import { toTemporalFailure } from '../../activities/failures';
import { InMemoryMetrics } from '../../activities/metrics';
import { RepositoryCache } from '../../activities/repositories';
import { createSecretSource } from '../../activities/secrets';
import { openBackend } from '../../activities/storage/url';
import { RepoLocked } from '../../activities/repository/errors';

const KDF = { opsLimit: 1, memLimitBytes: 8 * 1024 * 1024 };
const PASSWORD = 'activity test password';
const quiet = { logger: new DefaultLogger('ERROR') };

function activitiesWith(password: string, scratchDir: string, metrics = new InMemoryMetrics()) {
  // Checkpoint every 64 KiB read so a batch reports its cursor several times.
  const engine = createEngine({ checkpointBytes: 64 * 1024, checkpointMs: 60_000, batchFiles: 1000 });
  const source = { engine, openBackend: async (url: string) => openBackend(url, { retry: false }, {}), secrets: createSecretSource({ password }) };
  const repositories = new RepositoryCache(source);
  return { acts: createActivities({ ...source, metrics, scratchDir, repositories }), repositories, metrics };
}

/** Runs one activity in a mock environment, typed by the activity's own signature. */
async function call<I, O>(environment: MockActivityEnvironment, fn: (input: I) => Promise<O>, input: I): Promise<O> {
  return environment.run<[I], O, (input: I) => Promise<O>>(fn, input);
}

function env(info: Record<string, unknown> = {}): MockActivityEnvironment {
  return new MockActivityEnvironment({ workflowExecution: { workflowId: 'wf-activities-test', runId: 'run-1' }, heartbeatTimeoutMs: 30_000, ...info }, quiet);
}

void describe('activities', () => {
  let tmp: string;
  let repo: string;
  let source: string;
  const fileCount = 40;
  const fileSize = 48 * 1024;

  before(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'coffer-activities-'));
    repo = join(tmp, 'repo');
    source = join(tmp, 'src');
    await mkdir(source, { recursive: true });
    for (let i = 0; i < fileCount; i++) await writeFile(join(source, `f${String(i).padStart(2, '0')}.bin`), randomBytes(fileSize));
    const { acts, repositories } = activitiesWith(PASSWORD, join(tmp, 'scratch'));
    await call(env(), acts.initRepository, { repo, options: { kdf: KDF, averageChunkSize: 16 * 1024, packSize: 256 * 1024 } });
    await repositories.closeAll();
  });
  after(async () => rm(tmp, { recursive: true, force: true }));

  void test('backupBatch heartbeats progress and its cursor; a cancelled batch stops; the retry resumes from the heartbeat', async () => {
    const { acts, repositories, metrics } = activitiesWith(PASSWORD, join(tmp, 'scratch'));
    const plan = await call(env(), acts.planBackup, { repo, paths: [source], host: 'test-host' });
    assert.equal(plan.batches, 1);
    assert.equal(plan.files, fileCount);

    // First attempt: cancel as soon as a cursor has been heartbeated.
    const first = env();
    const beats: HeartbeatDetails<BatchCursor>[] = [];
    first.on('heartbeat', (details: HeartbeatDetails<BatchCursor>) => {
      beats.push(details);
      if (details.cursor !== undefined && details.cursor.filesCompleted > 0) first.cancel();
    });
    await assert.rejects(call(first, acts.backupBatch, { repo, planId: plan.planId, batch: 0 }), (err: unknown) => {
      assert.ok(err instanceof CancelledFailure, `expected CancelledFailure, got ${String(err)}`);
      return true;
    });
    const last = beats.filter((b) => b.cursor !== undefined).at(-1);
    assert.ok(last?.cursor !== undefined, 'a heartbeat carried the batch cursor');
    assert.equal(last.cursor.batch, 0);
    assert.ok(last.cursor.filesCompleted > 0 && last.cursor.filesCompleted < fileCount, `cursor at ${last.cursor.filesCompleted}`);
    assert.ok(beats.some((b) => b.progress?.filesTotal === fileCount), 'a heartbeat carried progress');

    // Second attempt, as Temporal would start it: with the last heartbeat's details.
    const second = env({ attempt: 2, heartbeatDetails: last });
    const outcome = await call(second, acts.backupBatch, { repo, planId: plan.planId, batch: 0 });
    assert.equal(outcome.resumedFrom, last.cursor.filesCompleted);
    assert.equal(outcome.filesDone, fileCount);
    assert.equal(outcome.attempt, 2);
    assert.equal(metrics.get('files_backed_up'), fileCount);

    const snapshot = await call(env(), acts.commitBackup, { repo, planId: plan.planId });
    assert.equal(snapshot.stats.files, fileCount);
    // Resumed work is not uploaded twice: the repository holds the data about once (plus pack/encryption overhead).
    assert.ok(snapshot.stats.bytesUploaded < fileCount * fileSize * 1.2, `uploaded ${snapshot.stats.bytesUploaded}`);
    await repositories.closeAll();
  });

  void test('domain errors become Temporal failures typed by code; counted by code', async () => {
    const metrics = new InMemoryMetrics();
    const wrong = activitiesWith('not the password', join(tmp, 'scratch'), metrics);
    await assert.rejects(call(env(), wrong.acts.resolveSnapshot, { repo, snapshot: 'latest' }), (err: unknown) => {
      assert.ok(err instanceof ApplicationFailure);
      assert.equal(err.type, 'COFFER-E201');
      assert.equal(err.nonRetryable, true);
      assert.match(String((err.details?.[0] as { hint?: string }).hint), /passphrase/);
      return true;
    });
    assert.equal(metrics.get('errors', { activity: 'unknown', code: 'COFFER-E201' }), 1);

    const right = activitiesWith(PASSWORD, join(tmp, 'scratch'));
    await assert.rejects(call(env(), right.acts.resolveSnapshot, { repo, snapshot: 'ffffffffffff' }), (err: unknown) => {
      assert.ok(err instanceof ApplicationFailure);
      assert.equal(err.type, 'COFFER-E209');
      assert.equal(err.nonRetryable, true);
      return true;
    });
    await assert.rejects(call(env(), right.acts.planBackup, { repo, paths: ['relative/path'], host: 'h' }), (err: unknown) => {
      assert.ok(err instanceof ApplicationFailure);
      assert.equal(err.type, 'COFFER-E100');
      return true;
    });

    // Retryable domain errors stay retryable (Temporal's policy retries them), typed by code.
    const locked = toTemporalFailure(new RepoLocked('locked by another backup'));
    assert.ok(locked instanceof ApplicationFailure);
    assert.equal(locked.type, 'COFFER-E204');
    assert.equal(locked.nonRetryable, false);
    // Unknown errors pass unchanged (retried); cancellation wins over everything once the signal fired.
    const bug = new TypeError('bug');
    assert.equal(toTemporalFailure(bug), bug);
    const controller = new AbortController();
    controller.abort(new CancelledFailure('cancelled'));
    assert.ok(toTemporalFailure(new InvalidInput('x'), controller.signal) instanceof CancelledFailure);
    await right.repositories.closeAll();
    await wrong.repositories.closeAll();
  });

  void test('restore staging: non-empty target refused, staging next to the target, swap idempotent, discard only our dirs', async () => {
    const { acts, repositories } = activitiesWith(PASSWORD, join(tmp, 'scratch'));
    const occupied = join(tmp, 'occupied');
    await mkdir(occupied, { recursive: true });
    await writeFile(join(occupied, 'keep.txt'), 'mine');
    await assert.rejects(call(env(), acts.prepareRestore, { target: occupied }), (err: unknown) => {
      assert.ok(err instanceof ApplicationFailure);
      assert.equal(err.type, 'COFFER-E404');
      assert.equal(err.nonRetryable, true);
      return true;
    });

    const target = join(tmp, 'fresh-target');
    const paths = await call(env(), acts.prepareRestore, { target });
    assert.equal(paths.targetExisted, false);
    assert.ok(paths.staging.startsWith(join(tmp, '.fresh-target.coffer-staging-')));
    assert.equal((await stat(paths.staging)).mode & 0o777, 0o700);
    // Same workflow id, same staging: a retried attempt continues in place.
    assert.deepEqual(await call(env(), acts.prepareRestore, { target }), paths);

    const snapshot = await call(env(), acts.resolveSnapshot, { repo, snapshot: 'latest' });
    const restored = await call(env(), acts.restoreSnapshot, { repo, snapshotId: snapshot.id, into: paths.staging });
    assert.equal(restored.files, fileCount);
    const compared = await call(env(), acts.compareRestore, { repo, snapshotId: snapshot.id, into: paths.staging });
    assert.equal(compared.differences, 0);
    await call(env(), acts.swapRestore, { paths });
    await call(env(), acts.swapRestore, { paths }); // idempotent: a retried swap after success changes nothing
    assert.equal((await readdir(join(target, 'src'))).length, fileCount);
    assert.deepEqual((await readdir(tmp)).filter((n) => n.includes('coffer-')), []);

    // Overwrite: the old target is parked, replaced, then removed.
    const again = await call(env({ workflowExecution: { workflowId: 'wf-2', runId: 'r' } }), acts.prepareRestore, { target, overwrite: true });
    assert.equal(again.targetExisted, true);
    await writeFile(join(again.staging, 'new.txt'), 'new');
    const swapped = await call(env(), acts.swapRestore, { paths: again });
    assert.equal(swapped.replacedExisting, true);
    assert.deepEqual(await readdir(target), ['new.txt']);

    await assert.rejects(call(env(), acts.discardRestore, { path: occupied }), (err: unknown) => {
      assert.ok(err instanceof ApplicationFailure);
      assert.equal(err.type, 'COFFER-E100');
      return true;
    });
    assert.deepEqual(await readdir(occupied), ['keep.txt']);
    await repositories.closeAll();
  });
});
