/**
 * The one object workers register: every Coffer activity, closed over the
 * worker's dependencies (engine, storage, secrets, metrics). Names are
 * verb-first and unique across the worker.
 */
import { backupActivities } from './backup';
import type { ActivityDeps, ResolvedDeps } from './deps';
import { drillActivities } from './drill';
import { keyActivities } from './keys';
import { keyAdminActivities } from './key-admin';
import { replicateActivities } from './replicate';
import { reportInputActivities } from './report-inputs';
import { RepositoryCache } from './repositories';
import { repositoryActivities } from './repository';
import { restoreActivities } from './restore';
import { retentionActivities } from './retention';
import { verifyActivities } from './verify';

export type { ActivityDeps } from './deps';

export function createActivities(deps: ActivityDeps) {
  const resolved: ResolvedDeps = { ...deps, repositories: deps.repositories ?? new RepositoryCache(deps) };
  return {
    ...repositoryActivities(resolved),
    ...backupActivities(resolved),
    ...restoreActivities(resolved),
    ...drillActivities(resolved),
    ...verifyActivities(resolved),
    ...retentionActivities(resolved),
    ...keyActivities(resolved),
    ...keyAdminActivities(resolved),
    ...replicateActivities(resolved),
    ...reportInputActivities(resolved),
  };
}

export type Activities = ReturnType<typeof createActivities>;
