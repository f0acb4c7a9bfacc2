/**
 * Repository-level activities: create a repository, list and resolve
 * snapshots. They run on the shared queue (no local files involved).
 */
import type { InitOptions, SnapshotSummary } from './engine/api';
import { runActivity } from './context';
import type { ResolvedDeps } from './deps';
import { InvalidInput } from './errors';

export interface InitRepositoryInput {
  readonly repo: string;
  readonly options?: InitOptions;
}

export interface InitRepositoryOutput {
  readonly repositoryId: string;
  readonly location: string;
  readonly keyEpoch: number;
}

export interface ResolveSnapshotInput {
  readonly repo: string;
  /** 'latest', an id or a unique id prefix; ignored when asOf is set. */
  readonly snapshot?: string;
  /** ISO-8601: the latest snapshot at or before this time. */
  readonly asOf?: string;
  readonly host?: string;
  readonly tags?: readonly string[];
}

/** What retention needs of each snapshot: small, so hundreds fit in one payload. */
export interface SnapshotEntry {
  readonly id: string;
  readonly time: string;
  readonly host: string;
  readonly paths: readonly string[];
  readonly tags: readonly string[];
}

export interface ListSnapshotsInput {
  readonly repo: string;
  readonly host?: string;
}

export function repositoryActivities(deps: ResolvedDeps) {
  return {
    initRepository: async (input: InitRepositoryInput): Promise<InitRepositoryOutput> => {
      return runActivity(deps.metrics, async () => {
        const repository = await deps.repositories.init(input.repo, input.options);
        return { repositoryId: repository.id, location: repository.location, keyEpoch: repository.currentEpoch };
      });
    },

    resolveSnapshot: async (input: ResolveSnapshotInput): Promise<SnapshotSummary> => {
      return runActivity(deps.metrics, async () => {
        let ref: string | { asOf: string };
        if (input.asOf !== undefined) {
          if (Number.isNaN(Date.parse(input.asOf))) throw new InvalidInput(`asOf '${input.asOf}' is not an ISO-8601 time`);
          ref = { asOf: new Date(input.asOf).toISOString() };
        } else {
          ref = input.snapshot ?? 'latest';
        }
        const filter = { ...(input.host === undefined ? {} : { host: input.host }), ...(input.tags === undefined ? {} : { tags: input.tags }) };
        return deps.repositories.use(input.repo, async (repository) => repository.resolveSnapshot(ref, filter));
      });
    },

    listSnapshotEntries: async (input: ListSnapshotsInput): Promise<SnapshotEntry[]> => {
      return runActivity(deps.metrics, async () => {
        const snapshots = await deps.repositories.use(input.repo, async (repository) => repository.listSnapshots());
        return snapshots
          .filter((s) => input.host === undefined || s.host === input.host)
          .map((s) => ({ id: s.id, time: s.time, host: s.host, paths: [...s.paths], tags: [...s.tags] }));
      });
    },
  };
}
