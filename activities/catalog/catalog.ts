/**
 * The catalog: what operators query (snapshots, runs, drill reports, keys,
 * principals, grants, audit). The repository in storage stays the source of
 * truth; everything derived from it can be rebuilt (see rebuild.ts).
 *
 * Writes are single-document upserts keyed by natural ids, so a retried
 * activity never duplicates a record, and nothing needs a multi-document
 * transaction (FerretDB v1 has none).
 */
import { MongoClient } from 'mongodb';
import type { Collection, Db, Filter } from 'mongodb';
import type { SnapshotSummary } from '../engine/api';
import { InvalidInput } from '../errors';
import {
  COLLECTIONS,
  drillDocFromRecord,
  keyDocFromRecord,
  redactLocation,
  runDocFromRecord,
  snapshotDocFromSummary,
  snapshotDocId,
} from './documents';
import type {
  AuditDoc,
  DrillReportDoc,
  DrillReportRecord,
  GrantDoc,
  KeyDoc,
  KeyRecord,
  PrincipalDoc,
  RepositoryDoc,
  RunDoc,
  RunOutcome,
  RunRecord,
  SnapshotDoc,
} from './documents';
import { ensureIndexes } from './indexes';
import { guard, isDuplicateKey } from './mongo-errors';

export interface CatalogOptions {
  /** mongodb://host:port/<database>; the database defaults to `coffer`. */
  readonly url: string;
  /** Overrides the database named in the URL (tests use one per run). */
  readonly dbName?: string;
  /** How long to look for the server before failing (default 5 s). */
  readonly serverSelectionTimeoutMs?: number;
}

export interface SnapshotQuery {
  readonly host?: string;
  readonly tag?: string;
  readonly source?: string;
  /** Only snapshots taken before / at-or-after this time. */
  readonly before?: Date;
  readonly since?: Date;
  readonly limit?: number;
}

export interface RunQuery {
  readonly type?: string;
  readonly outcome?: RunOutcome;
  readonly before?: Date;
  readonly limit?: number;
}

export interface PrincipalInput {
  readonly id: string;
  readonly name: string;
  /** Ed25519 public key, base64 (32 bytes). */
  readonly publicKey: string;
  readonly createdAt?: Date;
}

export interface GrantInput {
  readonly principalId: string;
  readonly role: string;
  readonly scope: string;
  readonly grantedBy: string;
  readonly grantedAt?: Date;
  readonly expiresAt: Date | null;
}

export class Catalog {
  private constructor(
    private readonly client: MongoClient,
    readonly db: Db,
  ) {}

  static async open(options: CatalogOptions): Promise<Catalog> {
    const client = new MongoClient(options.url, {
      serverSelectionTimeoutMS: options.serverSelectionTimeoutMs ?? 5_000,
      appName: 'coffer',
    });
    await guard('connect', () => client.connect());
    const catalog = new Catalog(client, client.db(options.dbName));
    try {
      await guard('create indexes', () => ensureIndexes(catalog.db));
    } catch (err) {
      await client.close();
      throw err;
    }
    return catalog;
  }

  async close(): Promise<void> {
    await this.client.close();
  }

  get repositories(): Collection<RepositoryDoc> {
    return this.db.collection<RepositoryDoc>(COLLECTIONS.repositories);
  }
  get snapshots(): Collection<SnapshotDoc> {
    return this.db.collection<SnapshotDoc>(COLLECTIONS.snapshots);
  }
  get runs(): Collection<RunDoc> {
    return this.db.collection<RunDoc>(COLLECTIONS.runs);
  }
  get drillReports(): Collection<DrillReportDoc> {
    return this.db.collection<DrillReportDoc>(COLLECTIONS.drillReports);
  }
  get keys(): Collection<KeyDoc> {
    return this.db.collection<KeyDoc>(COLLECTIONS.keys);
  }
  get principals(): Collection<PrincipalDoc> {
    return this.db.collection<PrincipalDoc>(COLLECTIONS.principals);
  }
  get grants(): Collection<GrantDoc> {
    return this.db.collection<GrantDoc>(COLLECTIONS.grants);
  }
  get audit(): Collection<AuditDoc> {
    return this.db.collection<AuditDoc>(COLLECTIONS.audit);
  }

  // --- repositories -------------------------------------------------------

  async upsertRepository(repo: { readonly id: string; readonly location: string; readonly currentEpoch: number }): Promise<void> {
    const doc: RepositoryDoc = { _id: repo.id, location: redactLocation(repo.location), currentEpoch: repo.currentEpoch };
    await guard('record a repository', () => upsertById(this.repositories, doc));
  }

  async getRepository(id: string): Promise<RepositoryDoc | undefined> {
    return (await guard('read a repository', () => this.repositories.findOne({ _id: id }))) ?? undefined;
  }

  // --- snapshots ----------------------------------------------------------

  /** Upserts a snapshot; `created` is false when it was already recorded (a retry). */
  async recordSnapshot(repoId: string, summary: SnapshotSummary): Promise<{ created: boolean }> {
    const doc = snapshotDocFromSummary(repoId, summary);
    return { created: await guard('record a snapshot', () => upsertById(this.snapshots, doc)) };
  }

  /** Removes forgotten snapshots; idempotent. Returns how many were present. */
  async removeSnapshots(repoId: string, snapshotIds: readonly string[]): Promise<number> {
    if (snapshotIds.length === 0) return 0;
    const ids = snapshotIds.map((id) => snapshotDocId(repoId, id));
    const result = await guard('remove snapshots', () => this.snapshots.deleteMany({ _id: { $in: ids } }));
    return result.deletedCount;
  }

  async getSnapshot(repoId: string, snapshotId: string): Promise<SnapshotDoc | undefined> {
    return (await guard('read a snapshot', () => this.snapshots.findOne({ _id: snapshotDocId(repoId, snapshotId) }))) ?? undefined;
  }

  /** A repository's snapshots, newest first. */
  async listSnapshots(repoId: string, query: SnapshotQuery = {}): Promise<SnapshotDoc[]> {
    const filter: Filter<SnapshotDoc> = { repoId };
    if (query.host !== undefined) filter.host = query.host;
    if (query.tag !== undefined) filter.tags = query.tag;
    if (query.source !== undefined) filter.source = query.source;
    if (query.before !== undefined || query.since !== undefined) {
      filter.time = {
        ...(query.before !== undefined ? { $lt: query.before } : {}),
        ...(query.since !== undefined ? { $gte: query.since } : {}),
      };
    }
    return guard('list snapshots', () => {
      const cursor = this.snapshots.find(filter).sort({ time: -1, _id: 1 });
      if (query.limit !== undefined) cursor.limit(checkLimit(query.limit));
      return cursor.toArray();
    });
  }

  // --- runs ---------------------------------------------------------------

  /**
   * Records a run. A `running` record only creates the document if it is
   * absent, so a retried start never overwrites a final outcome; a final
   * record replaces whatever was there.
   */
  async recordRun(record: RunRecord): Promise<void> {
    const doc = runDocFromRecord(record);
    await guard('record a run', async () => {
      if (doc.outcome === 'running') {
        try {
          await this.runs.updateOne({ _id: doc._id }, { $setOnInsert: doc }, { upsert: true });
        } catch (err) {
          if (!isDuplicateKey(err)) throw err; // a concurrent writer created it: nothing to do
        }
      } else {
        await upsertById(this.runs, doc);
      }
    });
  }

  async listRuns(repoId: string, query: RunQuery = {}): Promise<RunDoc[]> {
    const filter: Filter<RunDoc> = { repoId };
    if (query.type !== undefined) filter.type = query.type;
    if (query.outcome !== undefined) filter.outcome = query.outcome;
    if (query.before !== undefined) filter.startedAt = { $lt: query.before };
    return guard('list runs', () => {
      const cursor = this.runs.find(filter).sort({ startedAt: -1, _id: 1 });
      if (query.limit !== undefined) cursor.limit(checkLimit(query.limit));
      return cursor.toArray();
    });
  }

  async latestSuccessfulBackup(repoId: string, source: string): Promise<RunDoc | undefined> {
    const doc = await guard('find the latest backup', () =>
      this.runs.findOne({ repoId, type: 'backup', outcome: 'succeeded', source }, { sort: { endedAt: -1, _id: 1 } }),
    );
    return doc ?? undefined;
  }

  /**
   * The latest successful backup of every source. FerretDB v1 lacks the
   * `$first`/`$max` group accumulators, so this is `distinct` plus one indexed
   * lookup per source (sources per repository are few).
   */
  async latestSuccessfulBackups(repoId: string): Promise<RunDoc[]> {
    const sources = await guard('list backup sources', () =>
      this.runs.distinct('source', { repoId, type: 'backup', outcome: 'succeeded' }),
    );
    const latest: RunDoc[] = [];
    for (const source of (sources as unknown[]).filter((s): s is string => typeof s === 'string').sort()) {
      const run = await this.latestSuccessfulBackup(repoId, source);
      if (run !== undefined) latest.push(run);
    }
    return latest;
  }

  // --- drill reports ------------------------------------------------------

  async recordDrillReport(record: DrillReportRecord): Promise<void> {
    const doc = drillDocFromRecord(record);
    await guard('record a drill report', () => upsertById(this.drillReports, doc));
  }

  async listDrillReports(repoId: string, query: { readonly before?: Date; readonly limit?: number } = {}): Promise<DrillReportDoc[]> {
    const filter: Filter<DrillReportDoc> = { repoId };
    if (query.before !== undefined) filter.time = { $lt: query.before };
    return guard('list drill reports', () => {
      const cursor = this.drillReports.find(filter).sort({ time: -1, _id: 1 });
      if (query.limit !== undefined) cursor.limit(checkLimit(query.limit));
      return cursor.toArray();
    });
  }

  // --- keys (metadata only) -------------------------------------------------

  async recordKey(record: KeyRecord): Promise<void> {
    const doc = keyDocFromRecord(record);
    await guard('record key metadata', () => upsertById(this.keys, doc));
  }

  /**
   * Records a data-key epoch: created when first seen (`createdAt`, else the
   * retirement time when the creation was never observed), retired when
   * `retiredAt` is given. Field updates, so a later retirement keeps the
   * creation time recorded earlier.
   */
  async recordEpoch(repoId: string, epoch: { readonly epoch: number; readonly createdAt?: string; readonly retiredAt?: string }): Promise<void> {
    const keyId = `epoch-${epoch.epoch}`;
    const createdAt = epoch.createdAt ?? epoch.retiredAt;
    if (createdAt === undefined) throw new InvalidInput(`epoch ${epoch.epoch}: a creation or retirement time is needed`);
    const doc = keyDocFromRecord({ repoId, keyId, kind: 'epoch', epoch: epoch.epoch, createdAt, ...(epoch.retiredAt === undefined ? {} : { retiredAt: epoch.retiredAt }) });
    const set: Partial<KeyDoc> = { repoId, keyId, kind: 'epoch', epoch: epoch.epoch };
    await guard('record a key epoch', async () => {
      try {
        await this.keys.updateOne({ _id: doc._id }, { $set: set, $setOnInsert: { createdAt: doc.createdAt } }, { upsert: true });
      } catch (err) {
        if (!isDuplicateKey(err)) throw err;
        await this.keys.updateOne({ _id: doc._id }, { $set: set });
      }
      // The first retirement stands: a later rotation re-listing old epochs does not move it.
      if (doc.retiredAt !== undefined) await this.keys.updateOne({ _id: doc._id, retiredAt: { $exists: false } }, { $set: { retiredAt: doc.retiredAt } });
    });
  }

  /** Marks access keys that are no longer in the repository as retired at `at`. */
  async retireMissingAccessKeys(repoId: string, presentKeyIds: readonly string[], at: Date): Promise<number> {
    const result = await guard('retire removed keys', () =>
      this.keys.updateMany(
        { repoId, kind: { $in: ['passphrase', 'x25519'] }, keyId: { $nin: [...presentKeyIds] }, retiredAt: { $exists: false } },
        { $set: { retiredAt: at } },
      ),
    );
    return result.modifiedCount;
  }

  async listKeys(repoId: string): Promise<KeyDoc[]> {
    return guard('list keys', () => this.keys.find({ repoId }).sort({ createdAt: 1, _id: 1 }).toArray());
  }

  // --- principals and grants ----------------------------------------------

  async putPrincipal(input: PrincipalInput): Promise<void> {
    if (Buffer.from(input.publicKey, 'base64').length !== 32) {
      throw new InvalidInput(`principal ${input.id}: the public key must be 32 bytes of base64 (Ed25519)`);
    }
    const doc: PrincipalDoc = {
      _id: input.id,
      name: input.name,
      publicKey: input.publicKey,
      createdAt: input.createdAt ?? new Date(),
      disabled: false,
    };
    await guard('record a principal', async () => {
      try {
        await this.principals.replaceOne({ _id: doc._id }, doc, { upsert: true });
      } catch (err) {
        if (isDuplicateKey(err)) throw new InvalidInput(`a principal named ${JSON.stringify(input.name)} already exists`, { cause: err });
        throw err;
      }
    });
  }

  async disablePrincipal(id: string): Promise<void> {
    await guard('disable a principal', () => this.principals.updateOne({ _id: id }, { $set: { disabled: true } }));
  }

  async getPrincipal(id: string): Promise<PrincipalDoc | undefined> {
    return (await guard('read a principal', () => this.principals.findOne({ _id: id }))) ?? undefined;
  }

  async listPrincipals(): Promise<PrincipalDoc[]> {
    return guard('list principals', () => this.principals.find({}).sort({ _id: 1 }).toArray());
  }

  /** Grants (or re-grants with a new expiry) a role on a scope; keyed by principal, role and scope. */
  async putGrant(input: GrantInput): Promise<GrantDoc> {
    const doc: GrantDoc = {
      _id: `${input.principalId}:${input.role}:${input.scope}`,
      principalId: input.principalId,
      role: input.role,
      scope: input.scope,
      grantedBy: input.grantedBy,
      grantedAt: input.grantedAt ?? new Date(),
      expiresAt: input.expiresAt,
    };
    await guard('record a grant', () => upsertById(this.grants, doc));
    return doc;
  }

  async revokeGrant(grantId: string): Promise<boolean> {
    const result = await guard('revoke a grant', () => this.grants.deleteOne({ _id: grantId }));
    return result.deletedCount === 1;
  }

  async listGrants(principalId: string): Promise<GrantDoc[]> {
    return guard('list grants', () => this.grants.find({ principalId }).sort({ _id: 1 }).toArray());
  }
}

/**
 * Replace-or-insert by `_id`; true when it inserted. Two concurrent upserts of
 * a new id can both try to insert; the loser gets a duplicate-key error and
 * simply replaces on its next attempt.
 */
export async function upsertById<D extends { _id: string }>(collection: Collection<D>, doc: D): Promise<boolean> {
  for (let attempt = 0; ; attempt += 1) {
    try {
      const result = await collection.replaceOne({ _id: doc._id } as Filter<D>, doc, { upsert: true });
      return result.upsertedCount === 1;
    } catch (err) {
      if (!isDuplicateKey(err) || attempt >= 3) throw err;
    }
  }
}

function checkLimit(limit: number): number {
  if (!Number.isInteger(limit) || limit < 1) throw new InvalidInput(`limit must be a positive integer, got ${limit}`);
  return limit;
}
