/**
 * Job credentials (who started a workflow), signed rejections, the
 * first-admin bootstrap and the CLI's check before a job starts, against
 * the stack's FerretDB.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { createApprovalRequest, verifyApproval } from '../../activities/access/approval';
import { jobInputDigest, signJobCredential, verifyJobCredential } from '../../activities/access/credential';
import { accessEnforced, bootstrapFirstAdmin } from '../../activities/access/enforcement';
import { AccessDenied, ApprovalForged, BootstrapClosed, IdentityUnproven } from '../../activities/access/errors';
import { generatePrincipalKeyPair, signApproval, writePrincipalKeyFile } from '../../activities/access/key-file';
import type { PrincipalKeyFile } from '../../activities/access/key-file';
import { actionOf, callerIdentity, checkAccess } from '../../clients/access';
import { openTestCatalog } from '../catalog/fixture';
import type { CatalogFixture } from '../catalog/fixture';

let fx: CatalogFixture;
let dir: string;
const keys: Record<string, PrincipalKeyFile> = {};

before(async () => {
  fx = await openTestCatalog('credential');
  dir = await mkdtemp(join(tmpdir(), 'coffer-credential-'));
  for (const id of ['root', 'olga', 'ann', 'eve']) keys[id] = await generatePrincipalKeyPair({ principalId: id });
});
after(async () => {
  await fx.drop();
  await rm(dir, { recursive: true, force: true });
});

void test('bootstrap: access is off until the first admin exists, then the bootstrap is closed (also under a race)', async () => {
  assert.equal(await accessEnforced(fx.catalog), false);
  const env = { COFFER_MONGODB_URL: fx.url, COFFER_CATALOG_DB: fx.dbName };
  assert.equal((await checkAccess(env, undefined, { action: 'snapshot.delete' })).access, 'off');
  // Two bootstraps at once: exactly one wins.
  const second = await fx.open();
  const results = await Promise.allSettled([
    bootstrapFirstAdmin(fx.catalog, { id: 'root', publicKey: keys.root.publicKey, expiresAt: null }),
    bootstrapFirstAdmin(second, { id: 'eve', publicKey: keys.eve.publicKey, expiresAt: null }),
  ]);
  assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1, JSON.stringify(results.map((r) => r.status)));
  const rejected = results.find((r) => r.status === 'rejected');
  assert.ok(rejected?.status === 'rejected' && rejected.reason instanceof BootstrapClosed);
  assert.equal(await accessEnforced(fx.catalog), true);
  assert.equal((await fx.catalog.listPrincipals()).length, 1);
  await assert.rejects(bootstrapFirstAdmin(fx.catalog, { id: 'eve', publicKey: keys.eve.publicKey, expiresAt: null }), BootstrapClosed);

  const winner = (await fx.catalog.listPrincipals())[0]._id;
  for (const id of ['olga', 'ann']) await fx.catalog.putPrincipal({ id, name: id, publicKey: keys[id].publicKey });
  await fx.catalog.putGrant({ principalId: 'olga', role: 'operator', scope: '*', grantedBy: winner, expiresAt: null });
  await fx.catalog.putGrant({ principalId: 'ann', role: 'auditor', scope: '*', grantedBy: winner, expiresAt: null });
  if (winner !== 'root') {
    await fx.catalog.putPrincipal({ id: 'root', name: 'root', publicKey: keys.root.publicKey });
    await fx.catalog.putGrant({ principalId: 'root', role: 'admin', scope: '*', grantedBy: winner, expiresAt: null });
  }
});

void test('a job credential proves who started exactly this job, shortly before it started', async () => {
  const input = { repo: '/r', target: '/t', overwrite: true, include: ['a'], nothing: undefined };
  const request = { workflowId: 'restore/x/1', workflowType: 'restoreWorkflow', input };
  const started = new Date();
  const credential = await signJobCredential(keys.olga, request, started);
  assert.equal(await verifyJobCredential(credential, request, fx.catalog, started), 'olga');
  // The credential itself (the auth field) and undefined members are not part of what is signed.
  assert.equal(jobInputDigest({ ...input, auth: credential }), jobInputDigest(JSON.parse(JSON.stringify(input))));
  assert.equal(await verifyJobCredential(credential, { ...request, input: { ...input, auth: credential } }, fx.catalog, started), 'olga');

  const unknownKey = await signJobCredential({ ...keys.eve, principalId: 'nobody' }, request, started);
  const refusals: [string, () => Promise<unknown>][] = [
    ['no credential', () => verifyJobCredential(undefined, request, fx.catalog, started)],
    ['other input', () => verifyJobCredential(credential, { ...request, input: { ...input, target: '/etc' } }, fx.catalog, started)],
    ['other workflow id', () => verifyJobCredential(credential, { ...request, workflowId: 'restore/x/2' }, fx.catalog, started)],
    ['other workflow type', () => verifyJobCredential(credential, { ...request, workflowType: 'retentionWorkflow' }, fx.catalog, started)],
    ['claims another principal', () => verifyJobCredential({ ...credential, principalId: 'root' }, request, fx.catalog, started)],
    ['unregistered key', () => verifyJobCredential(unknownKey, request, fx.catalog, started)],
    ['stale', () => verifyJobCredential(credential, request, fx.catalog, new Date(started.getTime() + 60 * 60_000))],
    ['from the future', () => verifyJobCredential(credential, request, fx.catalog, new Date(started.getTime() - 10 * 60_000))],
    ['malformed', () => verifyJobCredential({ principalId: 'olga' }, request, fx.catalog, started)],
  ];
  for (const [what, attempt] of refusals) {
    await assert.rejects(attempt(), (err: unknown) => {
      assert.ok(err instanceof IdentityUnproven, `${what}: ${String(err)}`);
      assert.equal(err.code, 'COFFER-E550');
      return true;
    });
  }
});

void test('a signed rejection is not an approval, and the requester may withdraw', async () => {
  const request = createApprovalRequest({ workflowId: 'wf-1', action: 'restore.overwrite', target: { repoId: 'r1', object: '/srv' }, requestedBy: 'olga', ttlMs: 60_000 });
  const rejection = await signApproval(keys.root, request, 'reject');
  assert.equal((await verifyApproval(rejection, request, fx.catalog, new Date())).decision, 'reject');
  // The same signature presented as an approval does not verify.
  const { decision: _drop, ...asApproval } = rejection;
  await assert.rejects(verifyApproval(asApproval, request, fx.catalog, new Date()), ApprovalForged);
  assert.equal((await verifyApproval(await signApproval(keys.olga, request, 'reject'), request, fx.catalog, new Date())).decision, 'reject');
});

void test('the CLI check: identity from the environment, registered key, grant for the action', async () => {
  const env = { COFFER_MONGODB_URL: fx.url, COFFER_CATALOG_DB: fx.dbName };
  const olgaFile = join(dir, 'olga.key');
  await writePrincipalKeyFile(olgaFile, keys.olga);
  const olga = await callerIdentity({ COFFER_PRINCIPAL_KEY_FILE: olgaFile });
  assert.equal(olga?.principalId, 'olga');
  await assert.rejects(callerIdentity({ COFFER_PRINCIPAL: 'root', COFFER_PRINCIPAL_KEY_FILE: olgaFile }), IdentityUnproven);
  assert.equal(await callerIdentity({}), undefined);

  assert.deepEqual(await checkAccess(env, olga, { action: 'backup', repoId: 'r1' }), { access: 'on', principalId: 'olga', role: 'operator', requiresApproval: false });
  await assert.rejects(checkAccess(env, olga, { action: 'snapshot.delete', repoId: 'r1' }), AccessDenied);
  await assert.rejects(checkAccess(env, undefined, { action: 'backup', repoId: 'r1' }), IdentityUnproven);
  // A key file that carries olga's public key but another secret cannot pass for olga.
  const fake = { ...keys.eve, principalId: 'olga', publicKey: keys.olga.publicKey };
  const fakeSecret = Buffer.concat([Buffer.from(keys.eve.secretKey, 'base64').subarray(0, 32), Buffer.from(keys.olga.publicKey, 'base64')]);
  await assert.rejects(checkAccess(env, { principalId: 'olga', keyFile: { ...fake, secretKey: fakeSecret.toString('base64') } }, { action: 'backup', repoId: 'r1' }), IdentityUnproven);
  // No catalog: off, with the reason.
  const off = await checkAccess({ COFFER_CATALOG: 'off', COFFER_MONGODB_URL: fx.url }, olga, { action: 'backup' });
  assert.equal(off.access, 'off');

  // Actions derived from what is about to start.
  const occupied = join(dir, 'occupied');
  await writeFile(occupied, 'x');
  assert.deepEqual(await actionOf('restoreWorkflow', { target: occupied, overwrite: true }), { action: 'restore.overwrite', object: occupied });
  assert.deepEqual(await actionOf('restoreWorkflow', { target: join(dir, 'new'), overwrite: true }), { action: 'restore', object: join(dir, 'new') });
  // Reports and catalog operations are checked too: an auditor may read and verify, only an admin rebuild.
  assert.deepEqual(await actionOf('reportInputsWorkflow', { repo: 'r' }), { action: 'audit.read' });
  assert.deepEqual(await actionOf('auditVerifyWorkflow', { repo: 'r' }), { action: 'audit.verify' });
  assert.deepEqual(await actionOf('catalogCheckWorkflow', { repo: 'r' }), { action: 'catalog.verify' });
  assert.deepEqual(await actionOf('catalogRebuildWorkflow', { repo: 'r' }), { action: 'catalog.rebuild' });
  assert.deepEqual(await actionOf('retentionWorkflow', { dryRun: false }), { action: 'snapshot.delete' });
  assert.deepEqual(await actionOf('retentionWorkflow', { dryRun: true }), { action: 'retention.run' });
  assert.deepEqual(await actionOf('rotateKeysWorkflow', {}), { action: 'key.rotate' });
});
