/**
 * Actions, roles and which role may do what. The matrix is data, documented
 * in docs/catalog.md; `permits` is the only function that reads it.
 */
export const ACTIONS = [
  'repo.init',
  'backup',
  'restore', // into a new (empty or missing) path
  'restore.overwrite', // over an existing path: needs an approval
  'verify',
  'drill',
  'replicate',
  'snapshot.list',
  'snapshot.delete', // needs an approval
  'retention.run', // plan a retention run (dry run); forgetting snapshots needs snapshot.delete
  'retention.change', // needs an approval
  'key.list',
  'key.add',
  'key.remove', // needs an approval
  'key.rotate', // needs an approval
  'catalog.read',
  'catalog.rebuild',
  'catalog.verify',
  'audit.read',
  'audit.export',
  'audit.verify',
  'access.manage', // principals and grants
] as const;

export type Action = (typeof ACTIONS)[number];

export const ROLES = ['admin', 'operator', 'auditor', 'restorer'] as const;
export type Role = (typeof ROLES)[number];

/** Actions that, even when permitted, wait for a second principal's signed approval. */
export const SENSITIVE_ACTIONS: ReadonlySet<Action> = new Set<Action>(['restore.overwrite', 'snapshot.delete', 'key.remove', 'key.rotate', 'retention.change']);

export const ROLE_PERMISSIONS: Readonly<Record<Role, ReadonlySet<Action>>> = {
  admin: new Set<Action>(ACTIONS),
  operator: new Set<Action>([
    'repo.init', 'backup', 'restore', 'restore.overwrite', 'verify', 'drill', 'replicate', 'snapshot.list', 'retention.run',
    'key.list', 'catalog.read', 'catalog.rebuild', 'catalog.verify',
  ]),
  auditor: new Set<Action>(['snapshot.list', 'key.list', 'catalog.read', 'catalog.verify', 'audit.read', 'audit.export', 'audit.verify']),
  restorer: new Set<Action>(['restore', 'snapshot.list']),
};

export function isAction(value: string): value is Action {
  return (ACTIONS as readonly string[]).includes(value);
}

export function isRole(value: string): value is Role {
  return (ROLES as readonly string[]).includes(value);
}

export function permits(role: string, action: Action): boolean {
  return isRole(role) && ROLE_PERMISSIONS[role].has(action);
}

export function requiresApproval(action: Action): boolean {
  return SENSITIVE_ACTIONS.has(action);
}
