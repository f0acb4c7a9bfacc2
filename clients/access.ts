/**
 * The CLI side of access control: who is calling (COFFER_PRINCIPAL +
 * COFFER_PRINCIPAL_KEY_FILE), the catalog it checks against (COFFER_MONGODB_URL,
 * COFFER_CATALOG_DB, COFFER_CATALOG=off), the check made BEFORE a workflow
 * starts, the credential signed into the workflow input (checked again inside
 * the workflow), and the line printed when a job waits for an approval.
 */
import { randomBytes } from 'node:crypto';
import { readdir, stat } from 'node:fs/promises';
import { loadSodium } from '../activities/crypto/sodium';
import type { WorkflowHandle } from '@temporalio/client';
import { authorize } from '../activities/access/authorize';
import { CREDENTIAL_FIELD, signJobCredential } from '../activities/access/credential';
import type { JobCredential } from '../activities/access/credential';
import { accessEnforced } from '../activities/access/enforcement';
import { IdentityUnproven } from '../activities/access/errors';
import { readPrincipalKeyFile } from '../activities/access/key-file';
import type { PrincipalKeyFile } from '../activities/access/key-file';
import { Catalog } from '../activities/catalog/catalog';
import type { CatalogOptions } from '../activities/catalog/catalog';
import { approvalQuery } from '../workflows/approval';
import type { ApprovalState } from '../workflows/approval';

type Env = Readonly<Record<string, string | undefined>>;

export interface CallerIdentity {
  readonly principalId: string;
  readonly keyFile: PrincipalKeyFile;
}

export type AccessCheck =
  | { readonly access: 'off'; readonly reason: string }
  | { readonly access: 'on'; readonly principalId: string; readonly role: string; readonly requiresApproval: boolean };

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}

/** The catalog the CLI checks access against, or undefined (access control off). */
export function catalogOptionsFromEnv(env: Env): CatalogOptions | undefined {
  if (nonEmpty(env.COFFER_CATALOG)?.toLowerCase() === 'off') return undefined;
  const url = nonEmpty(env.COFFER_MONGODB_URL);
  if (url === undefined) return undefined;
  const dbName = nonEmpty(env.COFFER_CATALOG_DB);
  return { url, serverSelectionTimeoutMs: 5_000, ...(dbName === undefined ? {} : { dbName }) };
}

/** The caller's principal and key file, or undefined when neither is set. */
export async function callerIdentity(env: Env): Promise<CallerIdentity | undefined> {
  const principal = nonEmpty(env.COFFER_PRINCIPAL);
  const file = nonEmpty(env.COFFER_PRINCIPAL_KEY_FILE);
  if (principal === undefined && file === undefined) return undefined;
  if (file === undefined) throw new IdentityUnproven('COFFER_PRINCIPAL is set but COFFER_PRINCIPAL_KEY_FILE is not');
  const keyFile = await readPrincipalKeyFile(file);
  if (principal !== undefined && principal !== keyFile.principalId) {
    throw new IdentityUnproven(`COFFER_PRINCIPAL is ${principal}, but ${file} is the key of ${keyFile.principalId}`);
  }
  return { principalId: keyFile.principalId, keyFile };
}

/** Registered key = this key file's key? Catches a stale or wrong key file before anything starts. */
export async function checkRegisteredKey(catalog: Catalog, identity: CallerIdentity): Promise<void> {
  const principal = await catalog.getPrincipal(identity.principalId);
  if (principal === undefined || principal.disabled) {
    throw new IdentityUnproven(`principal ${JSON.stringify(identity.principalId)} is not a registered, enabled principal`);
  }
  if (principal.publicKey !== identity.keyFile.publicKey) {
    throw new IdentityUnproven(`the key file of ${identity.principalId} does not hold the public key registered for that principal`);
  }
  // Prove the secret half matches too: a file with a copied public key and any other secret must not pass.
  const sodium = await loadSodium();
  const challenge = randomBytes(32);
  const signature = sodium.crypto_sign_detached(challenge, Buffer.from(identity.keyFile.secretKey, 'base64'));
  if (!sodium.crypto_sign_verify_detached(signature, challenge, Buffer.from(principal.publicKey, 'base64'))) {
    throw new IdentityUnproven(`the key file of ${identity.principalId} cannot sign for the registered public key`);
  }
}

/** What a workflow about to start will do, for the check before it starts (mirrors the gates inside the workflows). */
export async function actionOf(workflow: string, input: unknown): Promise<{ action: string; object?: string } | undefined> {
  const i = (typeof input === 'object' && input !== null ? input : {}) as Record<string, unknown>;
  switch (workflow) {
    case 'backupWorkflow':
      return { action: 'backup' };
    case 'restoreWorkflow': {
      const target = typeof i.target === 'string' ? i.target : undefined;
      const occupied = i.overwrite === true && target !== undefined && (await pathOccupied(target));
      return { action: occupied ? 'restore.overwrite' : 'restore', ...(target === undefined ? {} : { object: target }) };
    }
    case 'verifyWorkflow':
      return { action: 'verify' };
    case 'drDrillWorkflow':
      return { action: 'drill' };
    case 'initRepositoryWorkflow':
      return { action: 'repo.init' };
    case 'replicateWorkflow':
      return { action: 'replicate' };
    case 'retentionWorkflow':
      return { action: i.dryRun === true ? 'retention.run' : 'snapshot.delete' };
    case 'rotateKeysWorkflow':
      return { action: 'key.rotate' };
    case 'removeKeyWorkflow':
      return { action: 'key.remove', ...(typeof i.keyId === 'string' ? { object: i.keyId } : {}) };
    default:
      return undefined;
  }
}

async function pathOccupied(path: string): Promise<boolean> {
  try {
    const info = await stat(path);
    return !info.isDirectory() || (await readdir(path)).length > 0;
  } catch {
    return false;
  }
}

/**
 * The check before a job starts. Access control is on when a catalog is
 * configured and holds at least one principal; then the caller must have a
 * registered key and a grant for the action. `repoId` undefined (a
 * repository not created yet) only matches grants on every repository ('*').
 */
export async function checkAccess(
  env: Env,
  identity: CallerIdentity | undefined,
  request: { readonly action: string; readonly repoId?: string; readonly object?: string },
): Promise<AccessCheck> {
  const options = catalogOptionsFromEnv(env);
  if (options === undefined) return { access: 'off', reason: 'no catalog is configured (COFFER_MONGODB_URL unset or COFFER_CATALOG=off)' };
  const catalog = await Catalog.open(options);
  try {
    if (!(await accessEnforced(catalog))) return { access: 'off', reason: 'no principal is registered in the catalog yet (see docs/access.md, bootstrap)' };
    if (identity === undefined) throw new IdentityUnproven('access control is on and no caller identity is set');
    await checkRegisteredKey(catalog, identity);
    const target = { repoId: request.repoId ?? '(new repository)', ...(request.object === undefined ? {} : { object: request.object }) };
    const granted = await authorize(catalog, identity.principalId, request.action, target, new Date());
    return { access: 'on', principalId: identity.principalId, role: granted.role, requiresApproval: granted.requiresApproval };
  } finally {
    await catalog.close();
  }
}

/** The workflow input with the caller's signed credential added (unchanged without an identity). */
export async function withCredential<I>(identity: CallerIdentity | undefined, workflowId: string, workflowType: string, input: I): Promise<I> {
  if (identity === undefined || typeof input !== 'object' || input === null) return input;
  const auth: JobCredential = await signJobCredential(identity.keyFile, { workflowId, workflowType, input });
  return { ...input, [CREDENTIAL_FIELD]: auth };
}

/** One line for a user waiting on an approval. */
export function approvalNeededLine(workflowId: string, state: ApprovalState): string {
  const request = state.request;
  if (request === undefined) return `${workflowId}: waiting for an approval`;
  const roles = (state.approverRoles ?? ['admin']).join(' or ');
  return [
    `approval needed: ${request.action} on ${request.target.object ?? request.target.repoId}, requested by ${request.requestedBy}`,
    `  another principal with role ${roles} must run: coffer approve ${workflowId}   (deadline ${request.deadline})`,
  ].join('\n');
}

/**
 * Polls the approval query while a job runs and prints when it starts
 * waiting for an approval and when an approval is refused. Returns a stop
 * function. Workflows without the query simply never print.
 */
export function watchApprovals(handle: WorkflowHandle, write: (line: string) => void, intervalMs = 1000): () => void {
  let stopped = false;
  let lastStatus = 'not-needed';
  let refusalsSeen = 0;
  const tick = async (): Promise<void> => {
    if (stopped) return;
    try {
      const state = await handle.query(approvalQuery);
      if (state.status === 'awaiting-approval' && lastStatus !== 'awaiting-approval') {
        write(approvalNeededLine(handle.workflowId, state));
      }
      for (const refusal of state.refusals.slice(refusalsSeen)) {
        write(`approval from ${refusal.approverId} refused (${refusal.code}): ${refusal.message}`);
      }
      refusalsSeen = state.refusals.length;
      if (state.status === 'approved' && lastStatus === 'awaiting-approval') write(`approved by ${state.approvedBy ?? '?'}`);
      lastStatus = state.status;
    } catch {
      // not yet answering queries, finished, or a workflow without the query: nothing to say
    }
  };
  const timer = setInterval(() => void tick(), intervalMs);
  return () => {
    stopped = true;
    clearInterval(timer);
  };
}
