import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { INDEXES } from '../../activities/catalog/indexes';
import { COLLECTIONS, snapshotSummaryFromDoc, sourceKey } from '../../activities/catalog/documents';
import type { RunRecord } from '../../activities/catalog/documents';
import { CatalogUnavailable } from '../../activities/catalog/errors';
import { Catalog } from '../../activities/catalog/catalog';
import { openTestCatalog, snapshotSummary } from './fixture';
import type { CatalogFixture } from './fixture';

let fx: CatalogFixture;
before(async () => {
  fx = await openTestCatalog('crud');
});
after(async () => {
  await fx.drop();
});

void test('every declared index exists on the server after open (and re-opening is harmless)', async () => {
  const again = await fx.open(); // ensureIndexes a second time over existing indexes
  for (const spec of INDEXES) {
    const names = (await again.db.collection(spec.collection).listIndexes().toArray()).map((i) => i.name as string);
    assert.ok(names.includes(spec.name), `${spec.collection}.${spec.name} missing (have ${names.join(', ')})`);
  }
});

void test('snapshots: record, read back identical, list by repo/time/host/tag, remove', async () => {
  const { catalog } = fx;
  const summaries = [0, 1, 2, 3, 4, 5].map((n) => snapshotSummary(n));
  for (const s of summaries) assert.deepEqual(await catalog.recordSnapshot('repoA', s), { created: true });
  await catalog.recordSnapshot('repoB', snapshotSummary(9));

  const back = await catalog.getSnapshot('repoA', summaries[3].id);
  assert.ok(back);
  assert.deepEqual(snapshotSummaryFromDoc(back), summaries[3]);
  assert.equal(back.stats.bytes, 5_000_003_000, 'sizes beyond 2^32 survive');

  const all = await catalog.listSnapshots('repoA');
  assert.deepEqual(all.map((d) => d.snapshotId), [...summaries].reverse().map((s) => s.id), 'newest first, one repository only');
  const db01 = await catalog.listSnapshots('repoA', { host: 'db01' });
  assert.deepEqual(db01.map((d) => d.snapshotId), [summaries[4].id, summaries[2].id, summaries[0].id]);
  const important = await catalog.listSnapshots('repoA', { tag: 'important' });
  assert.deepEqual(important.map((d) => d.snapshotId).sort(), [summaries[0].id, summaries[3].id].sort());
  const window = await catalog.listSnapshots('repoA', { since: new Date(summaries[1].time), before: new Date(summaries[4].time), limit: 2 });
  assert.deepEqual(window.map((d) => d.snapshotId), [summaries[3].id, summaries[2].id]);
  const bySource = await catalog.listSnapshots('repoA', { source: sourceKey('db01', ['/etc', '/var/lib/postgres']), limit: 1 });
  assert.equal(bySource[0]?.snapshotId, summaries[4].id, 'source key ignores path order');

  assert.equal(await catalog.removeSnapshots('repoA', [summaries[0].id, 'no-such']), 1);
  assert.equal(await catalog.removeSnapshots('repoA', [summaries[0].id]), 0, 'removal is idempotent');
  assert.equal((await catalog.listSnapshots('repoA')).length, 5);
});

void test('idempotency: retrying a snapshot write yields one record', async () => {
  const { catalog } = fx;
  const s = snapshotSummary(7);
  const results = await Promise.all([1, 2, 3, 4].map(() => catalog.recordSnapshot('repoIdem', s)));
  results.push(await catalog.recordSnapshot('repoIdem', s));
  assert.ok(results.filter((r) => r.created).length <= 1);
  assert.equal(await catalog.snapshots.countDocuments({ repoId: 'repoIdem' }), 1);
});

void test('runs: a retried start never overwrites the outcome; latest successful backup per source', async () => {
  const { catalog } = fx;
  const src1 = sourceKey('db01', ['/etc']);
  const src2 = sourceKey('web01', ['/srv']);
  const run = (n: number, source: string, outcome: RunRecord['outcome'], extra: Partial<RunRecord> = {}): RunRecord => ({
    workflowId: `backup/repoR/${n}`,
    runId: `run-${n}`,
    repoId: 'repoR',
    type: 'backup',
    outcome,
    startedAt: new Date(Date.UTC(2026, 1, 1, n)).toISOString(),
    ...(outcome === 'running' ? {} : { endedAt: new Date(Date.UTC(2026, 1, 1, n, 30)).toISOString() }),
    source,
    figures: { bytesRead: n * 10, bytesUploaded: n },
    ...extra,
  });
  await catalog.recordRun(run(1, src1, 'running'));
  await catalog.recordRun(run(1, src1, 'succeeded', { snapshotId: 's1' }));
  await catalog.recordRun(run(1, src1, 'running')); // a late retry of the start
  await catalog.recordRun(run(2, src1, 'succeeded', { snapshotId: 's2' }));
  await catalog.recordRun(run(3, src1, 'failed', { error: { code: 'COFFER-E211', message: 'source unreadable' } }));
  await catalog.recordRun(run(4, src2, 'succeeded', { snapshotId: 's4' }));
  await catalog.recordRun(run(5, src2, 'cancelled'));
  await catalog.recordRun({ ...run(6, src2, 'succeeded'), type: 'verify' });
  await catalog.recordRun(run(2, src1, 'succeeded', { snapshotId: 's2' })); // retry of the final record

  assert.equal(await catalog.runs.countDocuments({ repoId: 'repoR' }), 6, 'one document per run');
  const first = await catalog.runs.findOne({ _id: 'backup/repoR/1:run-1' });
  assert.equal(first?.outcome, 'succeeded', 'the final outcome survives a late start retry');

  assert.equal((await catalog.latestSuccessfulBackup('repoR', src1))?.snapshotId, 's2');
  const latest = await catalog.latestSuccessfulBackups('repoR');
  assert.deepEqual(latest.map((r) => [r.source, r.snapshotId]).sort(), [[src1, 's2'], [src2, 's4']].sort());

  const backups = await catalog.listRuns('repoR', { type: 'backup' });
  assert.deepEqual(backups.map((r) => r.runId), ['run-5', 'run-4', 'run-3', 'run-2', 'run-1']);
  const failed = await catalog.listRuns('repoR', { outcome: 'failed' });
  assert.deepEqual(failed.map((r) => r.error?.code), ['COFFER-E211']);
  assert.equal((await catalog.listRuns('repoR', { limit: 2 })).length, 2);
});

void test('drill reports and key metadata: upserted by natural id, listed in order, no key material', async () => {
  const { catalog } = fx;
  for (const n of [1, 2, 3]) {
    const report = {
      repoId: 'repoD', drillId: `drill/repoD/${n}`, snapshotId: `s${n}`, time: new Date(Date.UTC(2026, 2, n)).toISOString(),
      passed: n !== 2, rtoMs: 1000 * n, rpoMs: 60_000 * n, objectives: { rtoMs: 2500, rpoMs: 3_600_000 },
      figures: { files: 10 * n }, problems: n === 2 ? ['differences: 1'] : [],
    };
    await catalog.recordDrillReport(report);
    await catalog.recordDrillReport(report);
  }
  const drills = await catalog.listDrillReports('repoD');
  assert.deepEqual(drills.map((d) => d.drillId), ['drill/repoD/3', 'drill/repoD/2', 'drill/repoD/1']);
  assert.deepEqual(drills[1]?.problems, ['differences: 1']);
  assert.equal((await catalog.listDrillReports('repoD', { before: new Date(Date.UTC(2026, 2, 3)), limit: 1 }))[0]?.drillId, 'drill/repoD/2');

  await catalog.recordKey({ repoId: 'repoD', keyId: 'k1', kind: 'passphrase', label: 'ops', createdAt: '2026-01-01T00:00:00.000Z' });
  await catalog.recordKey({ repoId: 'repoD', keyId: 'epoch-1', kind: 'epoch', epoch: 1, createdAt: '2026-01-01T00:00:00.000Z' });
  await catalog.recordKey({ repoId: 'repoD', keyId: 'epoch-1', kind: 'epoch', epoch: 1, createdAt: '2026-01-01T00:00:00.000Z', retiredAt: '2026-03-01T00:00:00.000Z' });
  await catalog.recordKey({ repoId: 'repoD', keyId: 'epoch-2', kind: 'epoch', epoch: 2, createdAt: '2026-02-01T00:00:00.000Z' });
  const keys = await catalog.listKeys('repoD');
  assert.deepEqual(keys.map((k) => k.keyId), ['epoch-1', 'k1', 'epoch-2']);
  assert.equal(keys[0]?.retiredAt?.toISOString(), '2026-03-01T00:00:00.000Z');
  for (const k of keys) assert.deepEqual(Object.keys(k).sort().filter((f) => /secret|material|private/i.test(f)), []);
});

void test('repositories: the stored location carries no credentials', async () => {
  await fx.catalog.upsertRepository({ id: 'repoL', location: 's3://AKIA:secret@host/bucket/path?token=abc', currentEpoch: 3 });
  const doc = await fx.catalog.getRepository('repoL');
  assert.equal(doc?.location, 's3://host/bucket/path');
  assert.equal(doc?.currentEpoch, 3);
  assert.equal(await fx.catalog.db.collection(COLLECTIONS.repositories).countDocuments({}), 1);
});

void test('an unreachable catalog is a retryable CatalogUnavailable without the URL in the message', async () => {
  await assert.rejects(
    Catalog.open({ url: 'mongodb://user:pw@127.0.0.1:1/coffer', serverSelectionTimeoutMs: 300 }),
    (err: unknown) => err instanceof CatalogUnavailable && err.retryable && !err.message.includes('pw'),
  );
});
