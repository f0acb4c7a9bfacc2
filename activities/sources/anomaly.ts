/**
 * The ransomware signal of issue #7: a backup that changes an unusual share
 * of files or bytes compared with the recent backups of the same source.
 * Pure: figures in, verdict out. History comes from the repository's
 * snapshot summaries (no catalog needed).
 *
 * A backup's shares:
 *   files = (changed or new files + net removed files) / max(files, files of the previous backup)
 *   bytes = bytes read because new or changed / total bytes
 * It is an anomaly when a share is above its threshold AND at least
 * `factorOverMedian` times the median share of the last `history`
 * incremental backups of the source (hosts and paths equal). With no
 * incremental backup yet there is no baseline and no verdict.
 */
import type { SnapshotSummary } from '../engine/api';

export interface AnomalyPolicy {
  readonly changedFilesShare: number;
  readonly changedBytesShare: number;
  readonly factorOverMedian: number;
  readonly history: number;
  readonly failBackup: boolean;
}

/** What one backup changed. */
export interface ChangeFigures {
  readonly files: number;
  readonly filesChanged: number;
  readonly bytes: number;
  readonly bytesChanged: number;
}

export interface ChangeShares {
  readonly filesShare: number;
  readonly bytesShare: number;
}

/** An anomaly found: the shares, the baseline they were compared with, and why it counts. */
export interface BackupAnomalyInfo extends ChangeShares {
  readonly medianFilesShare: number;
  readonly medianBytesShare: number;
  /** Incremental backups the medians were taken over. */
  readonly baseline: number;
  readonly figures: ChangeFigures & { readonly filesRemoved: number };
  readonly reasons: readonly string[];
  readonly failBackup: boolean;
}

export interface AnomalyAssessment extends ChangeShares {
  readonly baseline: number;
  readonly medianFilesShare: number;
  readonly medianBytesShare: number;
  readonly anomaly?: BackupAnomalyInfo;
}

function sameSource(a: SnapshotSummary, host: string, paths: readonly string[]): boolean {
  if (a.host !== host || a.paths.length !== paths.length) return false;
  const x = [...a.paths].sort();
  const y = [...paths].sort();
  return x.every((p, i) => p === y[i]);
}

/** A stored snapshot's change figures (older snapshots lack filesChanged/bytesChanged: derive them). */
export function figuresOf(s: SnapshotSummary): ChangeFigures {
  const stats = s.stats;
  return {
    files: stats.files,
    filesChanged: stats.filesChanged ?? Math.max(0, stats.files - stats.filesUnchanged),
    bytes: stats.bytes,
    bytesChanged: stats.bytesChanged ?? stats.bytesNew,
  };
}

export function sharesOf(figures: ChangeFigures, previousFiles: number): ChangeShares & { filesRemoved: number } {
  const filesRemoved = Math.max(0, previousFiles - figures.files);
  return {
    filesShare: Math.min(1, (figures.filesChanged + filesRemoved) / Math.max(1, figures.files, previousFiles)),
    bytesShare: Math.min(1, figures.bytesChanged / Math.max(1, figures.bytes)),
    filesRemoved,
  };
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

const pct = (x: number): string => `${(x * 100).toFixed(1)}%`;

/**
 * Judges a backup about to be committed (`candidate`) against the source's
 * earlier snapshots (`snapshots`: the repository's list; others are ignored).
 */
export function assessAnomaly(
  candidate: ChangeFigures,
  source: { readonly host: string; readonly paths: readonly string[] },
  snapshots: readonly SnapshotSummary[],
  policy: AnomalyPolicy,
): AnomalyAssessment {
  const byId = new Map(snapshots.map((s) => [s.id, s]));
  const mine = snapshots.filter((s) => sameSource(s, source.host, source.paths)).sort((a, b) => Date.parse(a.time) - Date.parse(b.time));
  const previous = mine[mine.length - 1];
  const current = sharesOf(candidate, previous?.stats.files ?? 0);
  const samples: ChangeShares[] = [];
  for (const s of mine.slice(-policy.history)) {
    if (s.parent === undefined) continue; // a full first backup says nothing about normal change
    samples.push(sharesOf(figuresOf(s), byId.get(s.parent)?.stats.files ?? s.stats.files));
  }
  const medianFilesShare = median(samples.map((s) => s.filesShare));
  const medianBytesShare = median(samples.map((s) => s.bytesShare));
  const base = { filesShare: current.filesShare, bytesShare: current.bytesShare, baseline: samples.length, medianFilesShare, medianBytesShare };
  if (previous === undefined || samples.length === 0) return base;
  const reasons: string[] = [];
  if (current.filesShare > policy.changedFilesShare && current.filesShare >= policy.factorOverMedian * medianFilesShare) {
    reasons.push(`${pct(current.filesShare)} of files changed (threshold ${pct(policy.changedFilesShare)}, median of last ${samples.length} backups ${pct(medianFilesShare)})`);
  }
  if (current.bytesShare > policy.changedBytesShare && current.bytesShare >= policy.factorOverMedian * medianBytesShare) {
    reasons.push(`${pct(current.bytesShare)} of bytes changed (threshold ${pct(policy.changedBytesShare)}, median of last ${samples.length} backups ${pct(medianBytesShare)})`);
  }
  if (reasons.length === 0) return base;
  return {
    ...base,
    anomaly: {
      filesShare: current.filesShare,
      bytesShare: current.bytesShare,
      medianFilesShare,
      medianBytesShare,
      baseline: samples.length,
      figures: { ...candidate, filesRemoved: current.filesRemoved },
      reasons,
      failBackup: policy.failBackup,
    },
  };
}
