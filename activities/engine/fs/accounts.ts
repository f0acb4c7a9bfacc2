/**
 * uid/gid <-> user/group names from /etc/passwd and /etc/group, read once per
 * process (a backup scans millions of files; NSS-only accounts such as LDAP
 * are not seen, which then falls back to the numeric id).
 */
import { readFileSync } from 'node:fs';

interface AccountTable {
  readonly nameById: ReadonlyMap<number, string>;
  readonly idByName: ReadonlyMap<string, number>;
}

function parseTable(path: string): AccountTable {
  const nameById = new Map<number, string>();
  const idByName = new Map<string, number>();
  let text = '';
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    // No account database (minimal containers): every lookup falls back to ids.
  }
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const fields = line.split(':');
    const name = fields[0];
    const id = Number(fields[2]);
    if (name === undefined || name === '' || !Number.isInteger(id)) continue;
    // The first entry wins, like getpwuid/getpwnam.
    if (!nameById.has(id)) nameById.set(id, name);
    if (!idByName.has(name)) idByName.set(name, id);
  }
  return { nameById, idByName };
}

let users: AccountTable | undefined;
let groups: AccountTable | undefined;

function userTable(): AccountTable {
  users ??= parseTable('/etc/passwd');
  return users;
}

function groupTable(): AccountTable {
  groups ??= parseTable('/etc/group');
  return groups;
}

export function userName(uid: number): string | undefined {
  return userTable().nameById.get(uid);
}

export function groupName(gid: number): string | undefined {
  return groupTable().nameById.get(gid);
}

export function userId(name: string): number | undefined {
  return userTable().idByName.get(name);
}

export function groupId(name: string): number | undefined {
  return groupTable().idByName.get(name);
}
