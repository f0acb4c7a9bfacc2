/**
 * Opens a repository straight from storage with an Unlock (no Temporal, no
 * catalog): the break-glass path and the client-side listings share it.
 */
import { createEngine } from '../../activities/engine';
import type { Repository, Unlock } from '../../activities/engine/api';
import type { Backend } from '../../activities/storage/backend';
import { openBackend } from '../../activities/storage/url';
import type { Env } from '../../activities/storage/url';

export async function withBackend<T>(url: string, env: Env, fn: (backend: Backend) => Promise<T>): Promise<T> {
  const backend = await openBackend(url, {}, env);
  try {
    return await fn(backend);
  } finally {
    await backend.close().catch(() => undefined);
  }
}

export async function withOfflineRepository<T>(url: string, env: Env, unlock: Unlock, fn: (repository: Repository, backend: Backend) => Promise<T>): Promise<T> {
  return withBackend(url, env, async (backend) => {
    const repository = await createEngine().open(backend, unlock);
    try {
      return await fn(repository, backend);
    } finally {
      await repository.close();
    }
  });
}
