/**
 * Who started a job. The CLI signs a job credential with the caller's
 * principal key: an Ed25519 signature over the workflow id, the workflow type
 * and a digest of the workflow input (everything but the credential itself).
 * The workflow's authorize step verifies it against the public key in the
 * catalog, so a job started from the Temporal UI or a script cannot claim to
 * be someone else, and a credential copied from one job's history cannot
 * start a different job. The credential holds no secret.
 */
import { createHash } from 'node:crypto';
import { canonicalJson } from '../catalog/canonical-json';
import type { JsonValue } from '../catalog/canonical-json';
import { loadSodium } from '../crypto/sodium';
import type { PrincipalDirectory } from './authorize';
import { IdentityUnproven } from './errors';
import type { PrincipalKeyFile } from './key-file';

export const JOB_CREDENTIAL_CONTEXT = 'coffer-job-v1';

/** The field of a workflow input that carries the credential. */
export const CREDENTIAL_FIELD = 'auth';

/** How far a credential's signing time may be from the workflow's start (clock skew and queueing). */
export const CREDENTIAL_MAX_AGE_MS = 15 * 60_000;
export const CREDENTIAL_MAX_SKEW_MS = 2 * 60_000;

export interface JobCredential {
  readonly principalId: string;
  /** ISO-8601. */
  readonly signedAt: string;
  /** Ed25519 detached signature over the canonical job request, base64. */
  readonly signature: string;
}

export interface JobRequest {
  readonly workflowId: string;
  readonly workflowType: string;
  /** The workflow input without its credential. */
  readonly input: unknown;
}

/** SHA-256 (hex) of the input's canonical JSON, the credential field left out. */
export function jobInputDigest(input: unknown): string {
  const plain = JSON.parse(JSON.stringify(input ?? null)) as JsonValue;
  const withoutCredential =
    typeof plain === 'object' && plain !== null && !Array.isArray(plain)
      ? Object.fromEntries(Object.entries(plain).filter(([k]) => k !== CREDENTIAL_FIELD))
      : plain;
  return createHash('sha256').update(canonicalJson(withoutCredential as JsonValue)).digest('hex');
}

/** The exact bytes signed. */
export function encodeJobRequest(request: JobRequest, principalId: string, signedAt: string): Buffer {
  const body = canonicalJson({
    workflowId: request.workflowId,
    workflowType: request.workflowType,
    inputDigest: jobInputDigest(request.input),
    principalId,
    signedAt,
  });
  return Buffer.from(`${JOB_CREDENTIAL_CONTEXT}\n${body}`, 'utf8');
}

export async function signJobCredential(keyFile: PrincipalKeyFile, request: JobRequest, now: Date = new Date()): Promise<JobCredential> {
  const sodium = await loadSodium();
  const signedAt = now.toISOString();
  const secret = Buffer.from(keyFile.secretKey, 'base64');
  const signature = sodium.crypto_sign_detached(encodeJobRequest(request, keyFile.principalId, signedAt), secret);
  return { principalId: keyFile.principalId, signedAt, signature: Buffer.from(signature).toString('base64') };
}

/**
 * The principal a credential proves, or IdentityUnproven. `startedAt` is when
 * the workflow started (from Temporal, not from the input): the signature
 * must have been made shortly before it.
 */
export async function verifyJobCredential(
  credential: unknown,
  request: JobRequest,
  directory: PrincipalDirectory,
  startedAt: Date,
): Promise<string> {
  const c = credential as Partial<Record<keyof JobCredential, unknown>> | null | undefined;
  if (c === undefined || c === null) {
    throw new IdentityUnproven(`${request.workflowType} ${request.workflowId} names no principal, and access control is on`);
  }
  if (typeof c !== 'object' || typeof c.principalId !== 'string' || c.principalId === '' || typeof c.signedAt !== 'string' || typeof c.signature !== 'string') {
    throw new IdentityUnproven(`the credential of ${request.workflowId} is malformed (expected principalId, signedAt, signature)`);
  }
  const signedAt = new Date(c.signedAt);
  if (Number.isNaN(signedAt.getTime())) throw new IdentityUnproven(`the credential of ${request.workflowId} has no valid signing time`);
  const age = startedAt.getTime() - signedAt.getTime();
  if (age > CREDENTIAL_MAX_AGE_MS || age < -CREDENTIAL_MAX_SKEW_MS) {
    throw new IdentityUnproven(`the credential of ${request.workflowId} was signed at ${c.signedAt}, too far from the job's start (${startedAt.toISOString()})`);
  }
  const principal = await directory.getPrincipal(c.principalId);
  if (principal === undefined || principal.disabled) {
    throw new IdentityUnproven(`principal ${JSON.stringify(c.principalId)} is not a registered, enabled principal`);
  }
  const signature = Buffer.from(c.signature, 'base64');
  const publicKey = Buffer.from(principal.publicKey, 'base64');
  const sodium = await loadSodium();
  let valid = false;
  try {
    valid = signature.length === 64 && publicKey.length === 32 &&
      sodium.crypto_sign_verify_detached(signature, encodeJobRequest(request, c.principalId, c.signedAt), publicKey);
  } catch {
    valid = false;
  }
  if (!valid) {
    throw new IdentityUnproven(`the credential of ${request.workflowId} does not verify with ${c.principalId}'s registered key (forged, or made for another job)`);
  }
  return c.principalId;
}

/*
 * Schedule credentials. A Temporal Schedule starts its runs long after the
 * CLI that made it has gone, so a run cannot carry a fresh job credential.
 * `coffer schedule create|apply` signs a SCHEDULE credential instead: the
 * creator's signature over the schedule id, the schedule action's workflow id
 * (Temporal names each run `<that id>-<scheduled time>`), the workflow type
 * and the input digest, with no freshness: it stays valid for as long as the
 * creator's grant does (checked at every run). A sensitive scheduled action
 * (a retention that forgets) also needs an approval signed by a second
 * principal over the same fields; a changed input (a new retention policy)
 * changes the digest, so both the credential and the approval must be made
 * again.
 */
export const SCHEDULE_CREDENTIAL_CONTEXT = 'coffer-schedule-v1';
export const SCHEDULE_APPROVAL_CONTEXT = 'coffer-schedule-approval-v1';

export interface ScheduleApprovalSignature {
  readonly approverId: string;
  /** ISO-8601, informational (signed). */
  readonly signedAt: string;
  /** Ed25519 detached signature, base64. */
  readonly signature: string;
}

export interface ScheduleCredential {
  readonly kind: 'schedule';
  readonly principalId: string;
  readonly scheduleId: string;
  /** The schedule action's workflow id; runs are `<workflowIdBase>-<time>`. */
  readonly workflowIdBase: string;
  /** The input digest signed (recomputed by the verifier; kept to tell a stale approval from a valid one). */
  readonly inputDigest: string;
  readonly signedAt: string;
  readonly signature: string;
  readonly approval?: ScheduleApprovalSignature;
}

export interface ScheduleRequest {
  readonly scheduleId: string;
  readonly workflowIdBase: string;
  readonly workflowType: string;
  /** The action's input without its credential. */
  readonly input: unknown;
}

export function isScheduleCredential(value: unknown): value is { readonly kind: 'schedule' } {
  return typeof value === 'object' && value !== null && (value as { kind?: unknown }).kind === 'schedule';
}

function scheduleFields(request: ScheduleRequest, inputDigest: string): Record<string, string> {
  return { scheduleId: request.scheduleId, workflowIdBase: request.workflowIdBase, workflowType: request.workflowType, inputDigest };
}

export function encodeScheduleCredential(request: ScheduleRequest, principalId: string, signedAt: string): Buffer {
  const body = canonicalJson({ ...scheduleFields(request, jobInputDigest(request.input)), principalId, signedAt });
  return Buffer.from(`${SCHEDULE_CREDENTIAL_CONTEXT}\n${body}`, 'utf8');
}

/** What an approver signs: the schedule's action as the creator signed it (not the creator's signing time, so re-applying the same input keeps it). */
export function encodeScheduleApproval(request: ScheduleRequest, requestedBy: string, approverId: string, signedAt: string): Buffer {
  const body = canonicalJson({ ...scheduleFields(request, jobInputDigest(request.input)), requestedBy, approverId, signedAt });
  return Buffer.from(`${SCHEDULE_APPROVAL_CONTEXT}\n${body}`, 'utf8');
}

export async function signScheduleCredential(keyFile: PrincipalKeyFile, request: ScheduleRequest, now: Date = new Date()): Promise<ScheduleCredential> {
  const sodium = await loadSodium();
  const signedAt = now.toISOString();
  const signature = sodium.crypto_sign_detached(encodeScheduleCredential(request, keyFile.principalId, signedAt), Buffer.from(keyFile.secretKey, 'base64'));
  return {
    kind: 'schedule',
    principalId: keyFile.principalId,
    scheduleId: request.scheduleId,
    workflowIdBase: request.workflowIdBase,
    inputDigest: jobInputDigest(request.input),
    signedAt,
    signature: Buffer.from(signature).toString('base64'),
  };
}

export async function signScheduleApproval(keyFile: PrincipalKeyFile, request: ScheduleRequest, requestedBy: string, now: Date = new Date()): Promise<ScheduleApprovalSignature> {
  const sodium = await loadSodium();
  const signedAt = now.toISOString();
  const message = encodeScheduleApproval(request, requestedBy, keyFile.principalId, signedAt);
  const signature = sodium.crypto_sign_detached(message, Buffer.from(keyFile.secretKey, 'base64'));
  return { approverId: keyFile.principalId, signedAt, signature: Buffer.from(signature).toString('base64') };
}

async function verifiesWith(directory: PrincipalDirectory, principalId: string, signatureB64: string, message: Buffer): Promise<boolean> {
  const principal = await directory.getPrincipal(principalId);
  if (principal === undefined || principal.disabled) return false;
  const signature = Buffer.from(signatureB64, 'base64');
  const publicKey = Buffer.from(principal.publicKey, 'base64');
  const sodium = await loadSodium();
  try {
    return signature.length === 64 && publicKey.length === 32 && sodium.crypto_sign_verify_detached(signature, message, publicKey);
  } catch {
    return false;
  }
}

export interface VerifiedScheduleCredential {
  readonly principalId: string;
  readonly scheduleId: string;
  /** The approval's signer when it verifies; the grant check is the caller's (it knows the action). */
  readonly approverId?: string;
  /** Why there is no usable approval (absent, forged, self-signed, made for another input). */
  readonly approvalProblem?: string;
}

/**
 * The creator a schedule credential proves for this run, or IdentityUnproven.
 * The run must have been started by that schedule: `scheduledBy` is the
 * TemporalScheduledById search attribute Temporal sets on scheduled runs, and
 * the run's workflow id must be the signed action id plus Temporal's suffix.
 */
export async function verifyScheduleCredential(
  credential: unknown,
  run: { readonly workflowId: string; readonly workflowType: string; readonly input: unknown; readonly scheduledBy?: string },
  directory: PrincipalDirectory,
): Promise<VerifiedScheduleCredential> {
  const c = credential as Partial<Record<keyof ScheduleCredential, unknown>>;
  const strings = [c.principalId, c.scheduleId, c.workflowIdBase, c.signedAt, c.signature];
  if (strings.some((s) => typeof s !== 'string' || s === '')) {
    throw new IdentityUnproven(`the schedule credential of ${run.workflowId} is malformed (expected principalId, scheduleId, workflowIdBase, signedAt, signature)`);
  }
  const principalId = c.principalId as string;
  const scheduleId = c.scheduleId as string;
  const workflowIdBase = c.workflowIdBase as string;
  if (run.scheduledBy !== scheduleId) {
    throw new IdentityUnproven(`${run.workflowId} carries the credential of schedule ${scheduleId} but was not started by it (scheduled by: ${run.scheduledBy ?? 'none'})`);
  }
  if (!run.workflowId.startsWith(`${workflowIdBase}-`)) {
    throw new IdentityUnproven(`${run.workflowId} is not a run of schedule ${scheduleId} (expected ${workflowIdBase}-<time>)`);
  }
  const request: ScheduleRequest = { scheduleId, workflowIdBase, workflowType: run.workflowType, input: run.input };
  const principal = await directory.getPrincipal(principalId);
  if (principal === undefined || principal.disabled) {
    throw new IdentityUnproven(`schedule ${scheduleId} was made by ${JSON.stringify(principalId)}, who is not a registered, enabled principal`);
  }
  if (!(await verifiesWith(directory, principalId, c.signature as string, encodeScheduleCredential(request, principalId, c.signedAt as string)))) {
    throw new IdentityUnproven(`the credential of schedule ${scheduleId} does not verify with ${principalId}'s registered key (forged, or the schedule's action was changed without signing it again)`);
  }
  const a = c.approval as Partial<Record<keyof ScheduleApprovalSignature, unknown>> | undefined;
  if (a === undefined || a === null) return { principalId, scheduleId, approvalProblem: `schedule ${scheduleId} has no approval (run: coffer approve --schedule ${scheduleId})` };
  if (typeof a !== 'object' || typeof a.approverId !== 'string' || typeof a.signedAt !== 'string' || typeof a.signature !== 'string') {
    return { principalId, scheduleId, approvalProblem: `the approval of schedule ${scheduleId} is malformed` };
  }
  if (a.approverId === principalId) return { principalId, scheduleId, approvalProblem: `${principalId} made schedule ${scheduleId} and cannot approve it` };
  if (!(await verifiesWith(directory, a.approverId, a.signature, encodeScheduleApproval(request, principalId, a.approverId, a.signedAt)))) {
    return { principalId, scheduleId, approvalProblem: `the approval of schedule ${scheduleId} by ${a.approverId} does not verify for its current action (changed since, forged, or the approver is unknown or disabled)` };
  }
  return { principalId, scheduleId, approverId: a.approverId };
}
