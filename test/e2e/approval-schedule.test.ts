/**
 * Access control for scheduled runs, end to end: real Temporal Schedules,
 * real workers with a catalog on the stack's FerretDB, the real CLI.
 * alice (admin) makes the schedules, bob (admin) approves them, carol
 * (operator) may not schedule deletions. Also: a catalog outage does not stop
 * backups but still stops restores.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { WorkflowFailedError } from '@temporalio/client';
import type { ScheduleCredential } from '../../activities/access/credential';
import { generatePrincipalKeyPair, writePrincipalKeyFile } from '../../activities/access/key-file';
import { Catalog } from '../../activities/catalog/catalog';
import type { BackupResult } from '../../workflows/backup';
import { runCli } from './cli';
import { failureCode, startHarness, TEST_INIT_OPTIONS } from './harness';
import type { Harness } from './harness';
import { makeTree } from './trees';

void describe('scheduled runs under access control', () => {
  let h: Harness;
  let catalog: Catalog;
  let repo: string;
  let source: string;
  const keyFiles: Record<string, string> = {};
  const grants: Record<string, string> = {};
  const scheduleIds: string[] = [];
  const as = (who: string): Record<string, string> => ({ COFFER_PRINCIPAL: who, COFFER_PRINCIPAL_KEY_FILE: keyFiles[who] });

  before(async () => {
    h = await startHarness({ catalog: true });
    assert.ok(h.catalog !== undefined);
    catalog = await Catalog.open(h.catalog);
    repo = join(h.tmp, 'repo');
    source = join(h.tmp, 'src');
    await makeTree(source, { smallFiles: 6, largeFiles: [64 * 1024] });
    await h.run('initRepositoryWorkflow', { repo, options: TEST_INIT_OPTIONS });
    for (let i = 0; i < 4; i += 1) {
      await writeFile(join(source, `round-${i}.txt`), `round ${i}\n`);
      await h.run<BackupResult>('backupWorkflow', { repo, paths: [source], host: h.host, hostQueue: h.hostQueue });
    }
    for (const [id, role] of [['alice', 'admin'], ['bob', 'admin'], ['carol', 'operator']] as const) {
      const key = await generatePrincipalKeyPair({ principalId: id });
      keyFiles[id] = join(h.tmp, `${id}.key`);
      await writePrincipalKeyFile(keyFiles[id], key);
      grants[id] = (await catalog.putGrant({ principalId: id, role, scope: '*', grantedBy: 'test', expiresAt: null }))._id;
      await catalog.putPrincipal({ id, name: id, publicKey: key.publicKey });
    }
  });
  after(async () => {
    for (const id of scheduleIds) await h?.client.schedule.getHandle(id).delete().catch(() => undefined);
    await catalog?.db.dropDatabase().catch(() => undefined);
    await catalog?.close();
    await h?.close();
  });

  async function snapshotCount(): Promise<number> {
    const list = await h.deps?.repositories.use(repo, async (r) => r.listSnapshots(), { fresh: true });
    return list?.length ?? -1;
  }

  /** Triggers the schedule and returns the result of the run it starts. */
  async function triggerRun<R>(scheduleId: string): Promise<{ workflowId: string; result: Promise<R> }> {
    const handle = h.client.schedule.getHandle(scheduleId);
    const seen = new Set((await handle.describe()).info.recentActions.map((a) => a.action.workflow.workflowId));
    await handle.trigger();
    for (let i = 0; i < 200; i += 1) {
      const fresh = (await handle.describe()).info.recentActions.map((a) => a.action.workflow.workflowId).find((id) => !seen.has(id));
      if (fresh !== undefined) return { workflowId: fresh, result: h.client.workflow.getHandle(fresh).result() as Promise<R> };
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`schedule ${scheduleId} started no run`);
  }

  async function refusedWith(promise: Promise<unknown>, code: string): Promise<void> {
    await assert.rejects(promise, (err: unknown) => {
      assert.ok(err instanceof WorkflowFailedError, String(err));
      assert.equal(failureCode(err), code);
      return true;
    });
  }

  async function scheduleAuth(scheduleId: string): Promise<ScheduleCredential> {
    const input = (await h.client.schedule.getHandle(scheduleId).describe()).action.args?.[0] as { auth?: ScheduleCredential };
    assert.ok(input.auth !== undefined, 'the schedule action carries a credential');
    return input.auth;
  }

  void test('a scheduled backup runs on its creator\'s schedule credential', async () => {
    const id = `${h.id}-backup`;
    scheduleIds.push(id);
    const created = await runCli(h, ['schedule', 'create', id, '--job', 'backup', '--repo', repo, '--path', source, '--every', '24h'], as('alice'));
    assert.equal(created.code, 0, created.stderr);
    const auth = await scheduleAuth(id);
    assert.equal(auth.kind, 'schedule');
    assert.equal(auth.principalId, 'alice');
    const before = await snapshotCount();
    const run = await triggerRun<BackupResult>(id);
    assert.equal((await run.result).snapshot.paths[0], source);
    assert.equal(await snapshotCount(), before + 1);
  });

  void test('scheduled retention: refused until a second principal approves; a changed policy needs a new approval; a revoked creator\'s schedule stops', async () => {
    const id = `${h.id}-retention`;
    scheduleIds.push(id);
    // carol (operator) may not schedule deletions: refused before any schedule exists.
    const byOperator = await runCli(h, ['schedule', 'create', id, '--job', 'retention', '--repo', repo, '--keep-last', '3', '--every', '24h'], as('carol'));
    assert.equal(byOperator.code, 2, byOperator.stderr);
    assert.match(byOperator.stderr, /COFFER-E501/);
    await assert.rejects(h.client.schedule.getHandle(id).describe());

    // Made from a schedules file: graceSeconds 0 lets prune delete these seconds-old snapshots.
    const file = join(h.tmp, 'schedules.yaml');
    const writeSchedules = (keepLast: number) =>
      writeFile(file, ['schedules:', `  - id: ${id}`, '    job: retention', '    every: 24h', `    input: { repo: ${JSON.stringify(repo)}, graceSeconds: 0, policy: { keepLast: ${keepLast} } }`, ''].join('\n'));
    await writeSchedules(3);
    const created = await runCli(h, ['schedule', 'apply', file], as('alice'));
    assert.equal(created.code, 0, created.stderr);
    assert.match(created.stderr, /coffer approve --schedule/);
    const start = await snapshotCount();
    assert.ok(start >= 4, `snapshots: ${start}`);

    // No approval: the run refuses and deletes nothing.
    await refusedWith((await triggerRun(id)).result, 'COFFER-E403');
    assert.equal(await snapshotCount(), start);

    // alice cannot approve her own schedule; bob can.
    const self = await runCli(h, ['approve', '--schedule', id], as('alice'));
    assert.equal(self.code, 2, self.stderr);
    assert.match(self.stderr, /COFFER-E507/);
    const approved = await runCli(h, ['approve', '--schedule', id], as('bob'));
    assert.equal(approved.code, 0, approved.stderr);
    assert.equal((await scheduleAuth(id)).approval?.approverId, 'bob');
    const forgot = (await (await triggerRun(id)).result) as { removed: number };
    assert.equal(forgot.removed, start - 3, JSON.stringify(forgot));
    assert.equal(await snapshotCount(), 3, JSON.stringify(forgot));

    // Re-applying the same policy keeps the approval; a changed policy (keep 2) drops it: refused, nothing deleted.
    const same = await runCli(h, ['schedule', 'apply', file], as('alice'));
    assert.equal(same.code, 0, same.stderr);
    assert.equal((await scheduleAuth(id)).approval?.approverId, 'bob');
    await writeSchedules(2);
    const changed = await runCli(h, ['schedule', 'apply', file], as('alice'));
    assert.equal(changed.code, 0, changed.stderr);
    assert.equal((await scheduleAuth(id)).approval, undefined);
    await refusedWith((await triggerRun(id)).result, 'COFFER-E403');
    assert.equal(await snapshotCount(), 3);

    // bob approves the new policy; then alice loses her grant: the schedule's runs stop (E501), nothing deleted.
    const again = await runCli(h, ['approve', '--schedule', id], as('bob'));
    assert.equal(again.code, 0, again.stderr);
    // The approved action copied out of the schedule and started by hand (not by the schedule) is refused.
    const action = (await h.client.schedule.getHandle(id).describe()).action;
    const copied = action.args?.[0];
    await refusedWith(h.run('retentionWorkflow', copied, `${action.workflowId}-2026-01-01T00:00:00Z`), 'COFFER-E550');
    assert.equal(await snapshotCount(), 3);
    assert.equal(await catalog.revokeGrant(grants.alice), true);
    await refusedWith((await triggerRun(id)).result, 'COFFER-E501');
    assert.equal(await snapshotCount(), 3);
  });

  void test('catalog unreachable: a backup goes on with a warning, a restore is refused', async () => {
    // A port that was free a moment ago and has nothing listening now.
    const port = await new Promise<number>((resolvePort) => {
      const server = createServer();
      server.listen(0, '127.0.0.1', () => {
        const address = server.address();
        server.close(() => resolvePort(typeof address === 'object' && address !== null ? address.port : 0));
      });
    });
    const down = { ...as('bob'), COFFER_MONGODB_URL: `mongodb://127.0.0.1:${port}/coffer` };
    const backup = await runCli(h, ['backup', '--repo', repo, source], down);
    assert.equal(backup.code, 0, backup.stderr);
    assert.equal(backup.stderr.split('\n').filter((l) => l.includes('the catalog is unreachable, so this backup/verify/drill runs without an access check')).length, 1, backup.stderr);
    const restore = await runCli(h, ['restore', 'latest', '--repo', repo, '--target', join(h.tmp, 'restored')], down);
    assert.notEqual(restore.code, 0, restore.stderr);
    assert.match(restore.stderr, /COFFER-E510/);
  });
});
