/**
 * Replication (3-2-1): copy snapshots, and only the chunks they need, to a
 * secondary repository on another backend, then verify there. The copy needs
 * an engine primitive that reads packs of one repository and writes them,
 * re-encrypted, to another; until the engine offers `copySnapshots`, this
 * activity reports the gap instead of faking a copy.
 */
import type { Repository } from './engine/api';
import { runActivity } from './context';
import type { ResolvedDeps } from './deps';
import { EngineCapabilityMissing } from './job-errors';

export interface CopySnapshotsResult {
  readonly snapshotsCopied: number;
  readonly chunksCopied: number;
  readonly bytesCopied: number;
}

/** The optional engine primitive replication needs. */
interface CopyCapable {
  copySnapshots(
    destination: Repository,
    snapshotIds: readonly string[],
    options?: { readonly signal?: AbortSignal },
  ): Promise<CopySnapshotsResult>;
}

function canCopy(repository: Repository): repository is Repository & CopyCapable {
  return typeof (repository as Partial<CopyCapable>).copySnapshots === 'function';
}

export interface ReplicateSnapshotsInput {
  readonly source: string;
  readonly destination: string;
  readonly snapshotIds: readonly string[];
}

export function replicateActivities(deps: ResolvedDeps) {
  return {
    replicateSnapshots: async (input: ReplicateSnapshotsInput): Promise<CopySnapshotsResult> => {
      return runActivity(deps.metrics, async (frame) => {
        frame.phase('copy');
        return deps.repositories.use(input.source, async (source) => {
          if (!canCopy(source)) {
            throw new EngineCapabilityMissing('the engine has no copySnapshots primitive: replication cannot copy chunks between repositories yet');
          }
          return deps.repositories.use(input.destination, async (destination) =>
            source.copySnapshots(destination, input.snapshotIds, { signal: frame.signal }),
          );
        });
      });
    },
  };
}
