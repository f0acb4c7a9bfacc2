/**
 * Backup activities, in three resumable steps the workflow orchestrates:
 * planBackup scans the sources and stores the plan in the repository (only
 * its id and counts come back), backupBatch uploads one batch and heartbeats
 * its cursor so a retry resumes where the last attempt stopped, and
 * commitBackup writes the index and the snapshot. All three run on the
 * queue of the host that has the files, as do the command-source, hook and
 * anomaly activities of activities/sources/.
 */
import { isAbsolute } from 'node:path';
import type { BackupPlan, BatchCursor, SnapshotSummary } from './engine/api';
import { runActivity } from './context';
import type { ResolvedDeps } from './deps';
import { InvalidInput } from './errors';
import { sample } from './limits';
import { sourceActivities } from './sources/activities';

export interface PlanBackupInput {
  readonly repo: string;
  readonly paths: readonly string[];
  readonly host: string;
  readonly tags?: readonly string[];
  readonly parent?: string;
  readonly excludes?: readonly string[];
  readonly canaries?: readonly string[];
  /** Recorded path -> where its content is on this host (command sources: the spool). */
  readonly readFrom?: Readonly<Record<string, string>>;
}

export interface BackupBatchInput {
  readonly repo: string;
  readonly planId: string;
  readonly batch: number;
}

/** A batch's result, bounded: counts plus a sample of the problem paths. */
export interface BatchOutcome {
  readonly batch: number;
  readonly filesDone: number;
  readonly bytesRead: number;
  readonly bytesUploaded: number;
  readonly chunksNew: number;
  readonly chunksDeduplicated: number;
  /** Files reused from the parent snapshot without reading. */
  readonly filesUnchanged: number;
  readonly unreadable: number;
  readonly unreadableSample: readonly { readonly path: string; readonly reason: string }[];
  readonly changedDuringRead: number;
  readonly changedSample: readonly string[];
  /** Files the attempt skipped because an earlier attempt had completed them. */
  readonly resumedFrom: number;
  readonly attempt: number;
}

export interface CommitBackupInput {
  readonly repo: string;
  readonly planId: string;
}

export function backupActivities(deps: ResolvedDeps) {
  return {
    // Command sources, hooks and the anomaly check belong to the backup job.
    ...sourceActivities(deps),
    planBackup: async (input: PlanBackupInput): Promise<BackupPlan> => {
      return runActivity(deps.metrics, async (frame) => {
        if (input.paths.length === 0) throw new InvalidInput('nothing to back up: give at least one path');
        const relative = input.paths.find((p) => !isAbsolute(p));
        if (relative !== undefined) throw new InvalidInput(`backup path '${relative}' is not absolute`, { hint: 'the CLI resolves paths; from the UI give absolute paths' });
        frame.phase('scan');
        return deps.repositories.use(input.repo, async (repository) =>
          repository.planBackup(
            {
              paths: input.paths,
              host: input.host,
              ...(input.tags === undefined ? {} : { tags: input.tags }),
              parent: input.parent ?? 'auto',
              ...(input.excludes === undefined ? {} : { excludes: input.excludes }),
              ...(input.canaries === undefined ? {} : { canaries: input.canaries }),
              ...(input.readFrom === undefined ? {} : { readFrom: input.readFrom }),
            },
            { signal: frame.signal, onProgress: (p) => frame.progress(p) },
          ),
        );
      });
    },

    backupBatch: async (input: BackupBatchInput): Promise<BatchOutcome> => {
      return runActivity<BatchCursor, BatchOutcome>(deps.metrics, async (frame) => {
        const previousCursor = frame.previous?.cursor;
        const resume = previousCursor !== undefined && previousCursor.batch === input.batch ? previousCursor : undefined;
        const result = await deps.repositories.use(input.repo, async (repository) =>
          repository.backupBatch(input.planId, input.batch, resume, {
            signal: frame.signal,
            onProgress: (p) => frame.progress(p),
            onCursor: (c) => frame.cursor(c),
          }),
        );
        deps.metrics.add('bytes_read', result.bytesRead);
        deps.metrics.add('bytes_uploaded', result.bytesUploaded);
        deps.metrics.add('chunks_new', result.chunksNew);
        deps.metrics.add('chunks_deduplicated', result.chunksDeduplicated);
        deps.metrics.add('files_backed_up', result.filesDone);
        return {
          batch: result.batch,
          filesDone: result.filesDone,
          bytesRead: result.bytesRead,
          bytesUploaded: result.bytesUploaded,
          chunksNew: result.chunksNew,
          chunksDeduplicated: result.chunksDeduplicated,
          filesUnchanged: result.filesUnchanged ?? 0,
          unreadable: result.unreadable.length,
          unreadableSample: sample(result.unreadable),
          changedDuringRead: result.changedDuringRead.length,
          changedSample: sample(result.changedDuringRead),
          resumedFrom: resume?.filesCompleted ?? 0,
          attempt: frame.attempt,
        };
      });
    },

    commitBackup: async (input: CommitBackupInput): Promise<SnapshotSummary> => {
      return runActivity(deps.metrics, async (frame) => {
        frame.phase('commit');
        return deps.repositories.use(input.repo, async (repository) => repository.commitBackup(input.planId));
      });
    },
  };
}
