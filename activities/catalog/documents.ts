/**
 * The catalog's document shapes and the pure functions that build them.
 *
 * Every `_id` is a natural key (`<repoId>:<snapshotId>`, `<workflowId>:<runId>`
 * …), so an activity that runs twice upserts the same document instead of
 * adding a second one. Documents derived from the repository (repositories,
 * snapshots, drill reports, keys) hold nothing but what the repository says,
 * so a rebuild produces them again byte for byte: no "recorded at" stamps.
 */
import { InvalidInput } from '../errors';
import type { SnapshotSummary } from '../engine/api';

export const COLLECTIONS = {
  repositories: 'repositories',
  snapshots: 'snapshots',
  runs: 'runs',
  drillReports: 'drillReports',
  keys: 'keys',
  principals: 'principals',
  grants: 'grants',
  audit: 'audit',
} as const;

export interface RepositoryDoc {
  _id: string;
  /** Where the repository lives, with any credentials removed. */
  location: string;
  currentEpoch: number;
}

export interface SnapshotStatsDoc {
  files: number;
  dirs: number;
  bytes: number;
  bytesNew: number;
  bytesUploaded: number;
  chunksNew: number;
  chunksDeduplicated: number;
  filesUnchanged: number;
  errors: number;
}

export interface SnapshotDoc {
  _id: string;
  repoId: string;
  snapshotId: string;
  time: Date;
  host: string;
  paths: string[];
  tags: string[];
  /** Host and paths: what "the same source" means for "latest backup per source". */
  source: string;
  parent?: string;
  rootTree: string;
  keyEpoch: number;
  stats: SnapshotStatsDoc;
  /** Logical bytes per byte stored: how much deduplication and compression saved. */
  dedupRatio: number;
}

export type RunType = 'backup' | 'restore' | 'verify' | 'rotate-keys' | 'retention' | 'replicate' | 'drill' | 'rebuild' | (string & {});
export type RunOutcome = 'running' | 'succeeded' | 'failed' | 'cancelled' | 'refused';

/** A workflow run, as activities report it (JSON-safe: may travel in a payload). */
export interface RunRecord {
  readonly workflowId: string;
  readonly runId: string;
  readonly repoId: string;
  readonly type: RunType;
  readonly outcome: RunOutcome;
  /** ISO-8601. */
  readonly startedAt: string;
  readonly endedAt?: string;
  /** For backups: the source (see `sourceKey`); lets the CLI find the latest successful backup per source. */
  readonly source?: string;
  readonly snapshotId?: string;
  readonly principal?: string;
  /** Counters such as bytesRead, bytesUploaded, files, findings. */
  readonly figures?: Readonly<Record<string, number>>;
  /** Error code and one-line message of a failed run (never secrets). */
  readonly error?: { readonly code: string; readonly message: string };
}

export interface RunDoc {
  _id: string;
  workflowId: string;
  runId: string;
  repoId: string;
  type: string;
  outcome: RunOutcome;
  startedAt: Date;
  endedAt?: Date;
  source?: string;
  snapshotId?: string;
  principal?: string;
  figures: Record<string, number>;
  error?: { code: string; message: string };
}

/** A DR drill's result (JSON-safe). */
export interface DrillReportRecord {
  readonly repoId: string;
  /** The drill's workflow id: unique per drill. */
  readonly drillId: string;
  readonly snapshotId: string;
  /** ISO-8601 time the drill started. */
  readonly time: string;
  readonly passed: boolean;
  /** Measured recovery time and snapshot age, in milliseconds. */
  readonly rtoMs: number;
  readonly rpoMs: number;
  readonly objectives: { readonly rtoMs: number; readonly rpoMs: number };
  readonly figures?: Readonly<Record<string, number>>;
  /** Human-readable gaps (differences, missed objectives). */
  readonly problems?: readonly string[];
}

export interface DrillReportDoc {
  _id: string;
  repoId: string;
  drillId: string;
  snapshotId: string;
  time: Date;
  passed: boolean;
  rtoMs: number;
  rpoMs: number;
  objectives: { rtoMs: number; rpoMs: number };
  figures: Record<string, number>;
  problems: string[];
}

/** Key metadata only: ids, kinds, epochs and times. Never key material. */
export interface KeyRecord {
  readonly repoId: string;
  readonly keyId: string;
  /** 'passphrase' | 'x25519' for access keys, 'epoch' for data-key epochs. */
  readonly kind: 'passphrase' | 'x25519' | 'epoch';
  readonly epoch?: number;
  readonly label?: string;
  /** ISO-8601. */
  readonly createdAt: string;
  readonly retiredAt?: string;
}

export interface KeyDoc {
  _id: string;
  repoId: string;
  keyId: string;
  kind: KeyRecord['kind'];
  epoch?: number;
  label?: string;
  createdAt: Date;
  retiredAt?: Date;
}

export interface PrincipalDoc {
  _id: string;
  name: string;
  /** Ed25519 public key, base64. */
  publicKey: string;
  createdAt: Date;
  disabled: boolean;
}

export interface GrantDoc {
  _id: string;
  principalId: string;
  role: string;
  /** A repository id, or '*' for every repository. */
  scope: string;
  grantedBy: string;
  grantedAt: Date;
  /** null: never expires. */
  expiresAt: Date | null;
}

export interface AuditDoc {
  _id: string;
  repoId: string;
  seq: number;
  eventId: string;
  time: string;
  principal: string;
  action: string;
  target: string;
  outcome: string;
  workflowId: string;
  prevMac: string;
  mac: string;
}

// ---------------------------------------------------------------------------

export function snapshotDocId(repoId: string, snapshotId: string): string {
  return `${repoId}:${snapshotId}`;
}

/** "The same source": one host and the same set of paths, in any order. */
export function sourceKey(host: string, paths: readonly string[]): string {
  return `${host}:${JSON.stringify([...paths].sort())}`;
}

export function snapshotDocFromSummary(repoId: string, summary: SnapshotSummary): SnapshotDoc {
  const stats: SnapshotStatsDoc = {
    files: summary.stats.files,
    dirs: summary.stats.dirs,
    bytes: summary.stats.bytes,
    bytesNew: summary.stats.bytesNew,
    bytesUploaded: summary.stats.bytesUploaded,
    chunksNew: summary.stats.chunksNew,
    chunksDeduplicated: summary.stats.chunksDeduplicated,
    filesUnchanged: summary.stats.filesUnchanged,
    errors: summary.stats.errors,
  };
  const doc: SnapshotDoc = {
    _id: snapshotDocId(repoId, summary.id),
    repoId,
    snapshotId: summary.id,
    time: parseTime(summary.time, 'snapshot time'),
    host: summary.host,
    paths: [...summary.paths],
    tags: [...summary.tags],
    source: sourceKey(summary.host, summary.paths),
    rootTree: summary.rootTree,
    keyEpoch: summary.keyEpoch,
    stats,
    dedupRatio: stats.bytesUploaded > 0 ? round4(stats.bytes / stats.bytesUploaded) : 0,
  };
  if (summary.parent !== undefined) doc.parent = summary.parent;
  return doc;
}

export function runDocFromRecord(record: RunRecord): RunDoc {
  const doc: RunDoc = {
    _id: `${record.workflowId}:${record.runId}`,
    workflowId: record.workflowId,
    runId: record.runId,
    repoId: record.repoId,
    type: record.type,
    outcome: record.outcome,
    startedAt: parseTime(record.startedAt, 'run start'),
    figures: { ...(record.figures ?? {}) },
  };
  if (record.endedAt !== undefined) doc.endedAt = parseTime(record.endedAt, 'run end');
  if (record.source !== undefined) doc.source = record.source;
  if (record.snapshotId !== undefined) doc.snapshotId = record.snapshotId;
  if (record.principal !== undefined) doc.principal = record.principal;
  if (record.error !== undefined) doc.error = { code: record.error.code, message: record.error.message };
  return doc;
}

export function drillDocFromRecord(record: DrillReportRecord): DrillReportDoc {
  return {
    _id: `${record.repoId}:${record.drillId}`,
    repoId: record.repoId,
    drillId: record.drillId,
    snapshotId: record.snapshotId,
    time: parseTime(record.time, 'drill time'),
    passed: record.passed,
    rtoMs: record.rtoMs,
    rpoMs: record.rpoMs,
    objectives: { rtoMs: record.objectives.rtoMs, rpoMs: record.objectives.rpoMs },
    figures: { ...(record.figures ?? {}) },
    problems: [...(record.problems ?? [])],
  };
}

export function keyDocFromRecord(record: KeyRecord): KeyDoc {
  const doc: KeyDoc = {
    _id: `${record.repoId}:${record.keyId}`,
    repoId: record.repoId,
    keyId: record.keyId,
    kind: record.kind,
    createdAt: parseTime(record.createdAt, 'key creation time'),
  };
  if (record.epoch !== undefined) doc.epoch = record.epoch;
  if (record.label !== undefined) doc.label = record.label;
  if (record.retiredAt !== undefined) doc.retiredAt = parseTime(record.retiredAt, 'key retirement time');
  return doc;
}

/** A repository location safe to store and show: no user info, no query string (SAS tokens, keys). */
export function redactLocation(location: string): string {
  try {
    const url = new URL(location);
    url.username = '';
    url.password = '';
    url.search = '';
    url.hash = '';
    return url.toString();
  } catch {
    return location; // a plain filesystem path
  }
}

export function snapshotSummaryFromDoc(doc: SnapshotDoc): SnapshotSummary {
  return {
    id: doc.snapshotId,
    time: doc.time.toISOString(),
    host: doc.host,
    paths: [...doc.paths],
    tags: [...doc.tags],
    ...(doc.parent !== undefined ? { parent: doc.parent } : {}),
    rootTree: doc.rootTree,
    keyEpoch: doc.keyEpoch,
    stats: { ...doc.stats },
  };
}

function parseTime(iso: string, what: string): Date {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) throw new InvalidInput(`${what} is not an ISO-8601 time: ${JSON.stringify(iso)}`);
  return date;
}

function round4(x: number): number {
  return Math.round(x * 10_000) / 10_000;
}
