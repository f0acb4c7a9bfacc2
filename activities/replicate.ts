/**
 * Replication (3-2-1): copy snapshots, and only the chunks the destination
 * lacks, from a primary repository to a secondary one on another backend
 * (the engine's copySnapshots: packs, then index, then each snapshot; re-runs
 * copy nothing new; snapshots keep their ids). The destination can be
 * created as a replica that shares the source's chunk-id key, so chunks move
 * verbatim and later backups into either deduplicate against copied data.
 */
import type { CopyReport, InitOptions } from './engine/api';
import { runActivity } from './context';
import type { ResolvedDeps } from './deps';
import { isCofferError } from './errors';

export interface ReplicateSnapshotsInput {
  readonly source: string;
  readonly destination: string;
  readonly snapshotIds: readonly string[];
}

export interface InitReplicaInput {
  readonly source: string;
  readonly destination: string;
  readonly options?: InitOptions;
}

export interface InitReplicaOutput {
  /** false: a repository was already there and is used as it is. */
  readonly created: boolean;
  readonly repositoryId: string;
}

export function replicateActivities(deps: ResolvedDeps) {
  return {
    replicateSnapshots: async (input: ReplicateSnapshotsInput): Promise<CopyReport> => {
      return runActivity(deps.metrics, async (frame) => {
        frame.phase('copy');
        return deps.repositories.use(
          input.source,
          async (source) =>
            deps.repositories.use(
              input.destination,
              async (destination) => source.copySnapshots(destination, input.snapshotIds, { signal: frame.signal, onProgress: (p) => frame.progress(p) }),
              { fresh: true },
            ),
          { fresh: true },
        );
      });
    },

    initReplicaRepository: async (input: InitReplicaInput): Promise<InitReplicaOutput> => {
      return runActivity(deps.metrics, async () => {
        try {
          const replica = await deps.repositories.initReplica(input.source, input.destination, input.options);
          return { created: true, repositoryId: replica.id };
        } catch (err) {
          // Already there (an earlier attempt or run created it): replicate into it as it is.
          if (!(isCofferError(err) && err.code === 'COFFER-E208')) throw err;
          const id = await deps.repositories.use(input.destination, async (repository) => repository.id);
          return { created: false, repositoryId: id };
        }
      });
    },
  };
}
