/**
 * The catalog steps of Coffer's workflows, as few activities as possible so
 * a workflow's history grows by one activity per job:
 *
 * - `recordJob`: everything a finished (or failed) job leaves in the catalog,
 *   in one idempotent activity: the repository document, the new snapshot,
 *   forgotten snapshots, a drill report, key metadata, the run record, one
 *   audit entry (eventId derived from the workflow id and run id), and the
 *   audit head checkpoint written into the repository.
 * - `rebuildCatalogFromRepository`, `checkCatalogAgainstRepository`,
 *   `verifyAuditLog`: the CLI's catalog commands, which need the repository's
 *   keys and therefore run on the worker (the audit MAC key never leaves it).
 *
 * Registered on every worker: without a catalog (`COFFER_MONGODB_URL` unset)
 * `recordJob` answers `{ catalog: 'off' }` at once, so workflows never wait on
 * a catalog nobody configured.
 */
import type { SnapshotSummary } from './engine/api';
import type { AuditVerifyReport, AuditProblem } from './audit/chain';
import { AuditLog } from './audit/log';
import type { CatalogSource } from './catalog-activities';
import type { Catalog } from './catalog/catalog';
import type { DrillReportRecord, RunOutcome, RunRecord, RunType } from './catalog/documents';
import { redactLocation, sourceKey } from './catalog/documents';
import { CatalogNotConfigured, CatalogRepositoryMismatch } from './catalog/errors';
import { checkDrift, rebuildCatalog } from './catalog/rebuild';
import type { DriftReport, RebuildReport } from './catalog/rebuild';
import { runActivity } from './context';
import type { ResolvedDeps } from './deps';
import { InvalidInput } from './errors';
import type { Repository } from './engine/api';

export type CatalogState = 'recorded' | 'off';

export interface RecordJobInput {
  /** Repository URL (no credentials). */
  readonly repo: string;
  readonly workflowId: string;
  /** The workflow's first run id: stays the same across continue-as-new. */
  readonly runId: string;
  readonly type: RunType;
  readonly outcome: RunOutcome;
  /** ISO-8601. */
  readonly startedAt: string;
  readonly endedAt: string;
  /** Who asked for the job; default `system`. */
  readonly principal?: string;
  /** Audit action, e.g. `backup`, `restore`, `retention.forget`. */
  readonly action: string;
  /** Audit target: what the job acted on (a snapshot id, a path); default the repository's location. */
  readonly target?: string;
  /** A snapshot the job created. */
  readonly snapshot?: SnapshotSummary;
  /** For backups (also failed ones): the source, so the latest successful backup per source can be found. */
  readonly source?: { readonly host: string; readonly paths: readonly string[] };
  /** Snapshot ids the job removed from the repository. */
  readonly forgotten?: readonly string[];
  /** A drill report exactly as stored in the repository (repoId is filled in). */
  readonly drillReport?: Omit<DrillReportRecord, 'repoId'>;
  /** Data-key epochs created or retired by the job. */
  readonly keyEpochs?: readonly { readonly epoch: number; readonly createdAt?: string; readonly retiredAt?: string }[];
  /** Re-read the repository's access keys (ids, kinds, labels, creation times) into the catalog. */
  readonly syncAccessKeys?: boolean;
  readonly figures?: Readonly<Record<string, number>>;
  /** Error code and one-line message of a failed job. */
  readonly error?: { readonly code: string; readonly message: string };
}

export interface RecordJobResult {
  readonly catalog: CatalogState;
  readonly repoId?: string;
  /** Sequence number of the job's audit entry. */
  readonly auditSeq?: number;
}

/** Verification result safe for a payload: problems capped, the head's MAC is not secret. */
export interface AuditVerifyResult {
  readonly repoId: string;
  readonly ok: boolean;
  readonly entries: number;
  readonly head?: { readonly seq: number; readonly mac: string };
  /** The repository's checkpoint the chain was checked against, if any. */
  readonly checkpoint?: { readonly seq: number; readonly mac: string; readonly time: string };
  readonly problems: readonly AuditProblem[];
  /** Problems beyond the first MAX_PROBLEMS, not listed. */
  readonly moreProblems: number;
}

const MAX_PROBLEMS = 100;

/** Remembers which URL each repository id was opened from, so activities given only an id can open it. */
export class RepositoryDirectory {
  private readonly urls = new Map<string, string>();

  remember(repoId: string, url: string): void {
    this.urls.set(repoId, url);
  }

  urlOf(repoId: string): string | undefined {
    return this.urls.get(repoId);
  }
}

export interface CatalogJobDeps extends ResolvedDeps {
  /** Undefined: this worker runs without a catalog. */
  readonly catalog?: CatalogSource;
  readonly directory: RepositoryDirectory;
  /** Principal recorded when a job names none. */
  readonly defaultPrincipal?: string;
}

function catalogGetter(source: CatalogSource | undefined): (() => Promise<Catalog>) | undefined {
  if (source === undefined) return undefined;
  return typeof source === 'function' ? source : async () => source;
}

export function catalogJobActivities(deps: CatalogJobDeps) {
  const getCatalog = catalogGetter(deps.catalog);
  const requireCatalog = (): (() => Promise<Catalog>) => {
    if (getCatalog === undefined) throw new CatalogNotConfigured('this worker has no catalog configured');
    return getCatalog;
  };
  const useRepository = <T>(url: string, fn: (repository: Repository) => Promise<T>, fresh = false): Promise<T> =>
    deps.repositories.use(
      url,
      async (repository) => {
        deps.directory.remember(repository.id, url);
        return fn(repository);
      },
      { fresh },
    );

  return {
    async recordJob(input: RecordJobInput): Promise<RecordJobResult> {
      return runActivity(deps.metrics, async () => {
        if (getCatalog === undefined) return { catalog: 'off' };
        checkRecordInput(input);
        const catalog = await getCatalog();
        return useRepository(input.repo, async (repository) => {
          const repoId = repository.id;
          await catalog.upsertRepository({ id: repoId, location: repository.location, currentEpoch: repository.currentEpoch });
          if (input.snapshot !== undefined) await catalog.recordSnapshot(repoId, input.snapshot);
          if (input.forgotten !== undefined && input.forgotten.length > 0) await catalog.removeSnapshots(repoId, input.forgotten);
          if (input.drillReport !== undefined) await catalog.recordDrillReport({ ...input.drillReport, repoId });
          for (const epoch of input.keyEpochs ?? []) await catalog.recordEpoch(repoId, epoch);
          if (input.syncAccessKeys === true) {
            const keys = await repository.listKeys();
            for (const key of keys) {
              await catalog.recordKey({ repoId, keyId: key.id, kind: key.kind, createdAt: key.created, ...(key.label === undefined ? {} : { label: key.label }) });
            }
            await catalog.retireMissingAccessKeys(repoId, keys.map((k) => k.id), new Date(input.endedAt));
          }
          const principal = input.principal ?? deps.defaultPrincipal ?? 'system';
          const source = input.snapshot !== undefined ? { host: input.snapshot.host, paths: input.snapshot.paths } : input.source;
          const run: RunRecord = {
            workflowId: input.workflowId,
            runId: input.runId,
            repoId,
            type: input.type,
            outcome: input.outcome,
            startedAt: input.startedAt,
            endedAt: input.endedAt,
            principal,
            ...(source === undefined ? {} : { source: sourceKey(source.host, source.paths) }),
            ...(input.snapshot === undefined ? {} : { snapshotId: input.snapshot.id }),
            ...(input.figures === undefined ? {} : { figures: input.figures }),
            ...(input.error === undefined ? {} : { error: { code: input.error.code, message: input.error.message.slice(0, 500) } }),
          };
          await catalog.recordRun(run);
          // One audit entry per job run: a retried activity finds it by eventId instead of appending twice.
          const log = new AuditLog(catalog.audit, repoId, repository.auditMacKey());
          const entry = await log.append({
            eventId: `${input.workflowId}/${input.runId}/${input.action}`,
            time: input.endedAt,
            principal,
            action: input.action,
            target: input.target ?? redactLocation(repository.location),
            outcome: input.outcome,
            workflowId: input.workflowId,
          });
          // Checkpoint the chain in the repository, so a truncated or rolled-back catalog is caught.
          await repository.writeAuditHead({ seq: entry.seq, mac: entry.mac, time: input.endedAt });
          return { catalog: 'recorded', repoId, auditSeq: entry.seq };
        });
      });
    },

    async rebuildCatalogFromRepository(input: { readonly repo: string }): Promise<RebuildReport> {
      return runActivity(deps.metrics, async () => {
        const catalog = await requireCatalog()();
        return useRepository(input.repo, async (repository) => rebuildCatalog(repository, catalog), true);
      });
    },

    async checkCatalogAgainstRepository(input: { readonly repo: string }): Promise<DriftReport> {
      return runActivity(deps.metrics, async () => {
        const catalog = await requireCatalog()();
        return useRepository(input.repo, async (repository) => checkDrift(repository, catalog), true);
      });
    },

    /** Checks the repository's audit chain in the catalog with its MAC key and against its head checkpoint. */
    async verifyAuditLog(input: { readonly repo: string }): Promise<AuditVerifyResult> {
      return runActivity(deps.metrics, async () => {
        const catalog = await requireCatalog()();
        return useRepository(input.repo, async (repository) => {
          const checkpoint = await repository.readAuditHead();
          const report: AuditVerifyReport = await new AuditLog(catalog.audit, repository.id, repository.auditMacKey()).verify(
            checkpoint === undefined ? {} : { head: { seq: checkpoint.seq, mac: checkpoint.mac } },
          );
          return {
            repoId: repository.id,
            ok: report.ok,
            entries: report.entries,
            ...(report.head === undefined ? {} : { head: report.head }),
            ...(checkpoint === undefined ? {} : { checkpoint }),
            problems: report.problems.slice(0, MAX_PROBLEMS),
            moreProblems: Math.max(0, report.problems.length - MAX_PROBLEMS),
          };
        }, true);
      });
    },
  };
}

export type CatalogJobActivities = ReturnType<typeof catalogJobActivities>;

/**
 * The worker's way to the audit MAC key of a repository known by id (for the
 * generic catalog activities, e.g. an approval's audit entry): the URL given,
 * else the one it was last opened from, else the location the catalog
 * recorded for it. The key is read from the open repository and never leaves
 * the worker.
 */
export function auditMacKeyResolver(deps: CatalogJobDeps): (repoId: string, repoUrl?: string) => Promise<Uint8Array> {
  const getCatalog = catalogGetter(deps.catalog);
  return async (repoId, repoUrl) => {
    let url = repoUrl ?? deps.directory.urlOf(repoId);
    if (url === undefined && getCatalog !== undefined) url = (await (await getCatalog()).getRepository(repoId))?.location;
    if (url === undefined) throw new InvalidInput(`repository ${repoId} is unknown to this worker: pass its URL (repo)`);
    return deps.repositories.use(url, async (repository) => {
      if (repository.id !== repoId) throw new CatalogRepositoryMismatch(`the repository at that URL is ${repository.id}, not ${repoId}`);
      deps.directory.remember(repoId, url);
      return repository.auditMacKey();
    });
  };
}

function checkRecordInput(input: RecordJobInput): void {
  for (const [name, value] of [['repo', input.repo], ['workflowId', input.workflowId], ['runId', input.runId], ['action', input.action]] as const) {
    if (typeof value !== 'string' || value === '') throw new InvalidInput(`recordJob needs ${name}`);
  }
  for (const [name, value] of [['startedAt', input.startedAt], ['endedAt', input.endedAt]] as const) {
    if (typeof value !== 'string' || Number.isNaN(Date.parse(value))) throw new InvalidInput(`recordJob: ${name} is not an ISO-8601 time`);
  }
}
