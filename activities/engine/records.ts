/**
 * Small sealed records kept beside the backup data (audit head checkpoints,
 * drill reports): one envelope per object, written create-if-absent and
 * never changed afterwards, except by key rotation, which re-seals them with
 * the new epoch before the old one is retired.
 */
import { envelopeEpoch } from '../repository/envelope';
import { Names, ObjectType } from '../repository/format';
import type { ObjectTypeName } from '../repository/format';
import { AlreadyExists, NotFound } from '../storage/errors';
import { sealJson } from '../repository/envelope';
import type { RepoCore } from './core';

export interface RecordKind {
  readonly type: ObjectTypeName;
  readonly prefix: string;
  /** Storage name of the record with this object id. */
  name(objectId: string): string;
  /** The object id a storage name stands for, or undefined for foreign names. */
  objectIdOf(name: string): string | undefined;
}

export const AUDIT_HEADS: RecordKind = {
  type: ObjectType.auditHead,
  prefix: Names.auditPrefix,
  name: (objectId) => Names.auditHead(objectId),
  objectIdOf: (name) => /^audit\/head-([0-9]{16})$/.exec(name)?.[1],
};

export const DRILL_REPORTS: RecordKind = {
  type: ObjectType.drillReport,
  prefix: Names.drillsPrefix,
  name: (objectId) => Names.drillReport(objectId),
  objectIdOf: (name) => /^drills\/([0-9a-f]{64})$/.exec(name)?.[1],
};

/** Saves a record if absent; `false` when an object of that name already exists (a retry, or a conflict the caller checks). */
export async function saveRecord(core: RepoCore, kind: RecordKind, objectId: string, value: unknown): Promise<boolean> {
  const name = kind.name(objectId);
  try {
    await core.backend.save(name, sealJson(core.keyring, core.target(kind.type, objectId, name), value), { retainUntil: core.retainUntil() });
    return true;
  } catch (err) {
    if (err instanceof AlreadyExists) return false;
    throw err;
  }
}

/** Opens one record (authenticated: type, object id and repository are bound in the AD). */
export async function loadRecord(core: RepoCore, kind: RecordKind, objectId: string): Promise<unknown> {
  return (await core.loadJson(kind.type, kind.name(objectId), objectId)).value;
}

/** Object ids of the stored records of a kind, sorted ascending; foreign names are ignored. */
export async function listRecordIds(core: RepoCore, kind: RecordKind): Promise<string[]> {
  const ids: string[] = [];
  for await (const obj of core.backend.list(kind.prefix)) {
    const id = kind.objectIdOf(obj.name);
    if (id !== undefined) ids.push(id);
  }
  return ids.sort();
}

/** Loads a record, or undefined if it vanished after listing. */
export async function tryLoadRecord(core: RepoCore, kind: RecordKind, objectId: string): Promise<unknown> {
  try {
    return await loadRecord(core, kind, objectId);
  } catch (err) {
    if (err instanceof NotFound) return undefined;
    throw err;
  }
}

/**
 * Key rotation: re-seals every record of an older epoch with the current one,
 * in place (remove, then save). A crash between the two loses that one
 * record; rotation runs under the exclusive lock and rarely, and both kinds
 * are re-creatable (the next checkpoint, or the catalog's copy of a report).
 */
export async function resealRecords(core: RepoCore): Promise<number> {
  let resealed = 0;
  for (const kind of [AUDIT_HEADS, DRILL_REPORTS]) {
    for (const objectId of await listRecordIds(core, kind)) {
      const name = kind.name(objectId);
      const bytes = await core.backend.load(name);
      if (envelopeEpoch(bytes, name) === core.keyring.currentEpoch) continue;
      const { value } = await core.loadJson(kind.type, name, objectId);
      await core.saveJson(kind.type, name, objectId, value, { overwrite: true });
      resealed++;
    }
  }
  return resealed;
}

/** Opens every record with the core's keyring (the rotation proof: a keyring holding only the new epoch). */
export async function openAllRecords(core: RepoCore): Promise<number> {
  let opened = 0;
  for (const kind of [AUDIT_HEADS, DRILL_REPORTS]) {
    for (const objectId of await listRecordIds(core, kind)) {
      if ((await tryLoadRecord(core, kind, objectId)) !== undefined) opened++;
    }
  }
  return opened;
}
