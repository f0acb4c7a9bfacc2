/**
 * The catalog, live: real Temporal, in-process workers with a catalog on the
 * stack's FerretDB (one database per test run), the real engine on a local
 * repository, and a local HTTP receiver for notifications.
 *
 * - a backup through the workflow lands in the catalog (snapshot, run, audit
 *   entry) exactly once, although its recordJob activity is made to fail
 *   after writing (as if the worker died before reporting) and is retried;
 * - the audit head checkpoint is in the repository;
 * - `catalog rebuild` from the repository equals the live catalog;
 * - editing, deleting or reordering an audit entry is caught by
 *   `coffer audit verify` (exit 3, naming the entry);
 * - a failed workflow and a drill send notifications; `coffer audit list`
 *   and `export` show the entries.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import { Catalog } from '../../activities/catalog/catalog';
import { canonicalProjection } from '../../activities/catalog/rebuild';
import type { AuditVerifyResult } from '../../activities/catalog-jobs';
import type { BackupResult } from '../../workflows/backup';
import type { DrillReport } from '../../workflows/dr-drill';
import { startHttpReceiver } from '../notify/receivers';
import type { HttpReceiver } from '../notify/receivers';
import { runCli } from './cli';
import { failureCode, startHarness, TEST_INIT_OPTIONS, uniqueId } from './harness';
import type { Harness } from './harness';
import { makeTree } from './trees';

void describe('catalog, audit log and notifications through the workflows', () => {
  let h: Harness;
  let receiver: HttpReceiver;
  let catalog: Catalog;
  let repo: string;
  let repoId: string;
  let source: string;
  const recordJobCalls = { attempts: 0 };

  before(async () => {
    receiver = await startHttpReceiver();
    h = await startHarness({
      catalog: { dbName: `coffer_catalog_e2e_${uniqueId('db').replace(/[^A-Za-z0-9]/g, '_')}` },
      notifyTargets: [{ type: 'webhook', url: `${receiver.url}/hook` }],
      wrapActivities: (activities) => ({
        ...activities,
        // The first backup's record is written, then the attempt "dies" before reporting: Temporal retries it.
        recordJob: async (input: { type: string }) => {
          const result = await activities.recordJob(input as never);
          if (input.type === 'backup' && recordJobCalls.attempts++ === 0) {
            throw ApplicationFailure.retryable('injected: the worker died after writing the catalog record', 'InjectedFault');
          }
          return result;
        },
      }),
    });
    const info = h.catalog;
    assert.ok(info !== undefined);
    catalog = await Catalog.open({ url: info.url, dbName: info.dbName });
    repo = join(h.tmp, 'repo');
    source = join(h.tmp, 'src');
    await makeTree(source, { smallFiles: 8, largeFiles: [200 * 1024] });
  });

  after(async () => {
    await catalog?.db.dropDatabase().catch(() => undefined);
    await catalog?.close();
    await h?.close();
    await receiver?.close();
  });

  async function verifyAudit(): Promise<{ code: number | null; stdout: string; stderr: string }> {
    return runCli(h, ['audit', 'verify', '--repo', repo, '--json']);
  }

  void test('a backup is recorded exactly once although its catalog step was retried', async () => {
    const init = await h.run<{ repositoryId: string; catalog?: string }>('initRepositoryWorkflow', { repo, options: TEST_INIT_OPTIONS });
    assert.equal(init.catalog, 'recorded');
    repoId = init.repositoryId;

    const workflowId = uniqueId('backup');
    const backup = await h.run<BackupResult>('backupWorkflow', { repo, paths: [source], host: h.host, hostQueue: h.hostQueue, principal: 'alice' }, workflowId);
    assert.equal(backup.catalog, 'recorded');
    assert.ok(recordJobCalls.attempts >= 2, `recordJob ran ${recordJobCalls.attempts} time(s): the retry was not exercised`);

    const snapshots = await catalog.listSnapshots(repoId);
    assert.deepEqual(snapshots.map((s) => s.snapshotId), [backup.snapshot.id]);
    assert.equal(snapshots[0]?.stats.files, backup.snapshot.stats.files);

    const runs = await catalog.runs.find({ workflowId }).toArray();
    assert.equal(runs.length, 1);
    assert.equal(runs[0]?.outcome, 'succeeded');
    assert.equal(runs[0]?.principal, 'alice');
    assert.equal(runs[0]?.snapshotId, backup.snapshot.id);

    const audit = await catalog.audit.find({ repoId, workflowId }).toArray();
    assert.equal(audit.length, 1, 'one audit entry for the backup, not one per attempt');
    assert.equal(audit[0]?.action, 'backup');
    assert.equal(audit[0]?.outcome, 'succeeded');
    assert.equal(audit[0]?.principal, 'alice');
    assert.equal(await catalog.audit.countDocuments({ repoId }), 2, 'init + backup');

    const keys = await catalog.listKeys(repoId);
    assert.ok(keys.some((k) => k.kind === 'epoch' && k.epoch === 1), 'the first key epoch is recorded');
    assert.ok(keys.some((k) => k.kind === 'passphrase'), 'the access key is recorded (metadata only)');

    const verified = await verifyAudit();
    assert.equal(verified.code, 0, verified.stderr);
    const report = JSON.parse(verified.stdout) as AuditVerifyResult;
    assert.equal(report.ok, true);
    assert.equal(report.entries, 2);
    assert.equal(report.checkpoint?.seq, 2, 'the repository holds the audit head checkpoint');
  });

  void test('a failed workflow and a drill send notifications and are recorded', async () => {
    receiver.requests.length = 0;
    const target = join(h.tmp, 'occupied');
    await makeTree(target, { smallFiles: 1, largeFiles: [] });
    const failedId = uniqueId('restore');
    await assert.rejects(h.run('restoreWorkflow', { repo, target, host: h.host, hostQueue: h.hostQueue }, failedId), (err: unknown) => failureCode(err) === 'COFFER-E404');
    const failedNote = JSON.parse((await receiver.next()).body) as { kind?: string; workflowId?: string; event?: { kind?: string; workflowId?: string } };
    const failedEvent = failedNote.event ?? failedNote;
    assert.equal(failedEvent.kind, 'workflow-failed');
    assert.equal(failedEvent.workflowId, failedId);
    const failedRun = await catalog.runs.findOne({ workflowId: failedId });
    assert.equal(failedRun?.outcome, 'failed');
    assert.equal(failedRun?.error?.code, 'COFFER-E404');
    const failedAudit = await catalog.audit.findOne({ repoId, workflowId: failedId });
    assert.equal(failedAudit?.outcome, 'failed');

    const drillId = uniqueId('drill');
    const drill = await h.run<DrillReport>('drDrillWorkflow', { repo, host: h.host, hostQueue: h.hostQueue }, drillId);
    assert.equal(drill.passed, true);
    assert.equal(drill.catalog, 'recorded');
    const drillNote = JSON.parse((await receiver.next()).body) as { kind?: string; event?: { kind?: string } };
    assert.equal((drillNote.event ?? drillNote).kind, 'drill-result');
    const reports = await catalog.listDrillReports(repoId);
    assert.deepEqual(reports.map((r) => r.drillId), [drillId]);
  });

  void test('a catalog rebuilt from the repository equals the live one', async () => {
    const live = await projections();
    assert.ok(live.snapshots.length >= 1 && live.drills.length >= 1);
    await catalog.snapshots.deleteMany({ repoId });
    await catalog.drillReports.deleteMany({ repoId });
    const drift = await runCli(h, ['catalog', 'check', '--repo', repo, '--json']);
    assert.equal(drift.code, 3, `drift must be reported: ${drift.stdout}${drift.stderr}`);
    const rebuilt = await runCli(h, ['catalog', 'rebuild', '--repo', repo, '--json']);
    assert.equal(rebuilt.code, 0, rebuilt.stderr);
    assert.deepEqual(await projections(), live);
    const clean = await runCli(h, ['catalog', 'check', '--repo', repo, '--json']);
    assert.equal(clean.code, 0, clean.stdout + clean.stderr);
    assert.equal((JSON.parse(clean.stdout) as { inSync: boolean }).inSync, true);

    async function projections(): Promise<{ snapshots: string[]; drills: string[] }> {
      return {
        snapshots: (await catalog.snapshots.find({ repoId }).sort({ _id: 1 }).toArray()).map(canonicalProjection),
        drills: (await catalog.drillReports.find({ repoId }).sort({ _id: 1 }).toArray()).map(canonicalProjection),
      };
    }
  });

  void test('audit list and export show the chain', async () => {
    const listed = await runCli(h, ['audit', 'list', '--repo', repo, '--json']);
    assert.equal(listed.code, 0, listed.stderr);
    const entries = JSON.parse(listed.stdout) as { seq: number; action: string }[];
    assert.ok(entries.length >= 4);
    assert.deepEqual(entries.map((e) => e.seq), entries.map((_, i) => i + 1));
    const out = join(h.tmp, 'audit.jsonl');
    const exported = await runCli(h, ['audit', 'export', '--repo', repo, '--output', out]);
    assert.equal(exported.code, 0, exported.stderr);
    const lines = (await readFile(out, 'utf8')).trim().split('\n');
    assert.equal(lines.length, entries.length);
  });

  void test('editing, deleting or reordering an audit entry is caught by coffer audit verify', async () => {
    const entries = await catalog.audit.find({ repoId }).sort({ seq: 1 }).toArray();
    assert.ok(entries.length >= 4);
    const [first, second] = [entries[1], entries[2]];
    assert.ok(first !== undefined && second !== undefined);

    // Edit: change who did it.
    await catalog.audit.updateOne({ _id: first._id }, { $set: { principal: 'mallory' } });
    await expectTampered(first.seq);
    await catalog.audit.replaceOne({ _id: first._id }, first);
    assert.equal((await verifyAudit()).code, 0, 'restored entry verifies again');

    // Reorder: swap the contents of two entries (each keeps the other's seq slot).
    await catalog.audit.deleteMany({ _id: { $in: [first._id, second._id] } });
    await catalog.audit.insertOne({ ...second, _id: first._id, seq: first.seq });
    await catalog.audit.insertOne({ ...first, _id: second._id, seq: second.seq });
    await expectTampered(first.seq);
    await catalog.audit.deleteMany({ _id: { $in: [first._id, second._id] } });
    await catalog.audit.insertMany([first, second]);
    assert.equal((await verifyAudit()).code, 0);

    // Delete an entry in the middle.
    await catalog.audit.deleteOne({ _id: first._id });
    await expectTampered(first.seq);
    await catalog.audit.insertOne(first);

    // Delete the newest entry (a rolled-back catalog): caught against the repository's checkpoint.
    const last = entries[entries.length - 1];
    assert.ok(last !== undefined);
    await catalog.audit.deleteOne({ _id: last._id });
    await expectTampered(last.seq);
    await catalog.audit.insertOne(last);
    assert.equal((await verifyAudit()).code, 0);

    async function expectTampered(seq: number): Promise<void> {
      const run = await verifyAudit();
      assert.equal(run.code, 3, `tampering with entry ${seq} must exit 3: ${run.stdout}${run.stderr}`);
      const report = JSON.parse(run.stdout) as AuditVerifyResult;
      assert.equal(report.ok, false);
      assert.equal(report.problems[0]?.seq, seq, `the first bad entry is ${seq}: ${JSON.stringify(report.problems)}`);
      const human = await runCli(h, ['audit', 'verify', '--repo', repo]);
      assert.equal(human.code, 3);
      assert.match(human.stdout + human.stderr, new RegExp(`entry ${seq}\\b`));
    }
  });
});
