/**
 * Everything a Coffer worker registers: the engine activities
 * (createActivities), the catalog steps of the workflows (recordJob and the
 * catalog commands, always registered: without a catalog they answer 'off' or
 * a clear error), notify (always: notifications never depend on the
 * catalog), and, when a catalog is configured, the generic catalog, audit and
 * access activities (createCatalogActivities).
 */
import { createActivities } from '../activities';
import { accessJobActivities } from '../activities/access/job-activities';
import { createCatalogActivities, notifyActivities } from '../activities/catalog-activities';
import { auditMacKeyResolver, catalogJobActivities } from '../activities/catalog-jobs';
import type { CatalogJobDeps } from '../activities/catalog-jobs';
import { InvalidInput } from '../activities/errors';
import type { WorkerDeps } from './deps';

export function createWorkerActivities(deps: WorkerDeps): object {
  const catalog = deps.catalog === undefined ? undefined : async () => (deps.catalog as NonNullable<WorkerDeps['catalog']>).get();
  const { catalog: _provider, ...activityDeps } = deps;
  const jobDeps: CatalogJobDeps = { ...activityDeps, ...(catalog === undefined ? {} : { catalog }) };
  const notify = { notifyTargets: deps.notifyTargets };
  return {
    ...createActivities(deps),
    ...catalogJobActivities(jobDeps),
    // The access gate of sensitive workflows (workflows/approval.ts): always registered, 'off' without a catalog.
    ...accessJobActivities({ repositories: deps.repositories, metrics: deps.metrics, ...(deps.catalog === undefined ? {} : { catalog: deps.catalog }) }),
    ...(catalog === undefined
      ? notifyActivities(notify)
      : createCatalogActivities({
          ...notify,
          catalog,
          auditMacKey: auditMacKeyResolver(jobDeps),
          openRepositoryView: async (repoId) => {
            const url = deps.directory.urlOf(repoId) ?? (await (await catalog()).getRepository(repoId))?.location;
            if (url === undefined) throw new InvalidInput(`repository ${repoId} is unknown to this worker: use the commands that take its URL`);
            // Opened and closed by this call alone: the cache's shared entry is not handed out.
            const backend = await deps.openBackend(url);
            try {
              const repository = await deps.engine.open(backend, await deps.secrets.unlockFor(url));
              return {
                id: repository.id,
                location: repository.location,
                currentEpoch: repository.currentEpoch,
                listSnapshots: () => repository.listSnapshots(),
                listDrillReports: () => repository.listDrillReports(),
                auditHead: () => repository.auditHead(),
                close: async () => {
                  await repository.close();
                  await backend.close();
                },
              };
            } catch (err) {
              await backend.close().catch(() => undefined);
              throw err;
            }
          },
        })),
  };
}
