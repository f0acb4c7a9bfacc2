/**
 * Access control and signed approvals end to end: real Temporal, real
 * workers with a catalog on the stack's FerretDB, a real local repository.
 * Principals: alice (operator, the requester), bob (admin, the approver),
 * dave (auditor), erin (operator whose grant expired), mallory (a key
 * nobody registered).
 */
import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { WorkflowFailedError } from '@temporalio/client';
import type { WorkflowHandle } from '@temporalio/client';
import { verifyApproval } from '../../activities/access/approval';
import { signJobCredential } from '../../activities/access/credential';
import { generatePrincipalKeyPair, signApproval, writePrincipalKeyFile } from '../../activities/access/key-file';
import type { PrincipalKeyFile } from '../../activities/access/key-file';
import { Catalog } from '../../activities/catalog/catalog';
import type { SnapshotSummary } from '../../activities/engine/api';
import type { BackupResult } from '../../workflows/backup';
import { approvalQuery, approveSignal } from '../../workflows/approval';
import type { ApprovalState } from '../../workflows/approval';
import type { RestoreOutput } from '../../workflows/restore';
import { runCli } from './cli';
import { failureCode, startHarness, TEST_INIT_OPTIONS, uniqueId } from './harness';
import type { Harness } from './harness';
import { makeTree, treeDifferences } from './trees';

const HOUR = 3_600_000;

void describe('access control and signed approvals', () => {
  let h: Harness;
  let catalog: Catalog;
  let repo: string;
  let source: string;
  let snapshots: BackupResult[];
  const keys: Record<string, PrincipalKeyFile> = {};
  const keyFiles: Record<string, string> = {};

  before(async () => {
    h = await startHarness({ catalog: true });
    const options = h.catalog;
    assert.ok(options !== undefined);
    catalog = await Catalog.open(options);
    repo = join(h.tmp, 'repo');
    source = join(h.tmp, 'src');
    await makeTree(source, { smallFiles: 12, largeFiles: [300 * 1024] });
    await h.run('initRepositoryWorkflow', { repo, options: TEST_INIT_OPTIONS });
    snapshots = [];
    for (let i = 0; i < 2; i += 1) {
      await writeFile(join(source, `round-${i}.txt`), `round ${i}\n`);
      snapshots.push(await h.run<BackupResult>('backupWorkflow', { repo, paths: [source], host: h.host, hostQueue: h.hostQueue }));
    }
    for (const id of ['alice', 'bob', 'dave', 'erin', 'mallory']) {
      keys[id] = await generatePrincipalKeyPair({ principalId: id });
      keyFiles[id] = join(h.tmp, `${id}.key`);
      await writePrincipalKeyFile(keyFiles[id], keys[id]);
      if (id !== 'mallory') await catalog.putPrincipal({ id, name: id, publicKey: keys[id].publicKey });
    }
    const grant = (principalId: string, role: string, expiresAt: Date | null) => catalog.putGrant({ principalId, role, scope: '*', grantedBy: 'test', expiresAt });
    await grant('alice', 'operator', new Date(Date.now() + 24 * HOUR));
    await grant('bob', 'admin', null);
    await grant('dave', 'auditor', null);
    await grant('erin', 'operator', new Date(Date.now() - HOUR));
  });
  after(async () => {
    await catalog?.db.dropDatabase().catch(() => undefined);
    await catalog?.close();
    await h?.close();
  });

  /** Starts a workflow as `principal` (signed credential), like the CLI does. */
  async function startAs<R>(principal: string, workflow: string, input: Record<string, unknown>) {
    const workflowId = uniqueId(workflow);
    const auth = await signJobCredential(keys[principal], { workflowId, workflowType: workflow, input });
    return h.start<R>(workflow, { ...input, auth }, workflowId);
  }

  async function refusedWith(promise: Promise<unknown>, code: string): Promise<void> {
    await assert.rejects(promise, (err: unknown) => {
      assert.ok(err instanceof WorkflowFailedError, String(err));
      assert.equal(failureCode(err), code);
      return true;
    });
  }

  async function listSnapshots(): Promise<SnapshotSummary[]> {
    return h.deps?.repositories.use(repo, async (r) => r.listSnapshots(), { fresh: true }) as Promise<SnapshotSummary[]>;
  }

  async function waitForApproval(handle: WorkflowHandle): Promise<ApprovalState> {
    for (let i = 0; i < 120; i += 1) {
      const state = await handle.query(approvalQuery).catch(() => undefined);
      if (state?.status === 'awaiting-approval') return state;
      await new Promise((r) => setTimeout(r, 250));
    }
    throw new Error('the workflow never asked for an approval');
  }

  async function occupiedTarget(name: string): Promise<{ target: string; marker: string }> {
    const target = join(h.tmp, name);
    await mkdir(target, { recursive: true });
    const marker = join(target, 'precious.txt');
    await writeFile(marker, `do not overwrite ${name}\n`);
    return { target, marker };
  }

  const restoreInput = (target: string, extra: Record<string, unknown> = {}) => ({ repo, snapshot: 'latest', target, host: h.host, hostQueue: h.hostQueue, overwrite: true, ...extra });

  void test('an operator cannot delete snapshots: retention that forgets is refused and nothing is deleted', async () => {
    const before = await listSnapshots();
    assert.equal(before.length, 2);
    const { result } = await startAs('alice', 'retentionWorkflow', { repo, policy: { keepLast: 1 } });
    await refusedWith(result, 'COFFER-E501');
    assert.deepEqual((await listSnapshots()).map((s) => s.id).sort(), before.map((s) => s.id).sort());
  });

  void test('no credential, a forged credential, an auditor and an expired grant are refused before anything runs', async () => {
    const target = join(h.tmp, 'fresh-target');
    // No credential: access control is on (principals exist), so the job cannot say who it is.
    await refusedWith(h.run('restoreWorkflow', restoreInput(target, { overwrite: false })), 'COFFER-E550');
    // mallory signs as herself (unknown) and then claims to be alice (signature does not verify).
    const wf = uniqueId('restoreWorkflow');
    const input = restoreInput(target, { overwrite: false });
    const forged = await signJobCredential(keys.mallory, { workflowId: wf, workflowType: 'restoreWorkflow', input });
    await refusedWith(h.run('restoreWorkflow', { ...input, auth: { ...forged, principalId: 'alice' } }, wf), 'COFFER-E550');
    // A credential made for another job (copied from alice's history) does not start this one.
    const other = await signJobCredential(keys.alice, { workflowId: 'someone-elses-job', workflowType: 'restoreWorkflow', input });
    await refusedWith(h.run('restoreWorkflow', { ...input, auth: other }), 'COFFER-E550');
    // dave is an auditor: read only.
    await refusedWith((await startAs('dave', 'restoreWorkflow', input)).result, 'COFFER-E501');
    // erin's operator grant expired.
    await refusedWith((await startAs('erin', 'restoreWorkflow', input)).result, 'COFFER-E501');
    await assert.rejects(readFile(join(target, 'src', 'round-0.txt')), { code: 'ENOENT' });
  });

  void test('restore over an existing path waits, refuses forged and self-signed approvals, then proceeds with another principal\'s', async () => {
    const { target, marker } = await occupiedTarget('occupied-approved');
    const { handle, result } = await startAs<RestoreOutput>('alice', 'restoreWorkflow', restoreInput(target));
    const state = await waitForApproval(handle);
    const request = state.request;
    assert.ok(request !== undefined);
    assert.equal(request.action, 'restore.overwrite');
    assert.equal(request.requestedBy, 'alice');
    assert.equal(request.target.object, target);

    // Forged: mallory's signature presented as bob's.
    const forged = await signApproval(keys.mallory, request);
    await handle.signal(approveSignal, { ...forged, approverId: 'bob' });
    // Self-signed: alice approving her own request.
    await handle.signal(approveSignal, await signApproval(keys.alice, request));
    // Signed by bob, but for another request (a different nonce).
    await handle.signal(approveSignal, await signApproval(keys.bob, { ...request, nonce: '00'.repeat(32) }));
    for (let i = 0; i < 80; i += 1) {
      if ((await handle.query(approvalQuery)).refusals.length >= 3) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    const waiting = await handle.query(approvalQuery);
    assert.equal(waiting.status, 'awaiting-approval');
    assert.deepEqual(waiting.refusals.map((r) => [r.approverId, r.code]), [['bob', 'COFFER-E506'], ['alice', 'COFFER-E507'], ['bob', 'COFFER-E503']]);
    assert.equal(await readFile(marker, 'utf8'), 'do not overwrite occupied-approved\n', 'nothing written while waiting');

    await handle.signal(approveSignal, await signApproval(keys.bob, request));
    const restored = await result;
    assert.equal(restored.replacedExisting, true);
    assert.equal(restored.snapshotId, snapshots[1].snapshot.id);
    assert.deepEqual(await treeDifferences(source, join(target, 'src')), []);
    await assert.rejects(readFile(marker), { code: 'ENOENT' });
    const done = await handle.query(approvalQuery);
    assert.equal(done.status, 'approved');
    assert.equal(done.approvedBy, 'bob');

    // The decisions are audit events.
    const audit = await catalog.audit.find({ workflowId: handle.workflowId }).sort({ seq: 1 }).toArray();
    const events = audit.map((e) => `${e.principal} ${e.action} ${e.outcome}`);
    for (const expected of ['alice approval.requested requested', 'bob approval.refused refused COFFER-E506', 'alice approval.refused refused COFFER-E507', 'bob approval.refused refused COFFER-E503', 'bob approval.granted granted']) {
      assert.ok(events.includes(expected), `audit has '${expected}': ${events.join('; ')}`);
    }
  });

  void test('without a valid approval before the deadline the restore ends with E403 and the target is untouched; a late approval is refused', async () => {
    const { target, marker } = await occupiedTarget('occupied-expired');
    const { handle, result } = await startAs<RestoreOutput>('alice', 'restoreWorkflow', restoreInput(target, { approvalTimeoutMs: 4000 }));
    const state = await waitForApproval(handle);
    assert.ok(state.request !== undefined);
    await handle.signal(approveSignal, await signApproval(keys.alice, state.request));
    await refusedWith(result, 'COFFER-E403');
    assert.equal(await readFile(marker, 'utf8'), 'do not overwrite occupied-expired\n');
    const after = await handle.query(approvalQuery);
    assert.equal(after.status, 'expired');
    assert.deepEqual(after.refusals.map((r) => r.code), ['COFFER-E507']);
    // The same approval, validly signed by bob after the deadline: verifyApproval refuses it as expired.
    await assert.rejects(verifyApproval(await signApproval(keys.bob, state.request), state.request, catalog, new Date()), { code: 'COFFER-E504' });
  });

  void test('a signed rejection ends the job at once without acting', async () => {
    const { target, marker } = await occupiedTarget('occupied-rejected');
    const { handle, result } = await startAs<RestoreOutput>('alice', 'restoreWorkflow', restoreInput(target));
    const state = await waitForApproval(handle);
    assert.ok(state.request !== undefined);
    await handle.signal(approveSignal, await signApproval(keys.bob, state.request, 'reject'));
    await refusedWith(result, 'COFFER-E403');
    assert.equal(await readFile(marker, 'utf8'), 'do not overwrite occupied-rejected\n');
  });

  void test('key rotation: an operator is refused; an admin waits for another admin, an operator\'s approval is refused, a withdrawal ends it', async () => {
    const epochBefore = await h.deps?.repositories.use(repo, async (r) => r.currentEpoch, { fresh: true });
    await refusedWith((await startAs('alice', 'rotateKeysWorkflow', { repo })).result, 'COFFER-E501');
    const { handle, result } = await startAs('bob', 'rotateKeysWorkflow', { repo });
    const state = await waitForApproval(handle);
    assert.ok(state.request !== undefined);
    assert.equal(state.request.action, 'key.rotate');
    assert.deepEqual(state.approverRoles, ['admin']);
    await handle.signal(approveSignal, await signApproval(keys.alice, state.request));
    for (let i = 0; i < 80 && (await handle.query(approvalQuery)).refusals.length === 0; i += 1) await new Promise((r) => setTimeout(r, 250));
    assert.deepEqual((await handle.query(approvalQuery)).refusals.map((r) => [r.approverId, r.code]), [['alice', 'COFFER-E508']]);
    await handle.signal(approveSignal, await signApproval(keys.bob, state.request, 'reject'));
    await refusedWith(result, 'COFFER-E403');
    // Nothing was rotated: the repository is still in the same key epoch.
    const epoch = await h.deps?.repositories.use(repo, async (r) => r.currentEpoch, { fresh: true });
    assert.equal(epoch, epochBefore);
  });

  void test('coffer approve signs the pending request with the local key file; the CLI refuses an operator before starting a deletion', async () => {
    const { target } = await occupiedTarget('occupied-cli');
    const { handle, result } = await startAs<RestoreOutput>('alice', 'restoreWorkflow', restoreInput(target));
    await waitForApproval(handle);
    const env = { COFFER_PRINCIPAL: 'bob', COFFER_PRINCIPAL_KEY_FILE: keyFiles.bob };
    // alice cannot approve her own request through the CLI either.
    const self = await runCli(h, ['approve', handle.workflowId], { COFFER_PRINCIPAL_KEY_FILE: keyFiles.alice });
    assert.equal(self.code, 2, self.stderr);
    assert.match(self.stderr, /COFFER-E507/);
    const approved = await runCli(h, ['approve', handle.workflowId], env);
    assert.equal(approved.code, 0, approved.stderr);
    assert.match(approved.stdout, /approved/);
    assert.equal((await result).replacedExisting, true);

    // The CLI's own check: alice (operator) asking for a retention that forgets is refused before any workflow starts.
    const refused = await runCli(h, ['retention', '--repo', repo, '--keep-last', '1'], { COFFER_PRINCIPAL_KEY_FILE: keyFiles.alice });
    assert.equal(refused.code, 2, refused.stderr);
    assert.match(refused.stderr, /COFFER-E501/);
    assert.doesNotMatch(refused.stderr, /workflow retention/);
    assert.equal((await listSnapshots()).length, 2);
  });
});
