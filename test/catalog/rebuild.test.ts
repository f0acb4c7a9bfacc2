import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { SnapshotSummary } from '../../activities/engine/api';
import type { DrillReportRecord, KeyRecord } from '../../activities/catalog/documents';
import { canonicalProjection, checkDrift, rebuildCatalog } from '../../activities/catalog/rebuild';
import type { RepositoryView } from '../../activities/catalog/rebuild';
import type { Catalog } from '../../activities/catalog/catalog';
import { AuditLog } from '../../activities/audit/log';
import type { AuditHead } from '../../activities/audit/chain';
import { openTestCatalog, snapshotSummary } from './fixture';
import type { CatalogFixture } from './fixture';

/** A repository as rebuild sees it: its snapshots, drill reports, key metadata and audit checkpoint. */
class FakeRepositoryView implements RepositoryView {
  readonly location = 'sftp://backup@nas.example/coffer/repoX';
  readonly currentEpoch = 2;
  snapshots: SnapshotSummary[] = [];
  drills: DrillReportRecord[] = [];
  keys: KeyRecord[] = [];
  head: AuditHead | undefined;
  constructor(readonly id: string) {}
  async listSnapshots(): Promise<SnapshotSummary[]> {
    return [...this.snapshots].reverse(); // any order: rebuild must not depend on it
  }
  async listDrillReports(): Promise<DrillReportRecord[]> {
    return this.drills;
  }
  async listKeyRecords(): Promise<KeyRecord[]> {
    return this.keys;
  }
  async auditHead(): Promise<AuditHead | undefined> {
    return this.head;
  }
}

let live: CatalogFixture;
let rebuilt: CatalogFixture;
before(async () => {
  live = await openTestCatalog('live');
  rebuilt = await openTestCatalog('rebuilt');
});
after(async () => {
  await live.drop();
  await rebuilt.drop();
});

async function dumpRepo(catalog: Catalog, repoId: string): Promise<Record<string, string[]>> {
  const dump: Record<string, string[]> = {};
  dump.repositories = (await catalog.repositories.find({ _id: repoId }).toArray()).map(canonicalProjection).sort();
  dump.snapshots = (await catalog.snapshots.find({ repoId }).toArray()).map(canonicalProjection).sort();
  dump.drillReports = (await catalog.drillReports.find({ repoId }).toArray()).map(canonicalProjection).sort();
  dump.keys = (await catalog.keys.find({ repoId }).toArray()).map(canonicalProjection).sort();
  return dump;
}

function drill(repoId: string, n: number): DrillReportRecord {
  return {
    repoId, drillId: `drill/${repoId}/${n}`, snapshotId: `s${n}`, time: new Date(Date.UTC(2026, 3, n)).toISOString(), passed: true,
    rtoMs: 1234 * n, rpoMs: 99 * n, objectives: { rtoMs: 10_000, rpoMs: 86_400_000 }, figures: { files: n, bytes: n * 1000 },
  };
}

void test('a catalog rebuilt from the repository equals the live one', async () => {
  const repo = new FakeRepositoryView(`repo-${randomBytes(4).toString('hex')}`);
  // The live catalog is written the way the workflows write it: one record per event, as they happen.
  await live.catalog.upsertRepository({ id: repo.id, location: repo.location, currentEpoch: repo.currentEpoch });
  for (let n = 0; n < 25; n += 1) {
    const s = snapshotSummary(n);
    repo.snapshots.push(s);
    await live.catalog.recordSnapshot(repo.id, s);
  }
  for (const n of [1, 2]) {
    repo.drills.push(drill(repo.id, n));
    await live.catalog.recordDrillReport(drill(repo.id, n));
  }
  const keys: KeyRecord[] = [
    { repoId: repo.id, keyId: 'k-ops', kind: 'passphrase', createdAt: '2026-01-01T00:00:00.000Z', label: 'ops' },
    { repoId: repo.id, keyId: 'epoch-1', kind: 'epoch', epoch: 1, createdAt: '2026-01-01T00:00:00.000Z', retiredAt: '2026-02-01T00:00:00.000Z' },
    { repoId: repo.id, keyId: 'epoch-2', kind: 'epoch', epoch: 2, createdAt: '2026-02-01T00:00:00.000Z' },
  ];
  repo.keys = keys;
  for (const k of keys) await live.catalog.recordKey(k);

  const report = await rebuildCatalog(repo, rebuilt.catalog);
  assert.deepEqual(report.snapshots, { added: 25, updated: 0, removed: 0, unchanged: 0 });
  assert.deepEqual(report.drillReports, { added: 2, updated: 0, removed: 0, unchanged: 0 });
  assert.deepEqual(report.keys, { added: 3, updated: 0, removed: 0, unchanged: 0 });

  const liveDump = await dumpRepo(live.catalog, repo.id);
  const rebuiltDump = await dumpRepo(rebuilt.catalog, repo.id);
  assert.equal(liveDump.snapshots.length, 25);
  assert.deepEqual(rebuiltDump, liveDump);

  // Deterministic and idempotent: rebuilding again (also over the live catalog) changes nothing.
  assert.deepEqual((await rebuildCatalog(repo, rebuilt.catalog)).snapshots, { added: 0, updated: 0, removed: 0, unchanged: 25 });
  assert.deepEqual((await rebuildCatalog(repo, live.catalog)).snapshots, { added: 0, updated: 0, removed: 0, unchanged: 25 });
  assert.deepEqual(await dumpRepo(live.catalog, repo.id), liveDump);
  assert.equal((await checkDrift(repo, live.catalog)).inSync, true);
});

void test('rebuild repairs a damaged catalog: re-adds, corrects and removes', async () => {
  const fx = await openTestCatalog('repair');
  try {
    const repo = new FakeRepositoryView('repo-repair');
    repo.snapshots = [0, 1, 2, 3].map((n) => snapshotSummary(n));
    await rebuildCatalog(repo, fx.catalog);
    const want = await dumpRepo(fx.catalog, repo.id);
    await fx.catalog.snapshots.deleteOne({ snapshotId: repo.snapshots[0].id });
    await fx.catalog.snapshots.updateOne({ snapshotId: repo.snapshots[1].id }, { $set: { 'stats.bytes': 1 } });
    await fx.catalog.recordSnapshot(repo.id, snapshotSummary(50));
    const report = await rebuildCatalog(repo, fx.catalog);
    assert.deepEqual(report.snapshots, { added: 1, updated: 1, removed: 1, unchanged: 2 });
    assert.deepEqual(await dumpRepo(fx.catalog, repo.id), want);
  } finally {
    await fx.drop();
  }
});

void test('drift: a snapshot missing on either side, a differing one, and a rolled-back catalog', async () => {
  const fx = await openTestCatalog('drift');
  try {
    const repo = new FakeRepositoryView('repo-drift');
    repo.snapshots = [0, 1, 2, 3, 4].map((n) => snapshotSummary(n));
    await rebuildCatalog(repo, fx.catalog);
    const clean = await checkDrift(repo, fx.catalog);
    assert.equal(clean.inSync, true);
    assert.equal(clean.snapshotsInRepository, 5);

    // Deleted from the catalog only (an older one: a gap, not a rollback).
    await fx.catalog.snapshots.deleteOne({ snapshotId: repo.snapshots[1].id });
    // Present only in the catalog (invented, or deleted from storage behind our back).
    const phantom = snapshotSummary(3);
    await fx.catalog.recordSnapshot(repo.id, phantom);
    // Edited in the catalog.
    await fx.catalog.snapshots.updateOne({ snapshotId: repo.snapshots[2].id }, { $set: { host: 'evil' } });

    const drift = await checkDrift(repo, fx.catalog);
    assert.equal(drift.inSync, false);
    assert.deepEqual(drift.missingInCatalog, [repo.snapshots[1].id]);
    assert.deepEqual(drift.missingInRepository, [phantom.id]);
    assert.deepEqual(drift.differing, [repo.snapshots[2].id]);
    assert.deepEqual(drift.rollback, []);

    // Rolled back: the repository has snapshots newer than the catalog's newest.
    await rebuildCatalog(repo, fx.catalog);
    const newer = [5, 6].map((n) => snapshotSummary(n));
    repo.snapshots.push(...newer);
    const rolled = await checkDrift(repo, fx.catalog);
    assert.equal(rolled.inSync, false);
    assert.deepEqual(rolled.missingInCatalog, newer.map((s) => s.id).sort());
    assert.equal(rolled.rollback.length, 1);
    assert.match(rolled.rollback[0], /newer than its newest/);
    for (const s of newer) assert.ok(rolled.rollback[0].includes(s.id));
  } finally {
    await fx.drop();
  }
});

void test('drift: an audit chain behind (or different from) the repository checkpoint is a rollback', async () => {
  const fx = await openTestCatalog('auditdrift');
  try {
    const repo = new FakeRepositoryView('repo-audit');
    repo.snapshots = [snapshotSummary(1)];
    await rebuildCatalog(repo, fx.catalog);
    const key = randomBytes(32);
    const log = new AuditLog(fx.catalog.audit, repo.id, key);
    for (let i = 0; i < 5; i += 1) await log.append({ principal: 'alice', action: 'backup', target: repo.id, outcome: 'succeeded', eventId: `e${i}` });
    repo.head = await log.head();
    assert.equal((await checkDrift(repo, fx.catalog)).inSync, true);

    // The catalog is restored from a dump taken two entries earlier.
    await fx.catalog.audit.deleteMany({ repoId: repo.id, seq: { $gt: 3 } });
    const behind = await checkDrift(repo, fx.catalog);
    assert.equal(behind.inSync, false);
    assert.match(behind.rollback.join('\n'), /audit log ends at 3, before the repository's checkpoint at 5/);

    // Rewritten instead: same length, different entry at the checkpoint.
    await log.append({ principal: 'mallory', action: 'backup', target: repo.id, outcome: 'succeeded', eventId: 'x4' });
    await log.append({ principal: 'mallory', action: 'backup', target: repo.id, outcome: 'succeeded', eventId: 'x5' });
    const rewritten = await checkDrift(repo, fx.catalog);
    assert.match(rewritten.rollback.join('\n'), /entry 5 differs from the repository's checkpoint/);
  } finally {
    await fx.drop();
  }
});
