/** The stored backup plan (`plans/<id>/plan`, `plans/<id>/files-<n>`) and batch results. */
import type { NodeMetadata } from '../fs';
import type { TreeNode } from '../../repository/tree';

export interface PlanEntry {
  /** Snapshot path: root name, then '/'-separated names. */
  readonly path: string;
  readonly node: NodeMetadata;
}

export interface PlanDoc {
  readonly version: 1;
  readonly planId: string;
  readonly created: string;
  readonly host: string;
  readonly paths: readonly string[];
  readonly tags: readonly string[];
  readonly excludes: readonly string[];
  readonly parent?: string;
  readonly parentRootTree?: string;
  readonly batches: number;
  readonly files: number;
  readonly bytes: number;
  /** Directories, symlinks and special files (files come from batch results). */
  readonly entries: readonly PlanEntry[];
  readonly unreadable: readonly { readonly path: string; readonly reason: string }[];
}

export interface PlanFile {
  readonly path: string;
  readonly abs: string;
  readonly size: number;
}

export interface PlanFilesDoc {
  readonly files: readonly PlanFile[];
}

export interface BatchStats {
  filesDone: number;
  bytesRead: number;
  bytesNew: number;
  bytesUploaded: number;
  chunksNew: number;
  chunksDeduplicated: number;
  filesUnchanged: number;
}

export interface FileResult {
  readonly path: string;
  readonly node: TreeNode;
}

/** A batch's durable progress (`part-<n>-<k>`) or its final result (`batch-<n>`). */
export interface BatchDoc {
  readonly batch: number;
  readonly stats: BatchStats;
  readonly files: readonly FileResult[];
  readonly unreadable: readonly { readonly path: string; readonly reason: string }[];
  readonly changedDuringRead: readonly string[];
}

export function emptyStats(): BatchStats {
  return { filesDone: 0, bytesRead: 0, bytesNew: 0, bytesUploaded: 0, chunksNew: 0, chunksDeduplicated: 0, filesUnchanged: 0 };
}

export function addStats(a: BatchStats, b: BatchStats): BatchStats {
  return {
    filesDone: a.filesDone + b.filesDone,
    bytesRead: a.bytesRead + b.bytesRead,
    bytesNew: a.bytesNew + b.bytesNew,
    bytesUploaded: a.bytesUploaded + b.bytesUploaded,
    chunksNew: a.chunksNew + b.chunksNew,
    chunksDeduplicated: a.chunksDeduplicated + b.chunksDeduplicated,
    filesUnchanged: a.filesUnchanged + b.filesUnchanged,
  };
}
