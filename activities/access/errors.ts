/**
 * Access-control errors. Every refusal is its own class with its own code, so
 * the CLI, the audit log and the tests can tell a forged approval from an
 * expired one. None of them is retryable: the same request fails the same way.
 */
import { CofferError } from '../errors';
import type { CofferErrorOptions } from '../errors';

export type AccessDeniedReason = 'unknown-principal' | 'principal-disabled' | 'no-grant' | 'grant-expired' | 'role-lacks-permission';

/** The principal may not perform this action on this target. */
export class AccessDenied extends CofferError {
  readonly code = 'COFFER-E501';
  readonly retryable = false;

  constructor(
    message: string,
    readonly reason: AccessDeniedReason,
    options: CofferErrorOptions = {},
  ) {
    super(message, { hint: 'ask an admin for a grant with a role that allows this action (see docs/access.md, roles)', ...options });
  }
}

/** An approval that must not be acted on. Subclasses say why. */
export abstract class ApprovalRejected extends CofferError {
  readonly retryable = false;
}

/** The approval does not have the expected shape (digest, approver id, base64 signature). */
export class ApprovalMalformed extends ApprovalRejected {
  readonly code = 'COFFER-E502';
  constructor(message: string, options: CofferErrorOptions = {}) {
    super(message, { hint: 'sign the approval again with `coffer approve <workflow-id>`', ...options });
  }
}

/** The approval was made for a different request (other workflow, action, target or nonce). */
export class ApprovalMismatch extends ApprovalRejected {
  readonly code = 'COFFER-E503';
  constructor(message: string, options: CofferErrorOptions = {}) {
    super(message, { hint: 'approve the request the workflow is waiting for: `coffer approve <workflow-id>` reads it from the workflow', ...options });
  }
}

/** The request's deadline has passed. */
export class ApprovalExpired extends ApprovalRejected {
  readonly code = 'COFFER-E504';
  constructor(message: string, options: CofferErrorOptions = {}) {
    super(message, { hint: 'start the operation again and have it approved before its deadline', ...options });
  }
}

/** The approver is not a known (enabled) principal in the catalog. */
export class UnknownApprover extends ApprovalRejected {
  readonly code = 'COFFER-E505';
  constructor(message: string, options: CofferErrorOptions = {}) {
    super(message, { hint: 'register the approver\'s public key with `coffer principals add`', ...options });
  }
}

/** The signature does not verify with the approver's registered public key. */
export class ApprovalForged extends ApprovalRejected {
  readonly code = 'COFFER-E506';
  constructor(message: string, options: CofferErrorOptions = {}) {
    super(message, { hint: 'the approval was not signed by the key registered for that principal; treat this as an attack', ...options });
  }
}

/** The requester approved their own request: a second principal is required. */
export class ApprovalSelfSigned extends ApprovalRejected {
  readonly code = 'COFFER-E507';
  constructor(message: string, options: CofferErrorOptions = {}) {
    super(message, { hint: 'a different principal must approve this operation', ...options });
  }
}

/** The approver's grants do not allow the action being approved. */
export class ApproverNotPermitted extends ApprovalRejected {
  readonly code = 'COFFER-E508';
  constructor(message: string, options: CofferErrorOptions = {}) {
    super(message, { hint: 'the approver needs an active grant whose role allows this action', ...options });
  }
}

/** A principal key file that cannot be used (malformed, wrong format, readable by others). */
export class PrincipalKeyFileInvalid extends CofferError {
  readonly code = 'COFFER-E509';
  readonly retryable = false;
  constructor(message: string, options: CofferErrorOptions = {}) {
    super(message, { hint: 'check the key file path; generate a new key with `coffer keygen --out <file>` if it is lost', ...options });
  }
}

/**
 * A job names no principal, or its signed credential does not prove who
 * started it (bad or stale signature, unknown key). Raised while access
 * control is on, by the CLI and again inside the workflow.
 */
export class IdentityUnproven extends CofferError {
  readonly code = 'COFFER-E550';
  readonly retryable = false;
  constructor(message: string, options: CofferErrorOptions = {}) {
    super(message, {
      hint: 'set COFFER_PRINCIPAL and COFFER_PRINCIPAL_KEY_FILE (your registered principal and its key file); see docs/access.md',
      ...options,
    });
  }
}

/** The first-admin bootstrap was attempted after principals already exist. */
export class BootstrapClosed extends CofferError {
  readonly code = 'COFFER-E551';
  readonly retryable = false;
  constructor(message: string, options: CofferErrorOptions = {}) {
    super(message, { hint: 'an admin must add principals now: run the command with COFFER_PRINCIPAL/COFFER_PRINCIPAL_KEY_FILE of an admin', ...options });
  }
}
