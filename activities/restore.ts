/**
 * Restore activities. A restore never writes into the target directly: it
 * fills a staging directory next to the target (same filesystem, so the
 * final rename is atomic), compares it byte for byte with the snapshot, and
 * only then swaps it into place, putting the old target back if the swap
 * fails. Staging names derive from the workflow id, so a retried or resumed
 * attempt continues in the same directory (the engine skips files already
 * restored).
 */
import { createHash } from 'node:crypto';
import { chmod, lstat, mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, resolve, sep } from 'node:path';
import { activityInfo } from '@temporalio/activity';
import type { CompareResult, RestoreRequest, RestoreResult } from './engine/api';
import { runActivity } from './context';
import type { ResolvedDeps } from './deps';
import { InvalidInput } from './errors';
import { RestoreTargetNotEmpty, RestoreTargetUnusable } from './job-errors';
import { sample } from './limits';

export interface PrepareRestoreInput {
  /** Absolute path of the directory the snapshot is restored to. */
  readonly target: string;
  readonly overwrite?: boolean;
}

export interface RestorePaths {
  readonly target: string;
  readonly staging: string;
  /** Where an existing target is parked during the swap. */
  readonly previous: string;
  readonly targetExisted: boolean;
}

export interface RestoreSnapshotInput {
  readonly repo: string;
  readonly snapshotId: string;
  /** The directory written (a staging or scratch directory). */
  readonly into: string;
  readonly include?: readonly string[];
  readonly exclude?: readonly string[];
}

/** The engine request restore and compare share: the staged directory and the selection. */
function engineRequest(input: RestoreSnapshotInput): RestoreRequest {
  return {
    snapshot: input.snapshotId,
    target: input.into,
    ...(input.include === undefined ? {} : { include: input.include }),
    ...(input.exclude === undefined ? {} : { exclude: input.exclude }),
  };
}

export interface CompareOutcome {
  readonly matched: number;
  readonly differences: number;
  readonly differenceSample: CompareResult['differences'];
}

export interface SwapRestoreInput {
  readonly paths: RestorePaths;
}

export interface SwapRestoreOutput {
  readonly replacedExisting: boolean;
}

export interface DiscardInput {
  readonly path: string;
}

const STAGING_MARK = '.coffer-staging-';
const PREVIOUS_MARK = '.coffer-previous-';

export function jobToken(workflowId: string): string {
  return createHash('sha256').update(workflowId).digest('hex').slice(0, 12);
}

export function restorePaths(target: string, workflowId: string): Omit<RestorePaths, 'targetExisted'> {
  const token = jobToken(workflowId);
  const parent = dirname(target);
  const name = basename(target);
  return { target, staging: join(parent, `.${name}${STAGING_MARK}${token}`), previous: join(parent, `.${name}${PREVIOUS_MARK}${token}`) };
}

/** The id of the workflow running this activity (standalone activities have none). */
function currentWorkflowId(): string {
  const id = activityInfo().workflowExecution?.workflowId;
  if (id === undefined) throw new InvalidInput('restore activities must run inside a workflow');
  return id;
}

type Kind = 'absent' | 'dir' | 'symlink' | 'other';

async function kindOf(path: string): Promise<Kind> {
  try {
    const stats = await lstat(path);
    if (stats.isSymbolicLink()) return 'symlink';
    return stats.isDirectory() ? 'dir' : 'other';
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'absent';
    throw fsFailure(`cannot inspect ${path}`, err);
  }
}

function fsFailure(message: string, err: unknown): Error {
  const code = (err as NodeJS.ErrnoException).code;
  // Permission and type problems need the user; other I/O errors may pass (retried by Temporal).
  if (code === 'EACCES' || code === 'EPERM' || code === 'ENOTDIR' || code === 'EROFS' || code === 'EXDEV' || code === 'EBUSY') {
    return new RestoreTargetUnusable(`${message}: ${code}`, { cause: err });
  }
  return err instanceof Error ? err : new Error(message);
}

export function restoreActivities(deps: ResolvedDeps) {
  return {
    prepareRestore: async (input: PrepareRestoreInput): Promise<RestorePaths> => {
      return runActivity(deps.metrics, async () => {
        if (!isAbsolute(input.target)) {
          throw new InvalidInput(`restore target '${input.target}' is not absolute`, { hint: 'the CLI resolves paths; from the UI give an absolute path' });
        }
        const target = resolve(input.target);
        if (dirname(target) === target) throw new InvalidInput('refusing to restore over the filesystem root');
        const paths = restorePaths(target, currentWorkflowId());
        const kind = await kindOf(target);
        if (kind === 'symlink' || kind === 'other') {
          throw new RestoreTargetUnusable(`restore target ${target} exists and is not a directory`);
        }
        if (kind === 'dir' && input.overwrite !== true) {
          const entries = await readdir(target).catch((err: unknown) => {
            throw fsFailure(`cannot list ${target}`, err);
          });
          if (entries.length > 0) throw new RestoreTargetNotEmpty(`restore target ${target} is not empty`);
        }
        try {
          await mkdir(dirname(target), { recursive: true });
          await mkdir(paths.staging, { recursive: true, mode: 0o700 });
        } catch (err) {
          throw fsFailure(`cannot create the staging directory next to ${target}`, err);
        }
        return { ...paths, targetExisted: kind === 'dir' };
      });
    },

    restoreSnapshot: async (input: RestoreSnapshotInput): Promise<RestoreResult> => {
      return runActivity(deps.metrics, async (frame) => {
        frame.phase('restore');
        const result = await deps.repositories.use(input.repo, async (repository) =>
          repository.restore(
            engineRequest(input),
            { signal: frame.signal, onProgress: (p) => frame.progress(p) },
          ),
          { fresh: true },
        );
        deps.metrics.add('files_restored', result.files);
        deps.metrics.add('bytes_restored', result.bytes);
        return result;
      });
    },

    compareRestore: async (input: RestoreSnapshotInput): Promise<CompareOutcome> => {
      return runActivity(deps.metrics, async (frame) => {
        frame.phase('compare');
        const result = await deps.repositories.use(input.repo, async (repository) =>
          repository.compare(
            engineRequest(input),
            { signal: frame.signal, onProgress: (p) => frame.progress(p) },
          ),
          { fresh: true },
        );
        return { matched: result.matched, differences: result.differences.length, differenceSample: sample(result.differences) };
      });
    },

    /** Moves the verified staging tree into place; idempotent, rolls back on failure. */
    swapRestore: async (input: SwapRestoreInput): Promise<SwapRestoreOutput> => {
      return runActivity(deps.metrics, async () => {
        const { target, staging, previous } = input.paths;
        const [stagingKind, targetKind, previousKind] = await Promise.all([kindOf(staging), kindOf(target), kindOf(previous)]);
        let parked = previousKind === 'dir';
        if (stagingKind === 'dir') {
          // Staging was private (0700) while it filled; the target gets the old target's mode or a normal one.
          const mode = targetKind === 'dir' ? (await stat(target)).mode & 0o7777 : 0o777 & ~process.umask();
          await chmod(staging, mode).catch((err: unknown) => {
            throw fsFailure(`cannot set the mode of ${staging}`, err);
          });
          if (targetKind !== 'absent') {
            if (parked) throw new RestoreTargetUnusable(`both ${target} and ${previous} exist: another process changed the target during the restore`);
            try {
              await rename(target, previous);
            } catch (err) {
              throw fsFailure(`cannot move the existing ${target} aside`, err);
            }
            parked = true;
          }
          try {
            await rename(staging, target);
          } catch (err) {
            if (parked) await rename(previous, target).catch(() => undefined);
            throw fsFailure(`cannot move the restored tree into ${target}`, err);
          }
        } else if (targetKind === 'absent') {
          if (parked) await rename(previous, target).catch(() => undefined);
          throw new RestoreTargetUnusable(`staging directory ${staging} disappeared before the swap`);
        }
        // The target now holds the restored tree (this call or an earlier attempt moved it).
        if (parked) await rm(previous, { recursive: true, force: true, maxRetries: 3 });
        return { replacedExisting: input.paths.targetExisted };
      });
    },

    /** Removes a staging or scratch directory Coffer created (refuses any other path). */
    discardRestore: async (input: DiscardInput): Promise<void> => {
      return runActivity(deps.metrics, async () => {
        const path = resolve(input.path);
        const name = basename(path);
        const scratch = resolve(deps.scratchDir) + sep;
        if (!name.includes(STAGING_MARK) && !path.startsWith(scratch)) {
          throw new InvalidInput(`refusing to delete ${path}: not a Coffer staging or scratch directory`);
        }
        await rm(path, { recursive: true, force: true, maxRetries: 3 });
      });
    },

  };
}
