/**
 * Signed approvals for sensitive operations. A workflow that needs one
 * publishes an ApprovalRequest (with a fresh nonce, so an approval can never
 * be replayed onto another request) and waits for an Approval signal: an
 * Ed25519 signature (libsodium crypto_sign_detached) by a second principal
 * over the request's canonical encoding. verifyApproval decides whether the
 * workflow may act; every refusal is a distinct error class. A rejection is
 * the same object signed under another context: verified the same way, except
 * that the requester may withdraw their own request.
 */
import { createHash } from 'node:crypto';
import { canonicalJson } from '../catalog/canonical-json';
import { randomId } from '../crypto/random';
import { loadSodium } from '../crypto/sodium';
import { InvalidInput } from '../errors';
import { authorize } from './authorize';
import type { AccessTarget, PrincipalDirectory } from './authorize';
import {
  AccessDenied,
  ApprovalExpired,
  ApprovalForged,
  ApprovalMalformed,
  ApprovalMismatch,
  ApprovalSelfSigned,
  ApproverNotPermitted,
  UnknownApprover,
} from './errors';
import { isAction, requiresApproval } from './roles';
import type { Action } from './roles';

export const APPROVAL_CONTEXT = 'coffer-approval-v1';
/** Signed instead of APPROVAL_CONTEXT by `coffer approve --reject`: a rejection can never pass for an approval. */
export const REJECTION_CONTEXT = 'coffer-rejection-v1';

export type ApprovalDecision = 'approve' | 'reject';

export interface ApprovalRequest {
  readonly workflowId: string;
  readonly action: Action;
  readonly target: AccessTarget;
  readonly requestedBy: string;
  /** ISO-8601. */
  readonly requestedAt: string;
  /** ISO-8601: approvals presented after this are refused. */
  readonly deadline: string;
  /** 32 random bytes, hex: binds an approval to this one request. */
  readonly nonce: string;
}

export interface Approval {
  /** SHA-256 (hex) of the request's canonical encoding: says which request this approves. */
  readonly requestDigest: string;
  readonly approverId: string;
  /** Ed25519 detached signature over the canonical encoding, base64. */
  readonly signature: string;
  /** Absent: an approval. 'reject': a signed refusal, which ends the waiting workflow at once. */
  readonly decision?: ApprovalDecision;
}

export interface VerifiedApproval {
  readonly approverId: string;
  readonly approverRole: string;
  readonly requestDigest: string;
  readonly decision: ApprovalDecision;
}

/** The exact bytes that are signed: a context string, then the request as canonical JSON. */
export function encodeApprovalRequest(request: ApprovalRequest, decision: ApprovalDecision = 'approve'): Buffer {
  const body = canonicalJson({
    workflowId: request.workflowId,
    action: request.action,
    target: { repoId: request.target.repoId, object: request.target.object },
    requestedBy: request.requestedBy,
    requestedAt: request.requestedAt,
    deadline: request.deadline,
    nonce: request.nonce,
  });
  return Buffer.from(`${decision === 'reject' ? REJECTION_CONTEXT : APPROVAL_CONTEXT}\n${body}`, 'utf8');
}

export function approvalRequestDigest(request: ApprovalRequest): string {
  return createHash('sha256').update(encodeApprovalRequest(request)).digest('hex');
}

/** Builds a request with a fresh nonce. Runs in an activity (randomness), never in a workflow. */
export function createApprovalRequest(input: {
  readonly workflowId: string;
  readonly action: string;
  readonly target: AccessTarget;
  readonly requestedBy: string;
  /** How long approvers have. */
  readonly ttlMs: number;
  readonly now?: Date;
}): ApprovalRequest {
  if (!isAction(input.action)) throw new InvalidInput(`unknown action ${JSON.stringify(input.action)}`);
  if (!requiresApproval(input.action)) throw new InvalidInput(`${input.action} does not need an approval`);
  if (!Number.isFinite(input.ttlMs) || input.ttlMs <= 0) throw new InvalidInput('the approval deadline must be in the future');
  const now = input.now ?? new Date();
  return {
    workflowId: input.workflowId,
    action: input.action,
    target: input.target.object === undefined ? { repoId: input.target.repoId } : { repoId: input.target.repoId, object: input.target.object },
    requestedBy: input.requestedBy,
    requestedAt: now.toISOString(),
    deadline: new Date(now.getTime() + input.ttlMs).toISOString(),
    nonce: randomId(),
  };
}

/** Signs a request with an Ed25519 secret key (64-byte libsodium form). */
export async function signApprovalWithKey(secretKey: Uint8Array, approverId: string, request: ApprovalRequest, decision: ApprovalDecision = 'approve'): Promise<Approval> {
  const sodium = await loadSodium();
  const signature = sodium.crypto_sign_detached(encodeApprovalRequest(request, decision), secretKey);
  return {
    requestDigest: approvalRequestDigest(request),
    approverId,
    signature: Buffer.from(signature).toString('base64'),
    ...(decision === 'reject' ? { decision } : {}),
  };
}

/**
 * Accepts an approval only if it is for exactly this request, before the
 * deadline, from a registered principal other than the requester whose key
 * made the signature and whose active grants allow the action itself.
 */
export async function verifyApproval(approval: Approval, request: ApprovalRequest, directory: PrincipalDirectory, now: Date): Promise<VerifiedApproval> {
  if (
    typeof approval !== 'object' || approval === null ||
    typeof approval.requestDigest !== 'string' || !/^[0-9a-f]{64}$/.test(approval.requestDigest) ||
    typeof approval.approverId !== 'string' || approval.approverId === '' ||
    typeof approval.signature !== 'string' ||
    (approval.decision !== undefined && approval.decision !== 'approve' && approval.decision !== 'reject')
  ) {
    throw new ApprovalMalformed('the approval is malformed (expected requestDigest, approverId and signature)');
  }
  const signature = Buffer.from(approval.signature, 'base64');
  if (signature.length !== 64) throw new ApprovalMalformed('the approval signature is not 64 bytes of base64 (Ed25519)');

  const digest = approvalRequestDigest(request);
  if (approval.requestDigest !== digest) {
    throw new ApprovalMismatch(`the approval is for another request (digest ${approval.requestDigest.slice(0, 12)}…, expected ${digest.slice(0, 12)}… for workflow ${request.workflowId})`);
  }
  const deadline = new Date(request.deadline);
  if (Number.isNaN(deadline.getTime()) || now.getTime() > deadline.getTime()) {
    throw new ApprovalExpired(`the approval deadline ${request.deadline} for workflow ${request.workflowId} has passed`);
  }
  const approver = await directory.getPrincipal(approval.approverId);
  if (approver === undefined || approver.disabled) {
    throw new UnknownApprover(`approver ${JSON.stringify(approval.approverId)} is not a registered, enabled principal`);
  }
  const decision: ApprovalDecision = approval.decision ?? 'approve';
  const sodium = await loadSodium();
  const publicKey = Buffer.from(approver.publicKey, 'base64');
  let valid = false;
  try {
    valid = publicKey.length === 32 && sodium.crypto_sign_verify_detached(signature, encodeApprovalRequest(request, decision), publicKey);
  } catch {
    valid = false;
  }
  if (!valid) {
    throw new ApprovalForged(`the signature does not verify with ${approval.approverId}'s registered public key`);
  }
  if (decision === 'reject' && approval.approverId === request.requestedBy) {
    return { approverId: approval.approverId, approverRole: 'requester', requestDigest: digest, decision };
  }
  if (approval.approverId === request.requestedBy) {
    throw new ApprovalSelfSigned(`${approval.approverId} requested this operation and cannot approve it`);
  }
  try {
    const authorization = await authorize(directory, approval.approverId, request.action, request.target, now);
    return { approverId: approval.approverId, approverRole: authorization.role, requestDigest: digest, decision };
  } catch (err) {
    if (err instanceof AccessDenied) {
      throw new ApproverNotPermitted(`${approval.approverId} may not approve ${request.action}: ${err.message}`, { cause: err });
    }
    throw err;
  }
}
