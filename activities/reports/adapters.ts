/**
 * Builds report inputs from what the rest of Coffer records: the drill
 * workflow's result, the drill records of the catalog / repository, the
 * repository config, and an audit-chain verification. Pure functions; the
 * CLI gathers the records and calls these.
 */
import type { DrillReport as WorkflowDrillReport } from '../../workflows/dr-drill';
import type { DrillReport as StoredDrillReport } from '../engine/api';
import type { AuditVerifyReport } from '../audit/chain';
import type { KdfParams } from '../crypto/kdf';
import type { RepoConfig } from '../repository/config';
import type { AlgorithmsInUse, AuditEvidence } from './compliance-report';
import type { DrillResult } from './drill-report';

/** From drDrillWorkflow's result (has the snapshot time and restored figures). */
export function drillResultFromWorkflow(report: WorkflowDrillReport): DrillResult {
  return {
    time: report.startedAt,
    snapshotId: report.snapshotId,
    snapshotTime: report.snapshotTime,
    rtoSeconds: report.rtoSeconds,
    rpoSeconds: report.rpoSeconds,
    filesVerified: report.compare.matched,
    bytesVerified: report.restored.bytes,
    passed: report.passed,
    gaps: report.gaps,
    host: report.snapshotHost,
  };
}

/**
 * From a stored drill record (catalog DrillReportRecord / repository
 * DrillReport, same shape). The snapshot time is the drill time minus the
 * RPO, which is how RPO is defined; figures `files`/`filesVerified` and
 * `bytes`/`bytesVerified` are used when present.
 */
export function drillResultFromRecord(record: StoredDrillReport): DrillResult {
  const figures = record.figures ?? {};
  return {
    time: record.time,
    drillId: record.drillId,
    snapshotId: record.snapshotId,
    snapshotTime: new Date(Date.parse(record.time) - record.rpoMs).toISOString(),
    rtoSeconds: record.rtoMs / 1000,
    rpoSeconds: record.rpoMs / 1000,
    filesVerified: figures.filesVerified ?? figures.files ?? 0,
    bytesVerified: figures.bytesVerified ?? figures.bytes ?? 0,
    passed: record.passed,
    gaps: record.problems ?? [],
  };
}

/** The algorithms section of the compliance report, from the repository's (authenticated) config. */
export function algorithmsFromRepoConfig(config: RepoConfig, kdfParams?: KdfParams): AlgorithmsInUse {
  return {
    aead: config.algorithms.aead,
    kdf: config.algorithms.kdf,
    ...(kdfParams === undefined ? {} : { kdfParams: { opsLimit: kdfParams.opsLimit, memLimitBytes: kdfParams.memLimitBytes } }),
    chunkId: config.algorithms.chunkId,
    chunker: config.algorithms.chunker,
    compression: config.algorithms.compression,
    compressionLevel: config.compressionLevel,
    formatVersion: config.formatVersion,
  };
}

/** Audit evidence from a chain verification: verified up to the seq before the first problem. */
export function auditEvidenceFromVerify(report: AuditVerifyReport, verifiedAt?: string): AuditEvidence {
  const firstProblem = report.problems.length === 0 ? undefined : Math.min(...report.problems.map((p) => p.seq));
  const headSeq = report.head?.seq ?? report.entries;
  return {
    entries: report.entries,
    verifiedThroughSeq: firstProblem === undefined ? headSeq : Math.max(0, firstProblem - 1),
    ...(firstProblem === undefined ? {} : { brokenAtSeq: firstProblem }),
    problems: report.problems.map((p) => ({ kind: p.kind, seq: p.seq, detail: p.detail })),
    ...(verifiedAt === undefined ? {} : { verifiedAt }),
  };
}
