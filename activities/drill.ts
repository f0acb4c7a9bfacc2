/**
 * DR drill activities: a scratch directory on the drill host (removed again
 * by discardRestore), and the drill report stored in the repository itself
 * (idempotent per drill id), so the proof travels with the backups.
 */
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { activityInfo } from '@temporalio/activity';
import type { DrillReportInput } from './engine/api';
import { runActivity } from './context';
import type { ResolvedDeps } from './deps';
import { InvalidInput } from './errors';
import { jobToken } from './restore';

export interface RecordDrillReportInput {
  readonly repo: string;
  readonly report: DrillReportInput;
}

export function drillActivities(deps: ResolvedDeps) {
  return {
    /** A fresh scratch directory for a drill, unique per workflow, on this host. */
    prepareScratch: async (): Promise<{ path: string }> => {
      return runActivity(deps.metrics, async () => {
        const workflowId = activityInfo().workflowExecution?.workflowId;
        if (workflowId === undefined) throw new InvalidInput('prepareScratch must run inside a workflow');
        const path = join(resolve(deps.scratchDir), `drill-${jobToken(workflowId)}`);
        await mkdir(path, { recursive: true, mode: 0o700 });
        return { path };
      });
    },

    /** Stores the drill report in the repository; returns the stored object's id. */
    recordDrillReport: async (input: RecordDrillReportInput): Promise<{ objectId: string }> => {
      return runActivity(deps.metrics, async () => {
        const objectId = await deps.repositories.use(input.repo, async (repository) => repository.saveDrillReport(input.report));
        return { objectId };
      });
    },
  };
}
