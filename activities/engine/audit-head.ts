/**
 * Audit chain checkpoints in the repository (`audit/head-<seq, 16 digits>`,
 * envelope type `audit-head`, object id = the padded seq). The catalog holds
 * the audit log; the repository holds where the log had got to, sealed with
 * the repository's keys, so a catalog administrator who truncates, rolls back
 * or rewrites the log is caught by comparing the two.
 *
 * One object per checkpoint, create-if-absent, newest (highest seq) wins.
 * Limits: storage can delete the newest checkpoints (a rollback of the
 * repository's own record); that is detectable only relative to the catalog
 * (its log then runs ahead of the checkpoint, which is also the normal state
 * between checkpoints). Retention-locked repositories keep every checkpoint
 * for the retention period, which closes that gap for its length.
 */
import { IntegrityError } from '../crypto/errors';
import { InvalidInput } from '../errors';
import type { AuditHeadCheckpoint } from './api';
import type { RepoCore } from './core';
import { AUDIT_HEADS, listRecordIds, loadRecord, saveRecord, tryLoadRecord } from './records';

const SEQ_DIGITS = 16;

function padSeq(seq: number): string {
  return String(seq).padStart(SEQ_DIGITS, '0');
}

function checkHead(head: AuditHeadCheckpoint): void {
  if (!Number.isSafeInteger(head.seq) || head.seq < 1) throw new InvalidInput(`an audit checkpoint's seq must be a positive integer (got ${String(head.seq)})`);
  if (typeof head.mac !== 'string' || !/^[0-9a-f]{64}$/.test(head.mac)) throw new InvalidInput('an audit checkpoint\'s mac must be 64 lowercase hex characters');
  if (typeof head.time !== 'string' || Number.isNaN(Date.parse(head.time))) throw new InvalidInput('an audit checkpoint\'s time must be an ISO-8601 time');
}

function validateHead(value: unknown, objectId: string, name: string): AuditHeadCheckpoint {
  const v = value as Partial<Record<keyof AuditHeadCheckpoint, unknown>> | null;
  if (typeof v !== 'object' || v === null || typeof v.seq !== 'number' || typeof v.mac !== 'string' || typeof v.time !== 'string') {
    throw new IntegrityError(`${name}: malformed audit checkpoint`);
  }
  if (padSeq(v.seq) !== objectId) throw new IntegrityError(`${name}: checkpoint seq ${v.seq} does not match its name (swapped?)`);
  return { seq: v.seq, mac: v.mac, time: v.time };
}

/**
 * Stores a checkpoint. Writing the same seq and MAC again (a retried
 * activity) is a no-op; the same seq with another MAC means the catalog's
 * log was rewritten after the first checkpoint: refused as an IntegrityError.
 */
export async function writeAuditHead(core: RepoCore, head: AuditHeadCheckpoint): Promise<{ created: boolean }> {
  checkHead(head);
  const objectId = padSeq(head.seq);
  const value = { seq: head.seq, mac: head.mac, time: head.time };
  if (await saveRecord(core, AUDIT_HEADS, objectId, value)) return { created: true };
  const existing = validateHead(await loadRecord(core, AUDIT_HEADS, objectId), objectId, AUDIT_HEADS.name(objectId));
  if (existing.mac !== head.mac) {
    throw new IntegrityError(`the repository already holds audit checkpoint ${head.seq} with another MAC: the catalog's audit log was rewritten`);
  }
  return { created: false };
}

/** The checkpoint with the highest seq; a damaged newest checkpoint is an error, never silently skipped. */
export async function readAuditHead(core: RepoCore): Promise<AuditHeadCheckpoint | undefined> {
  const ids = await listRecordIds(core, AUDIT_HEADS);
  for (const objectId of ids.reverse()) {
    const value = await tryLoadRecord(core, AUDIT_HEADS, objectId);
    if (value === undefined) continue; // removed after listing
    return validateHead(value, objectId, AUDIT_HEADS.name(objectId));
  }
  return undefined;
}
