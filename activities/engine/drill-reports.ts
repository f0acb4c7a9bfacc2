/**
 * DR drill reports in the repository (`drills/<id>`, envelope type
 * `drill-report`), so the catalog's drill history can be rebuilt from storage
 * alone. The object id is a keyed hash of the drill id (a workflow id), so
 * names reveal nothing and a retried save finds the report it wrote.
 */
import { deriveSubkey, mac } from '../crypto/chunk-id';
import { IntegrityError } from '../crypto/errors';
import { InvalidInput } from '../errors';
import type { DrillReport, DrillReportInput } from './api';
import type { RepoCore } from './core';
import { DRILL_REPORTS, listRecordIds, saveRecord, tryLoadRecord } from './records';

const NAME_CONTEXT = 'coffer 2025 drill report name v1';

export function drillObjectId(core: RepoCore, drillId: string): string {
  return mac(deriveSubkey(NAME_CONTEXT, core.keyring.chunkIdKey), Buffer.from(drillId, 'utf8')).toString('hex');
}

const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isTime = (v: unknown): v is string => typeof v === 'string' && !Number.isNaN(Date.parse(v));

/** The report's problem with its shape, or undefined if it is well-formed. */
function shapeProblem(r: Record<string, unknown>): string | undefined {
  if (typeof r.drillId !== 'string' || r.drillId.length === 0) return 'drillId';
  if (typeof r.snapshotId !== 'string') return 'snapshotId';
  if (!isTime(r.time)) return 'time';
  if (typeof r.passed !== 'boolean') return 'passed';
  if (!isNumber(r.rtoMs) || !isNumber(r.rpoMs)) return 'rtoMs/rpoMs';
  const o = r.objectives as Record<string, unknown> | undefined;
  if (typeof o !== 'object' || o === null || !isNumber(o.rtoMs) || !isNumber(o.rpoMs)) return 'objectives';
  if (r.figures !== undefined && (typeof r.figures !== 'object' || r.figures === null || !Object.values(r.figures).every(isNumber))) return 'figures';
  if (r.problems !== undefined && (!Array.isArray(r.problems) || !r.problems.every((p) => typeof p === 'string'))) return 'problems';
  return undefined;
}

/** Only the known fields, in a fixed order (what is stored and what is returned). */
function normalize(r: DrillReportInput, repoId: string): DrillReport {
  return {
    repoId,
    drillId: r.drillId,
    snapshotId: r.snapshotId,
    time: r.time,
    passed: r.passed,
    rtoMs: r.rtoMs,
    rpoMs: r.rpoMs,
    objectives: { rtoMs: r.objectives.rtoMs, rpoMs: r.objectives.rpoMs },
    ...(r.figures !== undefined ? { figures: { ...r.figures } } : {}),
    ...(r.problems !== undefined ? { problems: [...r.problems] } : {}),
  };
}

/** Saves a report; a report for the same drillId already stored is kept (first write wins). Returns the object id. */
export async function saveDrillReport(core: RepoCore, report: DrillReportInput): Promise<string> {
  if (typeof report !== 'object' || report === null) throw new InvalidInput('a drill report must be an object');
  const problem = shapeProblem(report);
  if (problem !== undefined) throw new InvalidInput(`malformed drill report: ${problem}`);
  if (report.repoId !== undefined && report.repoId !== core.repoId) {
    throw new InvalidInput(`the drill report names repository ${report.repoId}, not this one (${core.repoId})`);
  }
  const objectId = drillObjectId(core, report.drillId);
  await saveRecord(core, DRILL_REPORTS, objectId, normalize(report, core.repoId));
  return objectId;
}

/** Every report, oldest first (then by drill id); a damaged report is an IntegrityError naming it. */
export async function listDrillReports(core: RepoCore): Promise<DrillReport[]> {
  const out: DrillReport[] = [];
  for (const objectId of await listRecordIds(core, DRILL_REPORTS)) {
    const name = DRILL_REPORTS.name(objectId);
    const value = await tryLoadRecord(core, DRILL_REPORTS, objectId);
    if (value === undefined) continue;
    const r = value as Record<string, unknown> | null;
    const problem = typeof r === 'object' && r !== null ? shapeProblem(r) : 'not an object';
    if (problem !== undefined) throw new IntegrityError(`${name}: malformed drill report (${problem})`);
    const report = r as unknown as DrillReport;
    if (report.repoId !== core.repoId || drillObjectId(core, report.drillId) !== objectId) {
      throw new IntegrityError(`${name}: the report inside belongs to another name or repository (swapped?)`);
    }
    out.push(normalize(report, core.repoId));
  }
  return out.sort((a, b) => Date.parse(a.time) - Date.parse(b.time) || (a.drillId < b.drillId ? -1 : a.drillId > b.drillId ? 1 : 0));
}
