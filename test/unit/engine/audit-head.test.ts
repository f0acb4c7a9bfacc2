import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { IntegrityError } from '../../../activities/crypto/errors';
import { InvalidInput } from '../../../activities/errors';
import type { RepositoryView } from '../../../activities/catalog/rebuild';
import type { DrillReportInput } from '../../../activities/engine/api';
import { envelopeEpoch } from '../../../activities/repository/envelope';
import { PASS, SMALL, listNames, makeBackend, testEngine } from './helpers';

const mac = (c: string): string => c.repeat(64);
const T = '2026-03-01T12:00:00.000Z';

function drill(drillId: string, time: string, passed = true): DrillReportInput {
  return { drillId, snapshotId: 'a'.repeat(64), time, passed, rtoMs: 1200, rpoMs: 3_600_000, objectives: { rtoMs: 60_000, rpoMs: 86_400_000 }, figures: { files: 3, bytes: 10 }, problems: passed ? [] : ['rto missed'] };
}

void describe('audit head checkpoints', () => {
  void it('stores encrypted checkpoints, newest seq wins, same checkpoint is idempotent, a rewrite is refused', async () => {
    const fx = await makeBackend('local');
    try {
      const engine = testEngine();
      const repo = await engine.init(fx.backend, PASS, SMALL);
      assert.equal(await repo.readAuditHead(), undefined);
      assert.deepEqual(await repo.writeAuditHead({ seq: 3, mac: mac('3'), time: T }), { created: true });
      await repo.writeAuditHead({ seq: 10, mac: mac('a'), time: T });
      await repo.writeAuditHead({ seq: 7, mac: mac('7'), time: T });
      assert.deepEqual(await repo.readAuditHead(), { seq: 10, mac: mac('a'), time: T });
      assert.deepEqual(await repo.writeAuditHead({ seq: 10, mac: mac('a'), time: '2026-03-02T00:00:00.000Z' }), { created: false });
      await assert.rejects(repo.writeAuditHead({ seq: 10, mac: mac('b'), time: T }), IntegrityError);
      await assert.rejects(repo.writeAuditHead({ seq: 0, mac: mac('a'), time: T }), InvalidInput);
      await assert.rejects(repo.writeAuditHead({ seq: 1, mac: 'nope', time: T }), InvalidInput);

      const names = (await listNames(fx.backend, 'audit/')).map((o) => o.name);
      assert.deepEqual(names, ['audit/head-0000000000000003', 'audit/head-0000000000000007', 'audit/head-0000000000000010']);
      const raw = await fx.backend.load(names[2]);
      assert.ok(!raw.includes(Buffer.from(mac('a'))), 'the MAC is not stored in clear');

      // A checkpoint moved to another seq's name fails authentication.
      await fx.backend.remove(names[1]);
      await fx.backend.save(names[1], await fx.backend.load(names[2]));
      await fx.backend.remove(names[2]);
      await assert.rejects(repo.readAuditHead(), IntegrityError);
      // Deleting the newest checkpoint (a storage rollback) falls back to the previous one:
      // only the catalog's longer log reveals it.
      await fx.backend.remove(names[1]);
      assert.deepEqual(await repo.readAuditHead(), { seq: 3, mac: mac('3'), time: T });

      const key = repo.auditMacKey();
      assert.equal(key.length, 32);
      key.fill(0);
      const reopened = await engine.open(fx.backend, PASS);
      assert.deepEqual(reopened.auditMacKey(), repo.auditMacKey(), 'a copy: the caller cannot wipe the keyring');
      assert.notDeepEqual(repo.auditMacKey(), Buffer.alloc(32));
      const view: RepositoryView = reopened; // the engine's Repository serves catalog rebuilds as is
      assert.deepEqual(await view.auditHead?.(), { seq: 3, mac: mac('3'), time: T });
      await repo.close();
      await reopened.close();
    } finally {
      await fx.cleanup();
    }
  });
});

void describe('drill reports', () => {
  void it('saves reports once per drill, lists them oldest first after reopening, rejects malformed or foreign ones', async () => {
    const fx = await makeBackend('memory');
    try {
      const engine = testEngine();
      const repo = await engine.init(fx.backend, PASS, SMALL);
      const idB = await repo.saveDrillReport(drill('drill/r/2', '2026-03-02T00:00:00.000Z', false));
      const idA = await repo.saveDrillReport({ ...drill('drill/r/1', '2026-03-01T00:00:00.000Z'), repoId: repo.id });
      assert.match(idA, /^[0-9a-f]{64}$/);
      assert.equal(await repo.saveDrillReport({ ...drill('drill/r/1', '2026-03-05T00:00:00.000Z'), passed: false }), idA, 'a retry finds the same object');
      await assert.rejects(repo.saveDrillReport({ ...drill('x', T), repoId: 'f'.repeat(64) }), InvalidInput);
      await assert.rejects(repo.saveDrillReport({ ...drill('x', T), time: 'yesterday' }), InvalidInput);

      const reopened = await engine.open(fx.backend, PASS);
      const reports = await reopened.listDrillReports();
      assert.deepEqual(reports.map((r) => [r.drillId, r.passed, r.repoId]), [['drill/r/1', true, repo.id], ['drill/r/2', false, repo.id]]);
      assert.deepEqual(reports[1], { ...drill('drill/r/2', '2026-03-02T00:00:00.000Z', false), repoId: repo.id });
      const names = (await listNames(fx.backend, 'drills/')).map((o) => o.name);
      assert.deepEqual(names.sort(), [`drills/${idA}`, `drills/${idB}`].sort());
      assert.ok(!names.some((n) => n.includes('drill/r')), 'names do not reveal drill ids');

      // One report's bytes under the other's name: refused, not silently listed twice.
      await fx.backend.remove(`drills/${idB}`);
      await fx.backend.save(`drills/${idB}`, await fx.backend.load(`drills/${idA}`));
      await assert.rejects(reopened.listDrillReports(), IntegrityError);
      await repo.close();
      await reopened.close();
    } finally {
      await fx.cleanup();
    }
  });

  void it('key rotation re-seals checkpoints and reports with the new epoch', async () => {
    const fx = await makeBackend('memory');
    try {
      const engine = testEngine();
      const repo = await engine.init(fx.backend, PASS, SMALL);
      await repo.writeAuditHead({ seq: 5, mac: mac('5'), time: T });
      const id = await repo.saveDrillReport(drill('drill/r/9', T));
      await repo.beginRotation();
      await repo.rotateBatch(100);
      await repo.finishRotation();
      for (const name of ['audit/head-0000000000000005', `drills/${id}`]) assert.equal(envelopeEpoch(await fx.backend.load(name), name), 2);
      const reopened = await engine.open(fx.backend, PASS);
      assert.deepEqual(await reopened.readAuditHead(), { seq: 5, mac: mac('5'), time: T });
      assert.equal((await reopened.listDrillReports()).length, 1);
      await repo.close();
      await reopened.close();
    } finally {
      await fx.cleanup();
    }
  });
});
