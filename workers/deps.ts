/**
 * Builds the activities' dependencies from the worker configuration: the
 * engine, storage opened with the worker's credentials, the passphrase
 * source, metrics, and the shared cache of open repositories.
 */
import { createEngine } from '../activities/engine';
import type { EngineOptions } from '../activities/engine';
import type { ActivityDeps } from '../activities/deps';
import type { CofferMetrics } from '../activities/metrics';
import { RepositoryCache } from '../activities/repositories';
import { createSecretSource } from '../activities/secrets';
import { openBackend } from '../activities/storage/url';
import type { WorkerConfig } from './config';

export interface WorkerDeps extends ActivityDeps {
  readonly repositories: RepositoryCache;
}

export function createWorkerDeps(
  config: Pick<WorkerConfig, 'secrets' | 'scratchDir' | 'storageEnv' | 'engine'>,
  metrics: CofferMetrics,
  engineOptions: EngineOptions = {},
): WorkerDeps {
  const engine = createEngine({ ...config.engine, ...engineOptions });
  const source = {
    engine,
    openBackend: async (url: string) => openBackend(url, {}, config.storageEnv),
    secrets: createSecretSource(config.secrets),
  };
  return { ...source, metrics, scratchDir: config.scratchDir, repositories: new RepositoryCache(source) };
}
