/**
 * The audit log of one repository, stored in the catalog's `audit`
 * collection. Appends are safe without transactions: the next sequence number
 * is claimed by inserting `_id = <repoId>:<seq>` under a unique (repoId, seq)
 * index, and a writer that loses the race re-reads the head and tries again.
 * A unique (repoId, eventId) index makes a retried append return the entry it
 * already wrote.
 */
import type { Collection } from 'mongodb';
import { InvalidInput } from '../errors';
import { randomId } from '../crypto/random';
import type { AuditDoc } from '../catalog/documents';
import { CatalogConflict } from '../catalog/errors';
import { guard, isDuplicateKey, toCatalogError } from '../catalog/mongo-errors';
import { AuditChainVerifier, GENESIS_MAC, sealAuditEntry } from './chain';
import type { AuditEntry, AuditHead, AuditVerifyReport } from './chain';

export interface AuditEvent {
  /** Idempotency key, e.g. `<workflowId>/<step>`; random when absent (then a retry appends twice). */
  readonly eventId?: string;
  /** ISO-8601; defaults to now. */
  readonly time?: string;
  readonly principal: string;
  readonly action: string;
  readonly target: string;
  readonly outcome: string;
  readonly workflowId?: string;
}

export interface AuditListQuery {
  readonly fromSeq?: number;
  readonly limit?: number;
  readonly principal?: string;
  readonly action?: string;
  readonly workflowId?: string;
}

const MAX_APPEND_ATTEMPTS = 32;

export class AuditLog {
  constructor(
    private readonly collection: Collection<AuditDoc>,
    readonly repoId: string,
    /** The repository keyring's audit MAC key; needed to append and verify, not to read. */
    private readonly macKey?: Uint8Array,
  ) {}

  async append(event: AuditEvent): Promise<AuditEntry> {
    const key = this.requireKey('append to');
    const eventId = event.eventId ?? randomId();
    const time = event.time ?? new Date().toISOString();
    for (let attempt = 0; attempt < MAX_APPEND_ATTEMPTS; attempt += 1) {
      const existing = await guard('read the audit log', () => this.collection.findOne({ repoId: this.repoId, eventId }));
      if (existing !== null) return entryFromDoc(existing);
      const head = await this.head();
      const entry = sealAuditEntry(key, {
        repoId: this.repoId,
        seq: (head?.seq ?? 0) + 1,
        eventId,
        time,
        principal: event.principal,
        action: event.action,
        target: event.target,
        outcome: event.outcome,
        workflowId: event.workflowId ?? '',
        prevMac: head?.mac ?? GENESIS_MAC,
      });
      try {
        await this.collection.insertOne({ _id: `${this.repoId}:${entry.seq}`, ...entry });
        return entry;
      } catch (err) {
        if (!isDuplicateKey(err)) throw toCatalogError(err, 'append to the audit log');
        // Another writer took this seq (or this eventId): back off a little, re-read, retry.
        await sleep(Math.floor(Math.random() * Math.min(200, 5 * 2 ** attempt)));
      }
    }
    throw new CatalogConflict(`could not append to the audit log of ${this.repoId} after ${MAX_APPEND_ATTEMPTS} attempts`);
  }

  /** The last entry's { seq, mac }, or undefined for an empty log. */
  async head(): Promise<AuditHead | undefined> {
    const doc = await guard('read the audit head', () =>
      this.collection.findOne({ repoId: this.repoId }, { sort: { seq: -1 }, projection: { seq: 1, mac: 1 } }),
    );
    return doc === null ? undefined : { seq: doc.seq, mac: doc.mac };
  }

  async list(query: AuditListQuery = {}): Promise<AuditEntry[]> {
    const filter: Record<string, unknown> = { repoId: this.repoId };
    if (query.fromSeq !== undefined) filter.seq = { $gte: query.fromSeq };
    if (query.principal !== undefined) filter.principal = query.principal;
    if (query.action !== undefined) filter.action = query.action;
    if (query.workflowId !== undefined) filter.workflowId = query.workflowId;
    const docs = await guard('list the audit log', () => {
      const cursor = this.collection.find(filter).sort({ seq: 1 });
      if (query.limit !== undefined) {
        if (!Number.isInteger(query.limit) || query.limit < 1) throw new InvalidInput(`limit must be a positive integer, got ${query.limit}`);
        cursor.limit(query.limit);
      }
      return cursor.toArray();
    });
    return docs.map(entryFromDoc);
  }

  /** Every entry in stored (seq) order, read in batches. */
  async *entries(): AsyncGenerator<AuditEntry> {
    const cursor = this.collection.find({ repoId: this.repoId }).sort({ seq: 1 }).batchSize(1000);
    try {
      while (true) {
        const doc = await guard('read the audit log', () => cursor.next());
        if (doc === null) return;
        yield entryFromDoc(doc);
      }
    } finally {
      await cursor.close();
    }
  }

  /** Checks the whole stored chain; pass the repository's head checkpoint to catch a truncated tail. */
  async verify(options: { readonly head?: AuditHead } = {}): Promise<AuditVerifyReport> {
    const verifier = new AuditChainVerifier(this.requireKey('verify'), { repoId: this.repoId, ...options });
    for await (const entry of this.entries()) verifier.push(entry);
    return verifier.finish();
  }

  /** Writes every entry as one JSON line; returns how many. */
  async exportJsonLines(write: (line: string) => void | Promise<void>): Promise<number> {
    let count = 0;
    for await (const entry of this.entries()) {
      await write(`${auditEntryJsonLine(entry)}\n`);
      count += 1;
    }
    return count;
  }

  private requireKey(what: string): Uint8Array {
    if (this.macKey === undefined) throw new InvalidInput(`the audit MAC key is needed to ${what} the audit log`);
    return this.macKey;
  }
}

export function auditEntryJsonLine(entry: AuditEntry): string {
  return JSON.stringify({
    seq: entry.seq,
    time: entry.time,
    principal: entry.principal,
    action: entry.action,
    target: entry.target,
    outcome: entry.outcome,
    workflowId: entry.workflowId,
    repoId: entry.repoId,
    eventId: entry.eventId,
    prevMac: entry.prevMac,
    mac: entry.mac,
  });
}

/** Parses an export (`coffer audit export`) back into entries, for offline verification. */
export function parseAuditJsonLines(text: string): AuditEntry[] {
  const entries: AuditEntry[] = [];
  text.split('\n').forEach((line, index) => {
    if (line.trim() === '') return;
    try {
      entries.push(JSON.parse(line) as AuditEntry);
    } catch (err) {
      throw new InvalidInput(`audit export line ${index + 1} is not JSON`, { cause: err });
    }
  });
  return entries;
}

function entryFromDoc(doc: AuditDoc): AuditEntry {
  return {
    repoId: doc.repoId,
    seq: doc.seq,
    eventId: doc.eventId,
    time: doc.time,
    principal: doc.principal,
    action: doc.action,
    target: doc.target,
    outcome: doc.outcome,
    workflowId: doc.workflowId,
    prevMac: doc.prevMac,
    mac: doc.mac,
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
