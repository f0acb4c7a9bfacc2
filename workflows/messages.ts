/**
 * Queries every Coffer workflow answers. `progress` is cheap and safe to poll
 * (the CLI does, twice a second, for its live progress line).
 */
import { defineQuery } from '@temporalio/workflow';

export interface JobProgress {
  /** Workflow kind, e.g. 'backup'. */
  readonly job: string;
  /** Current step, e.g. 'scan', 'upload', 'commit', 'restore', 'compare', 'swap', 'done'. */
  readonly phase: string;
  readonly filesDone?: number;
  readonly filesTotal?: number;
  readonly bytesDone?: number;
  readonly bytesTotal?: number;
  readonly bytesUploaded?: number;
  readonly batchesDone?: number;
  readonly batchesTotal?: number;
  /** 1 for the first run, +1 at each continue-as-new. */
  readonly run?: number;
  readonly snapshotId?: string;
}

export const progressQuery = defineQuery<JobProgress>('progress');
