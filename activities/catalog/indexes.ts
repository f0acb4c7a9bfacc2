/**
 * Every index the catalog needs, one per query the CLI and the workflows make.
 * All of them work on FerretDB v1 (no partial or TTL indexes there, so none
 * are used). They are created one call per index: FerretDB v1.24 crashes the
 * connection on a multi-index `createIndexes` whose indexes all exist already.
 */
import type { Db, IndexDirection } from 'mongodb';
import { COLLECTIONS } from './documents';

export interface IndexSpec {
  readonly collection: string;
  readonly name: string;
  readonly key: Readonly<Record<string, IndexDirection>>;
  readonly unique?: boolean;
  /** The query this index serves. */
  readonly serves: string;
}

export const INDEXES: readonly IndexSpec[] = [
  { collection: COLLECTIONS.snapshots, name: 'repo_time', key: { repoId: 1, time: -1 }, serves: 'coffer snapshots: a repository\'s snapshots, newest first; point-in-time lookup' },
  { collection: COLLECTIONS.snapshots, name: 'repo_host_time', key: { repoId: 1, host: 1, time: -1 }, serves: 'snapshots of one host' },
  { collection: COLLECTIONS.snapshots, name: 'repo_source_time', key: { repoId: 1, source: 1, time: -1 }, serves: 'latest snapshot per source (parent selection, RPO)' },
  { collection: COLLECTIONS.snapshots, name: 'repo_tags', key: { repoId: 1, tags: 1 }, serves: 'snapshots by tag' },
  { collection: COLLECTIONS.runs, name: 'repo_started', key: { repoId: 1, startedAt: -1 }, serves: 'coffer runs: a repository\'s runs, newest first' },
  { collection: COLLECTIONS.runs, name: 'repo_type_started', key: { repoId: 1, type: 1, startedAt: -1 }, serves: 'runs of one type (backups, verifies, drills)' },
  { collection: COLLECTIONS.runs, name: 'repo_type_outcome_source_ended', key: { repoId: 1, type: 1, outcome: 1, source: 1, endedAt: -1 }, serves: 'latest successful backup per source' },
  { collection: COLLECTIONS.runs, name: 'workflow', key: { workflowId: 1 }, serves: 'runs of one workflow id' },
  { collection: COLLECTIONS.drillReports, name: 'repo_time', key: { repoId: 1, time: -1 }, serves: 'coffer drill reports: newest first' },
  { collection: COLLECTIONS.keys, name: 'repo_created', key: { repoId: 1, createdAt: 1 }, serves: 'coffer keys list' },
  { collection: COLLECTIONS.grants, name: 'principal', key: { principalId: 1 }, serves: 'grants of a principal (every authorization)' },
  { collection: COLLECTIONS.principals, name: 'name', key: { name: 1 }, unique: true, serves: 'principal by name' },
  { collection: COLLECTIONS.audit, name: 'repo_seq', key: { repoId: 1, seq: 1 }, unique: true, serves: 'the audit chain in order; makes concurrent appends safe' },
  { collection: COLLECTIONS.audit, name: 'repo_event', key: { repoId: 1, eventId: 1 }, unique: true, serves: 'idempotent audit appends (a retried activity finds its entry)' },
  { collection: COLLECTIONS.audit, name: 'workflow', key: { workflowId: 1 }, serves: 'audit entries of one workflow' },
];

/** Creates every index that is missing; existing ones are left alone. */
export async function ensureIndexes(db: Db): Promise<void> {
  for (const spec of INDEXES) {
    await db.collection(spec.collection).createIndex({ ...spec.key }, { name: spec.name, unique: spec.unique ?? false });
  }
}
