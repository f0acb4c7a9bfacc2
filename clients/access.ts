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
import { CREDENTIAL_FIELD, isScheduleCredential, jobInputDigest, signJobCredential, signScheduleApproval, signScheduleCredential } from '../activities/access/credential';
import type { JobCredential, ScheduleCredential, ScheduleRequest } from '../activities/access/credential';
import { CatalogUnavailable } from '../activities/catalog/errors';
import { accessEnforced } from '../activities/access/enforcement';
import { ApprovalSelfSigned, IdentityUnproven } from '../activities/access/errors';
import { InvalidInput } from '../activities/errors';
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
  /** `warn`: say so on stderr (a catalog without principals, or unreachable); a deployment with no catalog at all is not warned about on every command. */
  | { readonly access: 'off'; readonly reason: string; readonly warn: boolean }
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
    case 'reportInputsWorkflow':
      return { action: 'audit.read' };
    case 'auditVerifyWorkflow':
      return { action: 'audit.verify' };
    case 'catalogCheckWorkflow':
      return { action: 'catalog.verify' };
    case 'catalogRebuildWorkflow':
      return { action: 'catalog.rebuild' };
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

/** Actions that go on, unchecked and with a warning, while the catalog cannot be reached. */
export const CATALOG_DOWN_TOLERANT: ReadonlySet<string> = new Set(['backup', 'verify', 'drill']);
export const CATALOG_DOWN_REASON = 'the catalog is unreachable, so this backup/verify/drill runs without an access check';

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
  if (options === undefined) return { access: 'off', reason: 'no catalog is configured (COFFER_MONGODB_URL unset or COFFER_CATALOG=off)', warn: false };
  // A catalog outage must never stop backups (nor verify, drill): those go on unchecked; everything else fails closed.
  const skipWhenDown = CATALOG_DOWN_TOLERANT.has(request.action);
  let catalog: Catalog;
  try {
    catalog = await Catalog.open(options);
  } catch (err) {
    if (skipWhenDown && err instanceof CatalogUnavailable) return { access: 'off', reason: CATALOG_DOWN_REASON, warn: true };
    throw err;
  }
  try {
    let enforced: boolean;
    try {
      enforced = await accessEnforced(catalog);
    } catch (err) {
      if (skipWhenDown) return { access: 'off', reason: CATALOG_DOWN_REASON, warn: true };
      throw err;
    }
    if (!enforced) return { access: 'off', reason: 'no principal is registered in the catalog yet (see docs/access.md, bootstrap)', warn: true };
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

/** The parts of a Temporal schedule action a schedule credential covers. */
export interface ScheduleActionShape {
  readonly workflowType?: unknown;
  readonly workflowId?: unknown;
  readonly args?: unknown;
}

interface CheckedAction {
  readonly workflowType: string;
  readonly workflowId: string;
  readonly args: readonly unknown[];
  readonly input: Record<string, unknown>;
}

function checkedAction(action: ScheduleActionShape): CheckedAction {
  const { workflowType, workflowId, args } = action;
  if (typeof workflowType !== 'string' || typeof workflowId !== 'string' || !Array.isArray(args)) {
    throw new InvalidInput('the schedule action must name its workflow type and workflow id and have arguments');
  }
  const input: unknown = args[0];
  if (typeof input !== 'object' || input === null || Array.isArray(input)) throw new InvalidInput(`the schedule's ${workflowType} action has no input object`);
  return { workflowType, workflowId, args: args as unknown[], input: input as Record<string, unknown> };
}

function scheduleRequest(scheduleId: string, action: CheckedAction, unsigned: Record<string, unknown>): ScheduleRequest {
  return { scheduleId, workflowIdBase: action.workflowId, workflowType: action.workflowType, input: unsigned };
}

function withoutCredential(input: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(input).filter(([k]) => k !== CREDENTIAL_FIELD));
}

/**
 * `schedule create|apply`: checks the caller may run the scheduled action,
 * then signs a schedule credential into the action's input (docs/access.md,
 * scheduled runs). Unchanged when access control is off. `previous` is the
 * schedule's current action: its approval is kept when the new action is
 * the same input signed by the same principal (re-applying an unchanged
 * policy keeps it approved; any change needs a new approval).
 */
export async function signScheduleAction<A extends ScheduleActionShape>(env: Env, scheduleId: string, action: A, previous?: ScheduleActionShape): Promise<A> {
  const checked = checkedAction(action);
  const what = await actionOf(checked.workflowType, checked.input);
  const identity = await callerIdentity(env);
  if (what !== undefined) {
    const access = await checkAccess(env, identity, { action: what.action, ...(what.object === undefined ? {} : { object: what.object }) });
    if (access.access === 'off') {
      if (access.warn) process.stderr.write(`warning: access control is off: ${access.reason}\n`);
      return action;
    }
    if (access.requiresApproval) {
      process.stderr.write(`${what.action}: schedule ${scheduleId} runs only once a second principal approves it: coffer approve --schedule ${scheduleId}\n`);
    }
  }
  if (identity === undefined) return action;
  const unsigned = withoutCredential(checked.input);
  let auth: ScheduleCredential = await signScheduleCredential(identity.keyFile, scheduleRequest(scheduleId, checked, unsigned));
  const before = previous?.args !== undefined && Array.isArray(previous.args) ? (previous.args[0] as Record<string, unknown> | undefined)?.[CREDENTIAL_FIELD] : undefined;
  if (isScheduleCredential(before)) {
    const old = before as ScheduleCredential;
    const same = old.principalId === auth.principalId && old.inputDigest === auth.inputDigest && old.workflowIdBase === auth.workflowIdBase && previous?.workflowType === checked.workflowType;
    if (old.approval !== undefined && same) auth = { ...auth, approval: old.approval };
  }
  return { ...action, args: [{ ...unsigned, [CREDENTIAL_FIELD]: auth }, ...checked.args.slice(1)] };
}

/**
 * `coffer approve --schedule <id>`: the schedule's action with the
 * approver's signature added. Refuses an action nobody signed and
 * self-approval; the workflow checks the rest at every run.
 */
export async function approveScheduleAction<A extends ScheduleActionShape>(
  keyFile: PrincipalKeyFile,
  scheduleId: string,
  action: A,
): Promise<{ action: A; requestedBy: string; workflowType: string; input: Record<string, unknown> }> {
  const checked = checkedAction(action);
  const auth = checked.input[CREDENTIAL_FIELD];
  if (!isScheduleCredential(auth)) {
    throw new InvalidInput(`schedule ${scheduleId} carries no schedule credential: create or apply it again while access control is on`);
  }
  const credential = auth as ScheduleCredential;
  if (credential.scheduleId !== scheduleId || credential.workflowIdBase !== checked.workflowId) {
    throw new InvalidInput(`the credential of schedule ${scheduleId} was made for another schedule or action: apply the schedule again`);
  }
  const unsigned = withoutCredential(checked.input);
  if (jobInputDigest(unsigned) !== credential.inputDigest) {
    throw new InvalidInput(`schedule ${scheduleId}'s action was changed after ${credential.principalId} signed it: apply it again first`);
  }
  if (keyFile.principalId === credential.principalId) {
    throw new ApprovalSelfSigned(`${keyFile.principalId} made schedule ${scheduleId} and cannot approve it`);
  }
  const approval = await signScheduleApproval(keyFile, scheduleRequest(scheduleId, checked, unsigned), credential.principalId);
  const signed = { ...unsigned, [CREDENTIAL_FIELD]: { ...credential, approval } };
  return { action: { ...action, args: [signed, ...checked.args.slice(1)] }, requestedBy: credential.principalId, workflowType: checked.workflowType, input: unsigned };
}
