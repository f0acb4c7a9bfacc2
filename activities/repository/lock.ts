/**
 * Repository locks (`locks/<random id>`, envelope type 'lock'). A lock is a
 * lease: it names its holder and an expiry time and is renewed by writing a
 * fresh lock object before removing the old one (objects are never
 * overwritten). Shared locks (backup, verify, rotation batches) coexist;
 * an exclusive lock (prune, rotation start/finish) excludes every other
 * live lock. A lock past its expiry is stale and ignored (and removed by the
 * next acquirer). Acquisition writes first, then looks: two racing
 * exclusive acquirers both see each other and both back off (retryable).
 */
import { hostname } from 'node:os';
import { randomId } from '../crypto/random';
import type { Backend } from '../storage/backend';
import { NotFound } from '../storage/errors';
import type { Keyring } from '../crypto/keyring';
import { openJson, sealJson } from './envelope';
import { lastSegment, Names, ObjectType } from './format';
import { RepoLocked } from './errors';

export type LockKind = 'shared' | 'exclusive';

export interface LockRecord {
  readonly kind: LockKind;
  readonly operation: string;
  readonly host: string;
  readonly pid: number;
  readonly created: string;
  readonly expiresMs: number;
}

export interface LockOptions {
  /** Lease length; the holder renews it every third of this. */
  readonly leaseMs: number;
}

export const DEFAULT_LEASE_MS = 120_000;

export class RepoLock {
  private id: string;
  private timer: NodeJS.Timeout | undefined;
  private released = false;
  private renewing: Promise<void> = Promise.resolve();

  private constructor(
    private readonly backend: Backend,
    private readonly keyring: Keyring,
    private readonly repoId: string,
    private readonly record: Omit<LockRecord, 'expiresMs'>,
    private readonly leaseMs: number,
    id: string,
  ) {
    this.id = id;
  }

  static async acquire(backend: Backend, keyring: Keyring, repoId: string, kind: LockKind, operation: string, options: LockOptions): Promise<RepoLock> {
    const base = { kind, operation, host: hostname(), pid: process.pid, created: new Date().toISOString() };
    const id = randomId();
    await writeLock(backend, keyring, repoId, id, { ...base, expiresMs: Date.now() + options.leaseMs });
    const lock = new RepoLock(backend, keyring, repoId, base, options.leaseMs, id);
    try {
      const conflict = await findConflict(backend, keyring, repoId, kind, id);
      if (conflict !== undefined) {
        throw new RepoLocked(
          `repository is locked (${conflict.kind}) by ${conflict.operation} on ${conflict.host} pid ${conflict.pid} until ${new Date(conflict.expiresMs).toISOString()}`,
        );
      }
    } catch (err) {
      await backend.remove(Names.lock(id)).catch(() => undefined);
      throw err;
    }
    lock.timer = setInterval(() => {
      lock.renewing = lock.renew().catch(() => undefined);
    }, Math.max(1000, Math.floor(options.leaseMs / 3)));
    lock.timer.unref();
    return lock;
  }

  private async renew(): Promise<void> {
    if (this.released) return;
    const next = randomId();
    await writeLock(this.backend, this.keyring, this.repoId, next, { ...this.record, expiresMs: Date.now() + this.leaseMs });
    const old = this.id;
    this.id = next;
    await this.backend.remove(Names.lock(old));
  }

  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    if (this.timer !== undefined) clearInterval(this.timer);
    await this.renewing;
    await this.backend.remove(Names.lock(this.id)).catch(() => undefined);
  }
}

async function writeLock(backend: Backend, keyring: Keyring, repoId: string, id: string, record: LockRecord): Promise<void> {
  await backend.save(Names.lock(id), sealJson(keyring, { repoId, type: ObjectType.lock, objectId: id, name: Names.lock(id) }, record));
}

export async function readLocks(backend: Backend, keyring: Keyring, repoId: string): Promise<{ id: string; record: LockRecord }[]> {
  const out: { id: string; record: LockRecord }[] = [];
  for await (const info of backend.list(Names.locksPrefix)) {
    const id = lastSegment(info.name);
    try {
      const bytes = await backend.load(info.name);
      const { value } = openJson(keyring, { repoId, type: ObjectType.lock, objectId: id, name: info.name }, bytes);
      const r = value as LockRecord;
      if ((r.kind === 'shared' || r.kind === 'exclusive') && typeof r.expiresMs === 'number') out.push({ id, record: r });
    } catch (err) {
      // Removed meanwhile, or unreadable (forged, or sealed with a retired epoch): not a live lock we can honour.
      if (!(err instanceof NotFound)) continue;
    }
  }
  return out;
}

async function findConflict(backend: Backend, keyring: Keyring, repoId: string, kind: LockKind, ownId: string): Promise<LockRecord | undefined> {
  const now = Date.now();
  for (const { id, record } of await readLocks(backend, keyring, repoId)) {
    if (id === ownId) continue;
    if (record.expiresMs < now) {
      await backend.remove(Names.lock(id)).catch(() => undefined);
      continue;
    }
    if (kind === 'exclusive' || record.kind === 'exclusive') return record;
  }
  return undefined;
}
