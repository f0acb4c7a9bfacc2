/**
 * Key rotation activities: start a new epoch (used at once for new data),
 * re-encrypt older packs in bounded, idempotent batches (the workflow loops,
 * so a killed worker loses at most one batch of work), then retire the old
 * epochs once a fresh open proves everything decrypts. The cached repository
 * is invalidated around each step that changes keys.
 */
import type { RotationStatus } from './engine/api';
import { runActivity } from './context';
import type { ResolvedDeps } from './deps';
import { InvalidInput } from './errors';

export interface RotationInput {
  readonly repo: string;
}

export interface RotateBatchInput {
  readonly repo: string;
  readonly maxPacks: number;
}

export function keyActivities(deps: ResolvedDeps) {
  return {
    beginKeyRotation: async (input: RotationInput): Promise<RotationStatus> => {
      return runActivity(deps.metrics, async (frame) => {
        frame.phase('begin');
        const status = await deps.repositories.use(input.repo, async (repository) => repository.beginRotation());
        return status;
      });
    },

    rotateKeyBatch: async (input: RotateBatchInput): Promise<RotationStatus> => {
      return runActivity(deps.metrics, async (frame) => {
        if (!Number.isInteger(input.maxPacks) || input.maxPacks < 1) throw new InvalidInput('maxPacks must be a positive integer');
        frame.phase('rotate');
        return deps.repositories.use(input.repo, async (repository) =>
          repository.rotateBatch(input.maxPacks, { signal: frame.signal, onProgress: (p) => frame.progress(p) }),
        );
      });
    },

    finishKeyRotation: async (input: RotationInput): Promise<RotationStatus> => {
      return runActivity(deps.metrics, async (frame) => {
        frame.phase('finish');
        // The engine re-opens from storage to prove the new epoch decrypts everything; drop our cached
        // handle afterwards so later activities see the retired keyring.
        const status = await deps.repositories.use(input.repo, async (repository) => repository.finishRotation());
        await deps.repositories.invalidate(input.repo);
        return status;
      });
    },
  };
}
