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
  return (await readLocksSettled(backend, keyring, repoId)).locks;
}

/**
 * Lists and loads the live locks. A renewal writes its new lock before it
 * removes the old one, so a lock that was listed but is gone when loaded may
 * have a successor the listing missed: list again until a pass sees no lock
 * vanish. `settled` is false when locks kept vanishing on every pass.
 */
async function readLocksSettled(backend: Backend, keyring: Keyring, repoId: string): Promise<{ locks: { id: string; record: LockRecord }[]; settled: boolean }> {
  const maxPasses = 5;
  let locks: { id: string; record: LockRecord }[] = [];
  for (let pass = 0; pass < maxPasses; pass++) {
    locks = [];
    let vanished = false;
    // Finish the listing before loading anything: a listing still open while
    // a renewal adds the new lock and removes the old may miss both.
    const names: string[] = [];
    for await (const info of backend.list(Names.locksPrefix)) names.push(info.name);
    for (const name of names) {
      const id = lastSegment(name);
      try {
        const bytes = await backend.load(name);
        const { value } = openJson(keyring, { repoId, type: ObjectType.lock, objectId: id, name: name }, bytes);
        const r = value as LockRecord;
        if ((r.kind === 'shared' || r.kind === 'exclusive') && typeof r.expiresMs === 'number') locks.push({ id, record: r });
      } catch (err) {
        if (err instanceof NotFound) vanished = true;
        // Otherwise unreadable (forged, or sealed with a retired epoch): not a live lock we can honour.
      }
    }
    if (!vanished) return { locks, settled: true };
  }
  return { locks, settled: false };
}

async function findConflict(backend: Backend, keyring: Keyring, repoId: string, kind: LockKind, ownId: string): Promise<LockRecord | undefined> {
  const now = Date.now();
  const { locks, settled } = await readLocksSettled(backend, keyring, repoId);
  if (!settled) {
    // Locks kept being replaced while we looked: someone is active. Refusing is
    // safe (RepoLocked is retryable); guessing could let prune run beside a backup.
    const unsettled: LockRecord = { kind: 'shared', operation: 'a lock being renewed', host: 'unknown', pid: 0, created: new Date(now).toISOString(), expiresMs: now };
    return unsettled;
  }
  for (const { id, record } of locks) {
    if (id === ownId) continue;
    if (record.expiresMs < now) {
      await backend.remove(Names.lock(id)).catch(() => undefined);
      continue;
    }
    if (kind === 'exclusive' || record.kind === 'exclusive') return record;
  }
  return undefined;
}
