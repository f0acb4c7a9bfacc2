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
