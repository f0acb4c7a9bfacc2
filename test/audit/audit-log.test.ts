import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { AuditLog, auditEntryJsonLine, parseAuditJsonLines } from '../../activities/audit/log';
import { auditMac, verifyAuditChain } from '../../activities/audit/chain';
import type { AuditEntry, AuditProblemKind } from '../../activities/audit/chain';
import { openTestCatalog } from '../catalog/fixture';
import type { CatalogFixture } from '../catalog/fixture';

let fx: CatalogFixture;
const key = randomBytes(32);
before(async () => {
  fx = await openTestCatalog('audit');
});
after(async () => {
  await fx.drop();
});

const ACTIONS = ['backup', 'restore', 'verify', 'snapshot.delete', 'key.rotate', 'drill', 'retention.change', 'backup', 'verify', 'restore.overwrite'];

/** A fresh repository's log with `n` entries. */
async function filledLog(n: number): Promise<AuditLog> {
  const log = new AuditLog(fx.catalog.audit, `repo-${randomBytes(4).toString('hex')}`, key);
  for (let i = 0; i < n; i += 1) {
    await log.append({
      eventId: `wf-${i}/done`, principal: i % 2 === 0 ? 'alice' : 'bob', action: ACTIONS[i % ACTIONS.length],
      target: `${log.repoId}/snap-${i}`, outcome: i === 3 ? 'refused' : 'succeeded', workflowId: `wf-${i}`,
    });
  }
  return log;
}

function kinds(report: { problems: readonly { kind: AuditProblemKind; seq: number }[] }): string[] {
  return report.problems.map((p) => `${p.kind}@${p.seq}`);
}

void test('appends form an intact chain 1..n; a retried append (same eventId) returns the same entry', async () => {
  const log = await filledLog(8);
  const entries = await log.list();
  assert.deepEqual(entries.map((e) => e.seq), [1, 2, 3, 4, 5, 6, 7, 8]);
  for (let i = 1; i < entries.length; i += 1) assert.equal(entries[i].prevMac, entries[i - 1].mac);
  const report = await log.verify({ head: await log.head() });
  assert.deepEqual(report.problems, []);
  assert.equal(report.ok, true);
  assert.equal(report.entries, 8);

  const again = await log.append({ eventId: 'wf-2/done', principal: 'alice', action: 'verify', target: 'x', outcome: 'succeeded' });
  assert.equal(again.seq, 3);
  assert.equal(again.mac, entries[2].mac);
  assert.equal((await log.list()).length, 8);
  assert.deepEqual((await log.list({ principal: 'bob', limit: 2 })).map((e) => e.seq), [2, 4]);
  assert.deepEqual((await log.list({ fromSeq: 7 })).map((e) => e.seq), [7, 8]);
});

void test('concurrent appends from separate connections: no gaps, no duplicates, chain intact', async () => {
  const repoId = `repo-conc-${randomBytes(4).toString('hex')}`;
  const catalogs = [fx.catalog, await fx.open(), await fx.open(), await fx.open()];
  const logs = catalogs.map((c) => new AuditLog(c.audit, repoId, key));
  const written = await Promise.all(
    Array.from({ length: 40 }, (_, i) => logs[i % logs.length].append({ eventId: `e${i}`, principal: `p${i % 4}`, action: 'backup', target: repoId, outcome: 'succeeded' })),
  );
  assert.deepEqual(written.map((e) => e.seq).sort((a, b) => a - b), Array.from({ length: 40 }, (_, i) => i + 1));
  const report = await logs[0].verify();
  assert.deepEqual(report.problems, []);
  assert.equal(report.entries, 40);
  // The same events appended again concurrently (activity retries) add nothing.
  await Promise.all(Array.from({ length: 40 }, (_, i) => logs[(i + 1) % logs.length].append({ eventId: `e${i}`, principal: 'x', action: 'x', target: 'x', outcome: 'x' })));
  assert.equal(await fx.catalog.audit.countDocuments({ repoId }), 40);
});

void test('editing an entry is detected, naming its seq', async () => {
  const log = await filledLog(6);
  await fx.catalog.audit.updateOne({ repoId: log.repoId, seq: 4 }, { $set: { outcome: 'succeeded' } });
  const report = await log.verify();
  assert.equal(report.ok, false);
  assert.deepEqual(kinds(report), ['bad-mac@4']);
});

void test('deleting an entry is detected, naming its seq', async () => {
  const log = await filledLog(6);
  await fx.catalog.audit.deleteOne({ repoId: log.repoId, seq: 3 });
  assert.deepEqual(kinds(await log.verify()), ['missing@3']);
});

void test('reordering entries (swapping their sequence numbers) is detected, naming both', async () => {
  const log = await filledLog(6);
  const col = fx.catalog.audit;
  await col.updateOne({ repoId: log.repoId, seq: 2 }, { $set: { seq: -2 } });
  await col.updateOne({ repoId: log.repoId, seq: 5 }, { $set: { seq: 2 } });
  await col.updateOne({ repoId: log.repoId, seq: -2 }, { $set: { seq: 5 } });
  const found = kinds(await log.verify());
  for (const expected of ['bad-mac@2', 'bad-mac@5', 'broken-link@2', 'broken-link@3', 'broken-link@5', 'broken-link@6']) {
    assert.ok(found.includes(expected), `${expected} not in ${found.join(', ')}`);
  }
});

void test('reordering lines of an export is detected as out of order', async () => {
  const log = await filledLog(5);
  const lines: string[] = [];
  await log.exportJsonLines((line) => {
    lines.push(line);
  });
  assert.equal(lines.length, 5);
  const intact = parseAuditJsonLines(lines.join(''));
  assert.deepEqual(verifyAuditChain(intact, key).problems, []);
  const swapped = [intact[0], intact[2], intact[1], intact[3], intact[4]];
  assert.deepEqual(kinds(verifyAuditChain(swapped, key)), ['out-of-order@2']);
});

void test('inserting an entry is detected: forged mid-chain (renumbered tail) and duplicated seq in an export', async () => {
  const log = await filledLog(5);
  const col = fx.catalog.audit;
  // Make room at seq 3 by renumbering 3..5 to 4..6 (highest first: the unique index holds), then forge entry 3.
  for (const seq of [5, 4, 3]) {
    const doc = await col.findOne({ repoId: log.repoId, seq });
    await col.deleteOne({ _id: doc!._id });
    await col.insertOne({ ...doc!, _id: `${log.repoId}:${seq + 1}`, seq: seq + 1 });
  }
  const prev = await col.findOne({ repoId: log.repoId, seq: 2 });
  const forgedFields = { repoId: log.repoId, seq: 3, eventId: 'forged', time: new Date().toISOString(), principal: 'mallory', action: 'snapshot.delete', target: 'all', outcome: 'succeeded', workflowId: '', prevMac: prev!.mac };
  await col.insertOne({ _id: `${log.repoId}:3`, ...forgedFields, mac: auditMac(randomBytes(32), forgedFields) });
  const found = kinds(await log.verify());
  for (const expected of ['bad-mac@3', 'bad-mac@4', 'bad-mac@5', 'bad-mac@6', 'broken-link@4']) {
    assert.ok(found.includes(expected), `${expected} not in ${found.join(', ')}`);
  }

  // In an export, an extra line with an existing seq is a duplicate.
  const clean = await filledLog(4);
  const entries = await clean.list();
  const inserted: AuditEntry = { ...entries[1], principal: 'mallory' };
  assert.deepEqual(kinds(verifyAuditChain([entries[0], entries[1], inserted, entries[2], entries[3]], key)), ['bad-mac@2', 'duplicate@2']);
});

void test('truncating the tail is detected against the head checkpoint; a wrong key fails every entry', async () => {
  const log = await filledLog(6);
  const head = await log.head();
  assert.equal(head?.seq, 6);
  await fx.catalog.audit.deleteMany({ repoId: log.repoId, seq: { $gte: 5 } });
  assert.deepEqual((await log.verify()).problems, [], 'without a checkpoint a clean truncation is invisible');
  assert.deepEqual(kinds(await log.verify({ head })), ['truncated@5']);

  const entries = await (await filledLog(3)).list();
  assert.deepEqual(kinds(verifyAuditChain(entries, randomBytes(32))), ['bad-mac@1', 'bad-mac@2', 'bad-mac@3']);
  assert.deepEqual(kinds(verifyAuditChain(entries, key, { head: { seq: 2, mac: entries[0].mac } })), ['head-mismatch@2']);
  assert.deepEqual(kinds(verifyAuditChain(entries, key, { repoId: 'someone-else' })), ['wrong-repository@1', 'wrong-repository@2', 'wrong-repository@3']);
});

void test('export writes one JSON line per entry with every field', async () => {
  const log = await filledLog(3);
  const out: string[] = [];
  assert.equal(await log.exportJsonLines((l) => { out.push(l); }), 3);
  const first = JSON.parse(out[0]) as Record<string, unknown>;
  assert.deepEqual(Object.keys(first).sort(), ['action', 'eventId', 'mac', 'outcome', 'prevMac', 'principal', 'repoId', 'seq', 'target', 'time', 'workflowId']);
  assert.equal(out[0], `${auditEntryJsonLine((await log.list({ limit: 1 }))[0])}\n`);
});
