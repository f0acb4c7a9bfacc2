/**
 * Snapshot objects (`snapshots/<id>.e<epoch>`, envelope type 'snapshot',
 * object id = snapshot id): the SnapshotSummary as JSON. Written last, after
 * every pack and index object it depends on.
 */
import { IntegrityError } from '../crypto/errors';
import type { SnapshotSummary } from '../engine/api';

const STAT_KEYS = ['files', 'dirs', 'bytes', 'bytesNew', 'bytesUploaded', 'chunksNew', 'chunksDeduplicated', 'filesUnchanged', 'errors'] as const;

export function validateSnapshot(v: unknown, id: string, what: string): SnapshotSummary {
  const bad = (why: string): never => {
    throw new IntegrityError(`${what}: malformed snapshot (${why})`);
  };
  if (typeof v !== 'object' || v === null) return bad('not an object');
  const s = v as Record<string, unknown>;
  if (s.id !== id) bad('the id inside does not match the object name (swapped?)');
  if (typeof s.time !== 'string' || Number.isNaN(Date.parse(s.time))) bad('time');
  if (typeof s.host !== 'string') bad('host');
  if (!Array.isArray(s.paths) || !s.paths.every((p) => typeof p === 'string')) bad('paths');
  if (!Array.isArray(s.tags) || !s.tags.every((p) => typeof p === 'string')) bad('tags');
  if (s.parent !== undefined && typeof s.parent !== 'string') bad('parent');
  if (typeof s.rootTree !== 'string' || !/^[0-9a-f]{64}$/.test(s.rootTree)) bad('rootTree');
  if (typeof s.keyEpoch !== 'number') bad('keyEpoch');
  const stats = s.stats as Record<string, unknown> | undefined;
  if (stats === undefined || !STAT_KEYS.every((k) => typeof stats[k] === 'number')) bad('stats');
  return s as unknown as SnapshotSummary;
}
