import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, stat, chmod, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { authorize } from '../../activities/access/authorize';
import { ACTIONS, ROLES, ROLE_PERMISSIONS, SENSITIVE_ACTIONS, permits } from '../../activities/access/roles';
import { approvalRequestDigest, createApprovalRequest, verifyApproval } from '../../activities/access/approval';
import type { Approval, ApprovalRequest } from '../../activities/access/approval';
import { generatePrincipalKeyPair, readPrincipalKeyFile, signApproval, writePrincipalKeyFile } from '../../activities/access/key-file';
import type { PrincipalKeyFile } from '../../activities/access/key-file';
import {
  AccessDenied, ApprovalExpired, ApprovalForged, ApprovalMalformed, ApprovalMismatch, ApprovalSelfSigned, ApproverNotPermitted,
  PrincipalKeyFileInvalid, UnknownApprover,
} from '../../activities/access/errors';
import { createCatalogActivities } from '../../activities/catalog-activities';
import { openTestCatalog } from '../catalog/fixture';
import type { CatalogFixture } from '../catalog/fixture';

let fx: CatalogFixture;
let dir: string;
const keys: Record<string, PrincipalKeyFile> = {};
const NOW = new Date('2026-06-01T12:00:00.000Z');
const HOUR = 3_600_000;
const REPO = 'repo-acl';

before(async () => {
  fx = await openTestCatalog('access');
  dir = await mkdtemp(join(tmpdir(), 'coffer-access-'));
  // alice: operator (requests); bob: admin (approves); carol: operator too; dave: auditor;
  // erin: restorer; frank: operator whose grant expired; mallory: not registered.
  for (const id of ['alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'mallory']) {
    keys[id] = await generatePrincipalKeyPair({ principalId: id, name: `${id} (test)` });
    if (id !== 'mallory') await fx.catalog.putPrincipal({ id, name: id, publicKey: keys[id].publicKey });
  }
  const grant = (principalId: string, role: string, expiresAt: Date | null, scope = REPO) =>
    fx.catalog.putGrant({ principalId, role, scope, grantedBy: 'root', expiresAt });
  await grant('alice', 'operator', new Date(NOW.getTime() + 24 * HOUR));
  await grant('bob', 'admin', null, '*');
  await grant('carol', 'operator', null);
  await grant('dave', 'auditor', null);
  await grant('erin', 'restorer', null);
  await grant('frank', 'operator', new Date(NOW.getTime() - HOUR));
});
after(async () => {
  await fx.drop();
  await rm(dir, { recursive: true, force: true });
});

const target: { repoId: string; object?: string } = { repoId: REPO, object: '/srv/www' };

async function denied(principal: string, action: string, t = target): Promise<AccessDenied> {
  try {
    await authorize(fx.catalog, principal, action, t, NOW);
  } catch (err) {
    assert.ok(err instanceof AccessDenied, `expected AccessDenied, got ${String(err)}`);
    assert.equal(err.code, 'COFFER-E501');
    return err;
  }
  assert.fail(`${principal} was allowed to ${action}`);
}

void test('roles matrix: as documented', () => {
  assert.deepEqual([...ROLE_PERMISSIONS.admin].sort(), [...ACTIONS].sort());
  for (const forbidden of ['snapshot.delete', 'key.remove', 'key.rotate', 'retention.change', 'access.manage', 'audit.export']) {
    assert.equal(permits('operator', forbidden as never), false, `operator must not ${forbidden}`);
  }
  for (const allowed of ['backup', 'restore', 'restore.overwrite', 'verify', 'drill']) assert.equal(permits('operator', allowed as never), true);
  assert.deepEqual([...ROLE_PERMISSIONS.restorer].sort(), ['restore', 'snapshot.list']);
  for (const action of ROLE_PERMISSIONS.auditor) assert.ok(/\.(list|read|verify|export)$/.test(action), `auditor action ${action} is not read-only`);
  assert.deepEqual([...SENSITIVE_ACTIONS].sort(), ['key.remove', 'key.rotate', 'restore.overwrite', 'retention.change', 'snapshot.delete']);
  assert.deepEqual([...ROLES], ['admin', 'operator', 'auditor', 'restorer']);
});

void test('authorize: an operator backs up and restores but cannot delete a snapshot', async () => {
  const ok = await authorize(fx.catalog, 'alice', 'backup', target, NOW);
  assert.deepEqual(ok, { principalId: 'alice', action: 'backup', role: 'operator', grantId: `alice:operator:${REPO}`, requiresApproval: false });
  assert.equal((await authorize(fx.catalog, 'alice', 'restore.overwrite', target, NOW)).requiresApproval, true);
  assert.equal((await denied('alice', 'snapshot.delete')).reason, 'role-lacks-permission');
  assert.equal((await denied('alice', 'key.remove')).reason, 'role-lacks-permission');
  assert.equal((await authorize(fx.catalog, 'bob', 'snapshot.delete', target, NOW)).requiresApproval, true);
});

void test('authorize: expired grant, no grant on another repository, unknown and disabled principals are refused', async () => {
  assert.equal((await denied('frank', 'backup')).reason, 'grant-expired');
  assert.equal((await denied('alice', 'backup', { repoId: 'other-repo' })).reason, 'no-grant');
  assert.equal((await authorize(fx.catalog, 'bob', 'backup', { repoId: 'other-repo' }, NOW)).role, 'admin', "bob's grant is for every repository");
  assert.equal((await denied('mallory', 'backup')).reason, 'unknown-principal');
  assert.equal((await denied('erin', 'backup')).reason, 'role-lacks-permission');
  assert.equal((await authorize(fx.catalog, 'erin', 'restore', target, NOW)).role, 'restorer');
  assert.equal((await denied('dave', 'restore')).reason, 'role-lacks-permission');
  assert.equal((await authorize(fx.catalog, 'dave', 'audit.export', target, NOW)).role, 'auditor');
  // alice's grant runs out tomorrow.
  await assert.rejects(authorize(fx.catalog, 'alice', 'backup', target, new Date(NOW.getTime() + 25 * HOUR)), (e: unknown) => e instanceof AccessDenied && e.reason === 'grant-expired');
  await fx.catalog.putPrincipal({ id: 'ghost', name: 'ghost', publicKey: keys.mallory.publicKey });
  await fx.catalog.putGrant({ principalId: 'ghost', role: 'admin', scope: '*', grantedBy: 'root', expiresAt: null });
  await fx.catalog.disablePrincipal('ghost');
  assert.equal((await denied('ghost', 'backup')).reason, 'principal-disabled');
});

function request(overrides: Partial<ApprovalRequest> = {}): ApprovalRequest {
  return { ...createApprovalRequest({ workflowId: 'restore/repo-acl/42', action: 'restore.overwrite', target, requestedBy: 'alice', ttlMs: HOUR, now: NOW }), ...overrides };
}

void test('approvals: a valid signature from another principal is accepted', async () => {
  const req = request();
  const approval = await signApproval(keys.bob, req);
  assert.equal(approval.requestDigest, approvalRequestDigest(req));
  assert.deepEqual(await verifyApproval(approval, req, fx.catalog, NOW), { approverId: 'bob', approverRole: 'admin', requestDigest: approval.requestDigest, decision: 'approve' });
  // Another operator may approve a restore over an existing path (operators may do it themselves).
  assert.equal((await verifyApproval(await signApproval(keys.carol, req), req, fx.catalog, NOW)).approverRole, 'operator');
});

void test('approvals: forged, self-signed, expired, mismatched, unknown, unpermitted and malformed are refused with distinct errors', async () => {
  const req = request();
  const codes = new Set<string>();
  const refuse = async (approval: Approval, r: ApprovalRequest, type: new (...args: never[]) => Error, now = NOW): Promise<void> => {
    await assert.rejects(verifyApproval(approval, r, fx.catalog, now), (err: unknown) => {
      assert.ok(err instanceof type, `expected ${type.name}, got ${String(err)}`);
      codes.add((err as unknown as { code: string }).code);
      return true;
    });
  };
  // Forged: mallory signs with her own key but claims to be bob.
  const byMallory = await signApproval(keys.mallory, req);
  await refuse({ ...byMallory, approverId: 'bob' }, req, ApprovalForged);
  // Forged: bob's signature with a flipped bit.
  const good = await signApproval(keys.bob, req);
  const sig = Buffer.from(good.signature, 'base64');
  sig[10] = sig[10] ^ 1;
  await refuse({ ...good, signature: sig.toString('base64') }, req, ApprovalForged);
  // Self-signed: alice approves her own request with her real key.
  await refuse(await signApproval(keys.alice, req), req, ApprovalSelfSigned);
  // Expired: bob's valid approval presented after the deadline.
  await refuse(good, req, ApprovalExpired, new Date(NOW.getTime() + HOUR + 1));
  // Mismatched: bob's approval of this request offered for another (other nonce / other target / other workflow).
  await refuse(good, request(), ApprovalMismatch);
  await refuse(good, { ...req, target: { repoId: REPO, object: '/etc' } }, ApprovalMismatch);
  // Digest rewritten to match the other request: the signature no longer verifies.
  const other = request({ workflowId: 'restore/repo-acl/43' });
  await refuse({ ...good, requestDigest: approvalRequestDigest(other) }, other, ApprovalForged);
  // Unknown approver: mallory is not in the catalog.
  await refuse(byMallory, req, UnknownApprover);
  // Not permitted: erin (restorer) may not restore over a path, so she may not approve it either.
  await refuse(await signApproval(keys.erin, req), req, ApproverNotPermitted);
  // Not permitted: carol (operator) may not approve a snapshot deletion.
  const deletion = createApprovalRequest({ workflowId: 'forget/repo-acl/1', action: 'snapshot.delete', target, requestedBy: 'bob', ttlMs: HOUR, now: NOW });
  await refuse(await signApproval(keys.carol, deletion), deletion, ApproverNotPermitted);
  // Malformed.
  await refuse({ requestDigest: 'zz', approverId: 'bob', signature: good.signature }, req, ApprovalMalformed);
  await refuse({ ...good, signature: 'AAAA' }, req, ApprovalMalformed);

  assert.deepEqual([...codes].sort(), ['COFFER-E502', 'COFFER-E503', 'COFFER-E504', 'COFFER-E505', 'COFFER-E506', 'COFFER-E507', 'COFFER-E508']);
});

void test('approval requests: fresh nonce each time, only for sensitive actions', () => {
  const a = request();
  const b = request();
  assert.notEqual(a.nonce, b.nonce);
  assert.match(a.nonce, /^[0-9a-f]{64}$/);
  assert.equal(a.deadline, new Date(NOW.getTime() + HOUR).toISOString());
  assert.throws(() => createApprovalRequest({ workflowId: 'w', action: 'backup', target, requestedBy: 'alice', ttlMs: HOUR }), /does not need an approval/);
});

void test('key files: written 0600 without overwriting, read back, refused when readable by others or damaged', async () => {
  const path = join(dir, 'bob.key.json');
  await writePrincipalKeyFile(path, keys.bob);
  assert.equal((await stat(path)).mode & 0o777, 0o600);
  assert.deepEqual(await readPrincipalKeyFile(path), keys.bob);
  await assert.rejects(writePrincipalKeyFile(path, keys.alice), PrincipalKeyFileInvalid);
  assert.deepEqual(await readPrincipalKeyFile(path), keys.bob, 'the existing key survived');
  const req = request();
  const approval = await signApproval(await readPrincipalKeyFile(path), req);
  assert.equal((await verifyApproval(approval, req, fx.catalog, NOW)).approverId, 'bob');

  await chmod(path, 0o644);
  await assert.rejects(readPrincipalKeyFile(path), /readable by others/);
  await chmod(path, 0o600);
  const damaged = join(dir, 'damaged.json');
  const text = (await readFile(path, 'utf8')).replace(keys.bob.publicKey, keys.alice.publicKey);
  await writePrincipalKeyFile(damaged, JSON.parse(text) as PrincipalKeyFile);
  await assert.rejects(readPrincipalKeyFile(damaged), /damaged key pair/);
});

void test('activities: checkGrant and verifyApproval fail non-retryably with the error code as failure type', async () => {
  const activities = createCatalogActivities({ catalog: fx.catalog, auditMacKey: async () => Buffer.alloc(32, 7), notifyTargets: [], now: () => NOW });
  assert.equal((await activities.checkGrant({ principalId: 'alice', action: 'verify', target })).role, 'operator');
  await assert.rejects(activities.checkGrant({ principalId: 'alice', action: 'snapshot.delete', target }), (err: unknown) =>
    err instanceof ApplicationFailure && err.type === 'COFFER-E501' && err.nonRetryable === true);
  const req = await activities.createApprovalRequest({ workflowId: 'w/1', action: 'key.rotate', target: { repoId: REPO }, requestedBy: 'bob', ttlMs: HOUR });
  await assert.rejects(activities.verifyApproval({ approval: await signApproval(keys.bob, req), request: req }), (err: unknown) =>
    err instanceof ApplicationFailure && err.type === 'COFFER-E507' && err.nonRetryable === true);
  await fx.catalog.putGrant({ principalId: 'carol', role: 'admin', scope: REPO, grantedBy: 'root', expiresAt: new Date(NOW.getTime() + HOUR) });
  assert.equal((await activities.verifyApproval({ approval: await signApproval(keys.carol, req), request: req })).approverId, 'carol');
});
