/**
 * Builds the activities' dependencies from the worker configuration: the
 * engine, storage opened with the worker's credentials, the passphrase
 * source, metrics, the shared cache of open repositories, and (optional)
 * the catalog and the notification targets.
 */
import { createEngine } from '../activities/engine';
import type { EngineOptions } from '../activities/engine';
import type { ActivityDeps } from '../activities/deps';
import { RepositoryDirectory } from '../activities/catalog-jobs';
import { CatalogProvider } from '../activities/catalog/provider';
import type { CofferMetrics } from '../activities/metrics';
import type { NotifyTarget } from '../activities/notify/targets';
import type { RoutedNotifyTarget } from '../activities/notify/routing';
import { RepositoryCache } from '../activities/repositories';
import { createSecretSource } from '../activities/secrets';
import { openBackend } from '../activities/storage/url';
import type { CatalogConfig, WorkerConfig } from './config';

export interface WorkerDeps extends ActivityDeps {
  readonly repositories: RepositoryCache;
  /** Undefined: no catalog configured (workflows report `catalog: 'off'`). */
  readonly catalog?: CatalogProvider;
  /** Repository id -> the URL it was opened from (for activities given only an id). */
  readonly directory: RepositoryDirectory;
  /** Resolved targets (they hold secrets: never log them). */
  readonly notifyTargets: readonly (NotifyTarget | RoutedNotifyTarget)[];
  /** Principal recorded for jobs that name none. */
  readonly defaultPrincipal: string;
  /** Closes what the deps opened (repositories, catalog connection). */
  close(): Promise<void>;
}

export interface WorkerDepsExtras {
  readonly catalog?: CatalogConfig;
  readonly notifyTargets?: readonly (NotifyTarget | RoutedNotifyTarget)[];
  readonly defaultPrincipal?: string;
}

export function createWorkerDeps(
  config: Pick<WorkerConfig, 'secrets' | 'scratchDir' | 'storageEnv' | 'engine'> & Partial<Pick<WorkerConfig, 'commands'>>,
  metrics: CofferMetrics,
  engineOptions: EngineOptions = {},
  extras: WorkerDepsExtras = {},
): WorkerDeps {
  const engine = createEngine({ ...config.engine, ...engineOptions });
  const source = {
    engine,
    openBackend: async (url: string) => openBackend(url, {}, config.storageEnv),
    secrets: createSecretSource(config.secrets),
  };
  const repositories = new RepositoryCache(source);
  const catalog = extras.catalog === undefined ? undefined : new CatalogProvider({ url: extras.catalog.url, ...(extras.catalog.dbName === undefined ? {} : { dbName: extras.catalog.dbName }) });
  return {
    ...source,
    metrics,
    scratchDir: config.scratchDir,
    ...(config.commands === undefined ? {} : { commands: config.commands }),
    repositories,
    ...(catalog === undefined ? {} : { catalog }),
    directory: new RepositoryDirectory(),
    notifyTargets: extras.notifyTargets ?? [],
    defaultPrincipal: extras.defaultPrincipal ?? 'system',
    async close() {
      await repositories.closeAll();
      await catalog?.close();
    },
  };
}
