/**
 * Authorization: may this principal perform this action on this repository
 * now? Grants bind a principal to a role on one repository (or '*') until
 * `expiresAt`. The answer comes from the catalog on every client operation.
 */
import type { GrantDoc, PrincipalDoc } from '../catalog/documents';
import { InvalidInput } from '../errors';
import { AccessDenied } from './errors';
import { isAction, permits, requiresApproval } from './roles';
import type { Action } from './roles';

/** What authorization reads from the catalog (the Catalog class provides it). */
export interface PrincipalDirectory {
  getPrincipal(id: string): Promise<PrincipalDoc | undefined>;
  listGrants(principalId: string): Promise<GrantDoc[]>;
}

export interface AccessTarget {
  readonly repoId: string;
  /** What inside the repository, e.g. a snapshot id or a restore path (for messages and the audit log). */
  readonly object?: string;
}

export interface Authorization {
  readonly principalId: string;
  readonly action: Action;
  readonly role: string;
  readonly grantId: string;
  /** The action is sensitive: proceed only after a verified approval. */
  readonly requiresApproval: boolean;
}

export async function authorize(directory: PrincipalDirectory, principalId: string, action: string, target: AccessTarget, now: Date): Promise<Authorization> {
  if (!isAction(action)) throw new InvalidInput(`unknown action ${JSON.stringify(action)}`);
  const principal = await directory.getPrincipal(principalId);
  if (principal === undefined) {
    throw new AccessDenied(`principal ${JSON.stringify(principalId)} is not registered in the catalog`, 'unknown-principal');
  }
  if (principal.disabled) {
    throw new AccessDenied(`principal ${JSON.stringify(principalId)} is disabled`, 'principal-disabled');
  }
  const grants = (await directory.listGrants(principalId)).filter((g) => g.scope === '*' || g.scope === target.repoId);
  const permitting = grants.filter((g) => permits(g.role, action));
  const active = permitting.find((g) => g.expiresAt === null || g.expiresAt.getTime() > now.getTime());
  if (active !== undefined) {
    return { principalId, action, role: active.role, grantId: active._id, requiresApproval: requiresApproval(action) };
  }
  const what = `${principalId} may not ${action} on repository ${target.repoId}`;
  if (permitting.length > 0) {
    const latest = permitting.reduce((a, b) => ((a.expiresAt?.getTime() ?? 0) >= (b.expiresAt?.getTime() ?? 0) ? a : b));
    throw new AccessDenied(`${what}: the grant (${latest.role}) expired at ${latest.expiresAt?.toISOString() ?? '?'}`, 'grant-expired');
  }
  if (grants.length === 0) throw new AccessDenied(`${what}: no grant on this repository`, 'no-grant');
  throw new AccessDenied(`${what}: role(s) ${grants.map((g) => g.role).join(', ')} do not allow it`, 'role-lacks-permission');
}
