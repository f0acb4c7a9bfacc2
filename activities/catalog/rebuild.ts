/**
 * Rebuilding the catalog from the repository alone, and checking the two for
 * drift.
 *
 * "Equal" means equal canonical projections: each document turned into plain
 * JSON (dates as ISO-8601 strings, keys sorted, absent fields omitted) and
 * compared as strings. A rebuilt document and one written live by
 * recordSnapshot come from the same pure function of the repository's data,
 * so they are equal whenever the catalog is right.
 */
import type { SnapshotSummary } from '../engine/api';
import { AuditLog } from '../audit/log';
import type { AuditHead } from '../audit/chain';
import type { Catalog } from './catalog';
import { upsertById } from './catalog';
import { canonicalJson } from './canonical-json';
import type { JsonValue } from './canonical-json';
import { drillDocFromRecord, keyDocFromRecord, snapshotDocFromSummary } from './documents';
import { guard } from './mongo-errors';
import type { DrillReportRecord, KeyRecord } from './documents';

/** What rebuild and drift need from a repository; the engine's Repository provides listSnapshots. */
export interface RepositoryView {
  readonly id: string;
  readonly location?: string;
  readonly currentEpoch?: number;
  listSnapshots(): Promise<SnapshotSummary[]>;
  listDrillReports?(): Promise<DrillReportRecord[]>;
  listKeyRecords?(): Promise<KeyRecord[]>;
  /** The audit head checkpoint stored in the repository, if any. */
  auditHead?(): Promise<AuditHead | undefined>;
}

export interface RebuildCounts {
  added: number;
  updated: number;
  removed: number;
  unchanged: number;
}

export interface RebuildReport {
  readonly repoId: string;
  readonly snapshots: RebuildCounts;
  readonly drillReports?: RebuildCounts;
  readonly keys?: RebuildCounts;
}

interface StoredDoc {
  _id: string;
}

/** A document as plain canonical JSON: the unit of comparison between catalog and repository. */
export function canonicalProjection(doc: object): string {
  return canonicalJson(toJson(doc));
}

/**
 * Makes the catalog's view of one repository equal to what the repository
 * holds: upserts what differs, removes what the repository no longer has.
 * Deterministic (same repository, same documents) and safe to re-run.
 */
export async function rebuildCatalog(repo: RepositoryView, catalog: Catalog): Promise<RebuildReport> {
  if (repo.location !== undefined) {
    await catalog.upsertRepository({ id: repo.id, location: repo.location, currentEpoch: repo.currentEpoch ?? 0 });
  }
  const summaries = await repo.listSnapshots();
  const snapshots = await mirror(
    summaries.map((s) => snapshotDocFromSummary(repo.id, s)),
    await guard('read the catalog', () => catalog.snapshots.find({ repoId: repo.id }).toArray()),
    (doc) => guard('rebuild the catalog', () => upsertById(catalog.snapshots, doc)),
    (ids) => guard('rebuild the catalog', () => catalog.snapshots.deleteMany({ _id: { $in: ids } })),
  );
  const report: { repoId: string; snapshots: RebuildCounts; drillReports?: RebuildCounts; keys?: RebuildCounts } = { repoId: repo.id, snapshots };
  if (repo.listDrillReports !== undefined) {
    const records = await repo.listDrillReports();
    report.drillReports = await mirror(
      records.map(drillDocFromRecord),
      await guard('read the catalog', () => catalog.drillReports.find({ repoId: repo.id }).toArray()),
      (doc) => guard('rebuild the catalog', () => upsertById(catalog.drillReports, doc)),
      (ids) => guard('rebuild the catalog', () => catalog.drillReports.deleteMany({ _id: { $in: ids } })),
    );
  }
  if (repo.listKeyRecords !== undefined) {
    const records = await repo.listKeyRecords();
    report.keys = await mirror(
      records.map(keyDocFromRecord),
      await guard('read the catalog', () => catalog.keys.find({ repoId: repo.id }).toArray()),
      (doc) => guard('rebuild the catalog', () => upsertById(catalog.keys, doc)),
      (ids) => guard('rebuild the catalog', () => catalog.keys.deleteMany({ _id: { $in: ids } })),
    );
  }
  return report;
}

async function mirror<D extends StoredDoc>(
  wanted: readonly D[],
  stored: readonly D[],
  upsert: (doc: D) => Promise<unknown>,
  remove: (ids: string[]) => Promise<unknown>,
): Promise<RebuildCounts> {
  const storedById = new Map(stored.map((doc) => [doc._id, canonicalProjection(doc)]));
  const counts: RebuildCounts = { added: 0, updated: 0, removed: 0, unchanged: 0 };
  // Sorted so that a rebuild always writes in the same order.
  for (const doc of [...wanted].sort((a, b) => compare(a._id, b._id))) {
    const current = storedById.get(doc._id);
    storedById.delete(doc._id);
    if (current === canonicalProjection(doc)) {
      counts.unchanged += 1;
      continue;
    }
    await upsert(doc);
    if (current === undefined) counts.added += 1;
    else counts.updated += 1;
  }
  const extra = [...storedById.keys()].sort(compare);
  if (extra.length > 0) await remove(extra);
  counts.removed = extra.length;
  return counts;
}

export interface DriftReport {
  readonly repoId: string;
  readonly inSync: boolean;
  readonly snapshotsInRepository: number;
  readonly snapshotsInCatalog: number;
  /** In the repository, not in the catalog. */
  readonly missingInCatalog: readonly string[];
  /** In the catalog, not in the repository (deleted from storage, or invented). */
  readonly missingInRepository: readonly string[];
  /** In both, with different contents. */
  readonly differing: readonly string[];
  /** Why the catalog looks restored from an older state, if it does. */
  readonly rollback: readonly string[];
  readonly auditHead?: { readonly catalog?: AuditHead; readonly repository?: AuditHead };
}

/**
 * Compares the catalog with the repository without changing either. A
 * rolled-back catalog shows as snapshots newer than the catalog's newest one
 * that only the repository has, or as an audit chain whose head is behind
 * (or different from) the checkpoint the repository recorded.
 */
export async function checkDrift(repo: RepositoryView, catalog: Catalog): Promise<DriftReport> {
  const summaries = await repo.listSnapshots();
  const inRepo = new Map(summaries.map((s) => [s.id, snapshotDocFromSummary(repo.id, s)]));
  const inCatalog = new Map((await guard('read the catalog', () => catalog.snapshots.find({ repoId: repo.id }).toArray())).map((d) => [d.snapshotId, d]));

  const missingInCatalog = [...inRepo.keys()].filter((id) => !inCatalog.has(id)).sort(compare);
  const missingInRepository = [...inCatalog.keys()].filter((id) => !inRepo.has(id)).sort(compare);
  const differing = [...inRepo.entries()]
    .filter(([id, doc]) => inCatalog.has(id) && canonicalProjection(doc) !== canonicalProjection(inCatalog.get(id) as object))
    .map(([id]) => id)
    .sort(compare);

  const rollback: string[] = [];
  const catalogNewest = [...inCatalog.values()].reduce((newest, d) => Math.max(newest, d.time.getTime()), -Infinity);
  const newer = missingInCatalog.filter((id) => (inRepo.get(id)?.time.getTime() ?? 0) > catalogNewest);
  if (inCatalog.size > 0 && newer.length > 0) {
    rollback.push(`the catalog lacks ${newer.length} snapshot(s) newer than its newest (${new Date(catalogNewest).toISOString()}): ${newer.join(', ')}`);
  }

  let auditHead: DriftReport['auditHead'];
  if (repo.auditHead !== undefined) {
    const repositoryHead = await repo.auditHead();
    const catalogHead = await new AuditLog(catalog.audit, repo.id).head();
    auditHead = { ...(catalogHead ? { catalog: catalogHead } : {}), ...(repositoryHead ? { repository: repositoryHead } : {}) };
    if (repositoryHead !== undefined) {
      if (catalogHead === undefined || catalogHead.seq < repositoryHead.seq) {
        rollback.push(`the catalog's audit log ends at ${catalogHead?.seq ?? 0}, before the repository's checkpoint at ${repositoryHead.seq}`);
      } else {
        const atCheckpoint = await guard('read the audit log', () => catalog.audit.findOne({ repoId: repo.id, seq: repositoryHead.seq }));
        if (atCheckpoint?.mac !== repositoryHead.mac) {
          rollback.push(`the catalog's audit entry ${repositoryHead.seq} differs from the repository's checkpoint: the log was rewritten`);
        }
      }
    }
  }

  return {
    repoId: repo.id,
    inSync: missingInCatalog.length === 0 && missingInRepository.length === 0 && differing.length === 0 && rollback.length === 0,
    snapshotsInRepository: inRepo.size,
    snapshotsInCatalog: inCatalog.size,
    missingInCatalog,
    missingInRepository,
    differing,
    rollback,
    ...(auditHead !== undefined ? { auditHead } : {}),
  };
}

/** Converts a stored document into plain JSON values (Dates become ISO strings). */
function toJson(value: unknown): JsonValue {
  if (value === null || typeof value === 'string' || typeof value === 'boolean' || typeof value === 'number') return value;
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.map(toJson);
  if (typeof value === 'object') {
    const out: Record<string, JsonValue> = {};
    for (const [key, member] of Object.entries(value as Record<string, unknown>)) {
      if (member !== undefined) out[key] = toJson(member);
    }
    return out;
  }
  throw new TypeError(`cannot project a ${typeof value} into canonical JSON`);
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

