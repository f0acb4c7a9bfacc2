/**
 * Retention's storage step: forget every snapshot not in `keep`, then prune
 * unreferenced data, never deleting packs younger than the grace period (a
 * concurrent backup may still reference their chunks). The policy maths runs
 * in the workflow (workflows/retention-policy.ts); this only executes it.
 */
import type { PruneReport } from './engine/api';
import { runActivity } from './context';
import type { ResolvedDeps } from './deps';
import { InvalidInput } from './errors';

export interface PruneRepositoryInput {
  readonly repo: string;
  readonly keep: readonly string[];
  readonly graceMs: number;
  readonly dryRun: boolean;
}

export function retentionActivities(deps: ResolvedDeps) {
  return {
    pruneRepository: async (input: PruneRepositoryInput): Promise<PruneReport> => {
      return runActivity(deps.metrics, async (frame) => {
        if (input.keep.length === 0) {
          throw new InvalidInput('refusing to prune with no snapshot kept', { hint: 'a retention policy must keep at least one snapshot' });
        }
        if (!Number.isFinite(input.graceMs) || input.graceMs < 0) throw new InvalidInput('grace period must be a non-negative duration');
        frame.phase(input.dryRun ? 'prune-plan' : 'prune');
        return deps.repositories.use(input.repo, async (repository) =>
          repository.prune(
            { keep: input.keep, graceMs: input.graceMs, dryRun: input.dryRun },
            { signal: frame.signal, onProgress: (p) => frame.progress(p) },
          ),
        );
      });
    },
  };
}
