/**
 * The restore workflow's safety, without Temporal: restore into a private
 * staging directory next to the target (same filesystem, so the final rename
 * is atomic), compare it byte for byte with the snapshot, and only then swap
 * it into place, putting an old target back if the swap fails. The staging
 * name derives from the target and the snapshot, so rerunning the same
 * command after an interruption resumes (the engine skips files already
 * restored). The target is never touched before the comparison passed.
 */
import { createHash } from 'node:crypto';
import { chmod, lstat, mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import type { CompareResult, Progress, Repository, RestoreResult } from '../../activities/engine/api';
import { InvalidInput } from '../../activities/errors';
import { RestoreMismatch, RestoreTargetNotEmpty, RestoreTargetUnusable } from '../../activities/job-errors';

export interface StagedRestoreRequest {
  readonly snapshotId: string;
  readonly target: string;
  readonly include?: readonly string[];
  readonly exclude?: readonly string[];
  readonly overwrite?: boolean;
}

export type StagedPhase = 'restore' | 'compare' | 'swap';

export interface StagedRestoreOptions {
  readonly signal?: AbortSignal;
  readonly onPhase?: (phase: StagedPhase) => void;
  readonly onProgress?: (phase: StagedPhase, progress: Progress) => void;
}

export interface StagedRestoreResult extends RestoreResult {
  readonly target: string;
  readonly matched: number;
  readonly replacedExisting: boolean;
}

type Kind = 'absent' | 'dir' | 'symlink' | 'other';

async function kindOf(path: string): Promise<Kind> {
  try {
    const stats = await lstat(path);
    if (stats.isSymbolicLink()) return 'symlink';
    return stats.isDirectory() ? 'dir' : 'other';
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'absent';
    throw new RestoreTargetUnusable(`cannot inspect ${path}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`, { cause: err });
  }
}

export function offlineStagingPaths(target: string, snapshotId: string): { staging: string; previous: string } {
  const token = createHash('sha256').update(`offline-restore\0${target}\0${snapshotId}`).digest('hex').slice(0, 12);
  const parent = dirname(target);
  const name = basename(target);
  return { staging: join(parent, `.${name}.coffer-staging-${token}`), previous: join(parent, `.${name}.coffer-previous-${token}`) };
}

/** Checks the target before anything is read from storage (fails fast on a non-empty target). */
export async function checkRestoreTarget(rawTarget: string, overwrite: boolean): Promise<{ target: string; existed: boolean }> {
  const target = resolve(rawTarget);
  if (dirname(target) === target) throw new InvalidInput('refusing to restore over the filesystem root');
  const kind = await kindOf(target);
  if (kind === 'symlink' || kind === 'other') throw new RestoreTargetUnusable(`restore target ${target} exists and is not a directory`);
  if (kind === 'dir' && !overwrite && (await readdir(target)).length > 0) {
    throw new RestoreTargetNotEmpty(`restore target ${target} is not empty`, { hint: 'choose an empty or new directory, or pass --overwrite to replace its contents' });
  }
  return { target, existed: kind === 'dir' };
}

export async function stagedRestore(repository: Repository, request: StagedRestoreRequest, options: StagedRestoreOptions = {}): Promise<StagedRestoreResult> {
  const { target, existed } = await checkRestoreTarget(request.target, request.overwrite === true);
  const { staging, previous } = offlineStagingPaths(target, request.snapshotId);
  try {
    await mkdir(dirname(target), { recursive: true });
    await mkdir(staging, { recursive: true, mode: 0o700 });
  } catch (err) {
    throw new RestoreTargetUnusable(`cannot create the staging directory ${staging}`, { cause: err });
  }
  const engineRequest = {
    snapshot: request.snapshotId,
    target: staging,
    ...(request.include === undefined ? {} : { include: request.include }),
    ...(request.exclude === undefined ? {} : { exclude: request.exclude }),
  };
  options.onPhase?.('restore');
  const restored = await repository.restore(engineRequest, { signal: options.signal, onProgress: (p) => options.onProgress?.('restore', p) });
  options.onPhase?.('compare');
  const compared: CompareResult = await repository.compare(engineRequest, { signal: options.signal, onProgress: (p) => options.onProgress?.('compare', p) });
  if (compared.differences.length > 0) {
    await rm(staging, { recursive: true, force: true, maxRetries: 3 });
    const first = compared.differences.slice(0, 3).map((d) => `${d.path} (${d.what})`).join(', ');
    throw new RestoreMismatch(`restored tree differs from snapshot ${request.snapshotId} in ${compared.differences.length} place(s), e.g. ${first}; the target was not touched`, {
      hint: "run 'coffer verify --read-data' to look for damaged data",
    });
  }
  options.signal?.throwIfAborted();
  options.onPhase?.('swap');
  await swapIntoPlace(staging, target, previous);
  return { ...restored, target, matched: compared.matched, replacedExisting: existed };
}

/** Staging -> target, parking an existing target aside and putting it back if the final rename fails. */
async function swapIntoPlace(staging: string, target: string, previous: string): Promise<void> {
  const targetKind = await kindOf(target);
  // Staging was private (0700) while it filled; the target keeps the old target's mode or gets a normal one.
  const mode = targetKind === 'dir' ? (await stat(target)).mode & 0o7777 : 0o777 & ~process.umask();
  await chmod(staging, mode);
  let parked = false;
  if (targetKind !== 'absent') {
    if ((await kindOf(previous)) !== 'absent') throw new RestoreTargetUnusable(`${previous} exists: a previous restore was interrupted during its swap; move it away and rerun`);
    await rename(target, previous);
    parked = true;
  }
  try {
    await rename(staging, target);
  } catch (err) {
    if (parked) await rename(previous, target).catch(() => undefined);
    throw new RestoreTargetUnusable(`cannot move the restored tree into ${target}`, { cause: err });
  }
  if (parked) await rm(previous, { recursive: true, force: true, maxRetries: 3 });
}
