/**
 * Open repositories, cached per URL for the life of the worker: opening one
 * runs Argon2 (about a second and 256 MiB), far too slow to repeat for every
 * batch. Entries are reference-counted so an expired or broken entry is
 * closed only when the last activity using it is done, and dropped after a
 * maximum age so a long-lived worker picks up changes other processes made
 * (new snapshots, indexes, keys).
 */
import type { InitOptions, Engine, Repository } from './engine/api';
import type { Backend } from './storage/backend';
import { normalizeRepositoryUrl } from './secrets';
import type { SecretSource } from './secrets';

export type OpenBackend = (repositoryUrl: string) => Promise<Backend>;

export interface RepositorySource {
  readonly engine: Engine;
  readonly openBackend: OpenBackend;
  readonly secrets: SecretSource;
}

interface Opened {
  readonly repository: Repository;
  readonly backend: Backend;
}

interface Entry {
  readonly opened: Promise<Opened>;
  readonly openedAt: number;
  users: number;
  stale: boolean;
}

export class RepositoryCache {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly source: RepositorySource,
    private readonly maxAgeMs: number = 10 * 60 * 1000,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Runs `fn` with the open repository at `url`, opening it on first use.
   * `fresh`: the operation reads what other processes may have written since
   * the repository was opened (restore, compare, verify), so the in-memory
   * index is brought up to date first.
   */
  async use<T>(url: string, fn: (repository: Repository) => Promise<T>, options: { readonly fresh?: boolean } = {}): Promise<T> {
    const key = normalizeRepositoryUrl(url);
    const entry = this.acquire(key);
    try {
      const { repository } = await entry.opened;
      if (options.fresh === true) await repository.refresh();
      return await fn(repository);
    } finally {
      await this.release(key, entry);
    }
  }

  /** Creates a repository at `url` and keeps it open for the next activities. */
  async init(url: string, options: InitOptions | undefined): Promise<Repository> {
    const key = normalizeRepositoryUrl(url);
    const unlock = await this.source.secrets.unlockFor(key);
    const backend = await this.source.openBackend(key);
    let repository: Repository;
    try {
      repository = await this.source.engine.init(backend, unlock, options);
    } catch (err) {
      await backend.close().catch(() => undefined);
      throw err;
    }
    await this.invalidate(key);
    this.entries.set(key, { opened: Promise.resolve({ repository, backend }), openedAt: this.now(), users: 0, stale: false });
    return repository;
  }

  /** Creates a replica of the repository at `sourceUrl` at `destinationUrl` (shared chunk-id key) and keeps it open. */
  async initReplica(sourceUrl: string, destinationUrl: string, options: InitOptions | undefined): Promise<Repository> {
    const key = normalizeRepositoryUrl(destinationUrl);
    return this.use(sourceUrl, async (source) => {
      const unlock = await this.source.secrets.unlockFor(key);
      const backend = await this.source.openBackend(key);
      let replica: Repository;
      try {
        replica = await source.initReplica(backend, unlock, options);
      } catch (err) {
        await backend.close().catch(() => undefined);
        throw err;
      }
      await this.invalidate(key);
      this.entries.set(key, { opened: Promise.resolve({ repository: replica, backend }), openedAt: this.now(), users: 0, stale: false });
      return replica;
    });
  }

  /** Drops the cached entry (closed once unused), e.g. after keys changed. */
  async invalidate(url: string): Promise<void> {
    const key = normalizeRepositoryUrl(url);
    const entry = this.entries.get(key);
    if (entry === undefined) return;
    this.entries.delete(key);
    entry.stale = true;
    if (entry.users === 0) await closeQuietly(entry);
  }

  async closeAll(): Promise<void> {
    const entries = [...this.entries.values()];
    this.entries.clear();
    await Promise.all(entries.map(async (entry) => closeQuietly(entry)));
  }

  private acquire(key: string): Entry {
    let entry = this.entries.get(key);
    if (entry !== undefined && this.now() - entry.openedAt > this.maxAgeMs) {
      this.entries.delete(key);
      entry.stale = true;
      if (entry.users === 0) void closeQuietly(entry);
      entry = undefined;
    }
    if (entry === undefined) {
      const created: Entry = { opened: this.open(key), openedAt: this.now(), users: 0, stale: false };
      // A failed open is not cached: the next activity tries again (e.g. after the passphrase file was fixed).
      created.opened.catch(() => {
        if (this.entries.get(key) === created) this.entries.delete(key);
      });
      this.entries.set(key, created);
      entry = created;
    }
    entry.users += 1;
    return entry;
  }

  private async release(_key: string, entry: Entry): Promise<void> {
    entry.users -= 1;
    if (entry.stale && entry.users === 0) await closeQuietly(entry);
  }

  private async open(key: string): Promise<Opened> {
    const unlock = await this.source.secrets.unlockFor(key);
    const backend = await this.source.openBackend(key);
    try {
      return { repository: await this.source.engine.open(backend, unlock), backend };
    } catch (err) {
      await backend.close().catch(() => undefined);
      throw err;
    }
  }
}

async function closeQuietly(entry: Entry): Promise<void> {
  let opened: Opened;
  try {
    opened = await entry.opened;
  } catch {
    return; // opening failed: nothing to close
  }
  // Repository.close() releases the engine's state; the backend's connections are ours to close.
  await opened.repository.close().catch(() => undefined);
  await opened.backend.close().catch(() => undefined);
}
