/**
 * The audit log's hash chain. Each entry carries the MAC of the one before
 * it (`prevMac`) and its own MAC, HMAC-SHA256 under the repository's audit
 * MAC key over the canonical JSON of every field but `mac`. Without the key
 * nobody can edit, insert or renumber an entry without breaking a MAC; with a
 * head checkpoint ({ seq, mac } kept in the repository) dropping the tail is
 * caught as well.
 *
 * Verification reports findings (each naming a sequence number) rather than
 * throwing: an auditor wants to see everything that is wrong at once.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { canonicalJson } from '../catalog/canonical-json';

export const AUDIT_FORMAT = 'coffer-audit-v1';
/** `prevMac` of the first entry. */
export const GENESIS_MAC = '0'.repeat(64);

export interface AuditEntryFields {
  readonly repoId: string;
  /** 1, 2, 3 … without gaps. */
  readonly seq: number;
  /** Caller-chosen idempotency key: a retried append finds its entry instead of adding one. */
  readonly eventId: string;
  /** ISO-8601. */
  readonly time: string;
  readonly principal: string;
  readonly action: string;
  readonly target: string;
  readonly outcome: string;
  /** '' when the operation did not run in a workflow. */
  readonly workflowId: string;
  readonly prevMac: string;
}

export interface AuditEntry extends AuditEntryFields {
  /** HMAC-SHA256, hex. */
  readonly mac: string;
}

/** The last entry's position and MAC: stored in the repository to detect a truncated or rolled-back log. */
export interface AuditHead {
  readonly seq: number;
  readonly mac: string;
}

export function auditMac(key: Uint8Array, fields: AuditEntryFields): string {
  const payload = canonicalJson({
    format: AUDIT_FORMAT,
    repoId: fields.repoId,
    seq: fields.seq,
    eventId: fields.eventId,
    time: fields.time,
    principal: fields.principal,
    action: fields.action,
    target: fields.target,
    outcome: fields.outcome,
    workflowId: fields.workflowId,
    prevMac: fields.prevMac,
  });
  return createHmac('sha256', key).update(payload, 'utf8').digest('hex');
}

export function sealAuditEntry(key: Uint8Array, fields: AuditEntryFields): AuditEntry {
  return { ...fields, mac: auditMac(key, fields) };
}

export type AuditProblemKind =
  | 'malformed' // fields missing or of the wrong type
  | 'bad-mac' // the entry was edited, forged or renumbered
  | 'broken-link' // prevMac is not the MAC of the entry before: something was replaced or inserted
  | 'missing' // a sequence number never appeared: deleted
  | 'out-of-order' // an entry appeared after a later one
  | 'duplicate' // a sequence number appeared twice: inserted
  | 'wrong-repository' // an entry of another repository's chain
  | 'truncated' // entries up to the head checkpoint are gone
  | 'head-mismatch'; // the entry at the checkpoint's seq is not the one checkpointed

export interface AuditProblem {
  readonly kind: AuditProblemKind;
  readonly seq: number;
  readonly detail: string;
}

export interface AuditVerifyReport {
  readonly ok: boolean;
  readonly entries: number;
  /** The last entry seen (the chain's head as stored). */
  readonly head?: AuditHead;
  readonly problems: readonly AuditProblem[];
}

export interface AuditVerifyOptions {
  /** Entries of other repositories are findings. */
  readonly repoId?: string;
  /** The head checkpoint recorded in the repository. */
  readonly head?: AuditHead;
}

/** Incremental verifier: push entries in stored order, then `finish()`. Memory grows only with gaps. */
export class AuditChainVerifier {
  private readonly problems: AuditProblem[] = [];
  private count = 0;
  private expectedSeq = 1;
  private previous: AuditEntry | undefined;
  private last: AuditEntry | undefined;
  /** Ranges [from, to] of sequence numbers skipped so far; filled in if they show up late. */
  private gaps: Array<[number, number]> = [];
  private macAtHeadSeq: string | undefined;

  constructor(
    private readonly key: Uint8Array,
    private readonly options: AuditVerifyOptions = {},
  ) {}

  push(entry: AuditEntry): void {
    this.count += 1;
    if (!isWellFormed(entry)) {
      const seq = typeof (entry as { seq?: unknown }).seq === 'number' ? entry.seq : -1;
      this.problems.push({ kind: 'malformed', seq, detail: 'entry has missing or mistyped fields' });
      return;
    }
    const { seq } = entry;
    if (this.options.repoId !== undefined && entry.repoId !== this.options.repoId) {
      this.problems.push({ kind: 'wrong-repository', seq, detail: `entry belongs to repository ${entry.repoId}` });
    }
    if (!macMatches(auditMac(this.key, entry), entry.mac)) {
      this.problems.push({ kind: 'bad-mac', seq, detail: 'MAC does not match the contents: the entry was edited, forged or renumbered' });
    }
    if (this.options.head !== undefined && seq === this.options.head.seq) this.macAtHeadSeq = entry.mac;

    if (seq < this.expectedSeq) {
      if (this.fillGap(seq)) {
        this.problems.push({ kind: 'out-of-order', seq, detail: 'entry appears after a later entry: the log was reordered' });
      } else {
        this.problems.push({ kind: 'duplicate', seq, detail: 'sequence number appears more than once: an entry was inserted' });
      }
      return;
    }
    if (seq > this.expectedSeq) {
      this.gaps.push([this.expectedSeq, seq - 1]);
    } else {
      const expectedPrev = this.previous === undefined ? (seq === 1 ? GENESIS_MAC : undefined) : this.previous.mac;
      if (expectedPrev !== undefined && entry.prevMac !== expectedPrev) {
        this.problems.push({ kind: 'broken-link', seq, detail: `prevMac does not match the MAC of entry ${seq - 1}: an entry before it was replaced or inserted` });
      }
    }
    this.previous = entry;
    this.last = entry;
    this.expectedSeq = seq + 1;
  }

  finish(): AuditVerifyReport {
    for (const [from, to] of this.gaps) {
      this.problems.push({ kind: 'missing', seq: from, detail: from === to ? `entry ${from} is missing: it was deleted` : `entries ${from}–${to} are missing: they were deleted` });
    }
    this.gaps = [];
    const head = this.options.head;
    const lastSeq = this.last?.seq ?? 0;
    if (head !== undefined) {
      if (lastSeq < head.seq) {
        this.problems.push({ kind: 'truncated', seq: lastSeq + 1, detail: `the log ends at ${lastSeq} but the repository's checkpoint is at ${head.seq}: entries ${lastSeq + 1}–${head.seq} were removed or the catalog was rolled back` });
      } else if (this.macAtHeadSeq === undefined || !macMatches(this.macAtHeadSeq, head.mac)) {
        this.problems.push({ kind: 'head-mismatch', seq: head.seq, detail: `entry ${head.seq} is not the one the repository checkpointed: the log was rewritten` });
      }
    }
    const problems = [...this.problems].sort((a, b) => a.seq - b.seq);
    return {
      ok: problems.length === 0,
      entries: this.count,
      ...(this.last !== undefined ? { head: { seq: this.last.seq, mac: this.last.mac } } : {}),
      problems,
    };
  }

  private fillGap(seq: number): boolean {
    const index = this.gaps.findIndex(([from, to]) => seq >= from && seq <= to);
    if (index < 0) return false;
    const [from, to] = this.gaps[index];
    const pieces: Array<[number, number]> = [];
    if (from < seq) pieces.push([from, seq - 1]);
    if (seq < to) pieces.push([seq + 1, to]);
    this.gaps.splice(index, 1, ...pieces);
    return true;
  }
}

export function verifyAuditChain(entries: Iterable<AuditEntry>, key: Uint8Array, options: AuditVerifyOptions = {}): AuditVerifyReport {
  const verifier = new AuditChainVerifier(key, options);
  for (const entry of entries) verifier.push(entry);
  return verifier.finish();
}

function macMatches(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
}

function isWellFormed(entry: AuditEntry): boolean {
  const e = entry as unknown as Record<string, unknown>;
  return (
    Number.isSafeInteger(e.seq) && (e.seq as number) >= 1 &&
    ['repoId', 'eventId', 'time', 'principal', 'action', 'target', 'outcome', 'workflowId', 'prevMac', 'mac'].every((k) => typeof e[k] === 'string')
  );
}
