/**
 * The facts the drill and compliance reports are built from, read on the
 * worker (it holds the repository password): the repository's authenticated
 * config (algorithms), its access keys and data-key epochs, the last
 * successful backup per source (every snapshot is one), the stored drill
 * reports, how much the repository stores and how it grew, and the audit
 * head checkpoint. Only metadata leaves the worker: no key material, no
 * file names beyond the snapshots' source paths.
 */
import type { DrillReport, KeyInfo, Repository, SnapshotSummary } from './engine/api';
import { CofferRepository } from './engine/repository';
import { runActivity } from './context';
import type { ResolvedDeps } from './deps';
import { InvalidInput } from './errors';
import type { RepoConfig } from './repository/config';
import { Names } from './repository/format';

export interface GatherReportInputsRequest {
  readonly repo: string;
  /** Keep at most this many drill reports, the newest (default 500): bounds the payload. */
  readonly maxDrills?: number;
}

export interface EpochFacts {
  readonly epoch: number;
  readonly current: boolean;
  /**
   * When the epoch is first known to exist: the repository's creation for
   * epoch 1, else the first snapshot sealed with it (an upper bound: the
   * rotation that created it ran before). Undefined when no snapshot uses it.
   */
  readonly firstSeen?: string;
  readonly firstSeenFrom: 'repository-created' | 'first-snapshot' | 'unknown';
  readonly snapshots: number;
}

export interface SourceFacts {
  readonly host: string;
  readonly paths: readonly string[];
  readonly snapshots: number;
  readonly lastSuccess: { readonly time: string; readonly snapshotId: string; readonly bytes: number };
}

export interface ReportInputs {
  readonly gatheredAt: string;
  readonly repository: {
    readonly url: string;
    readonly repoId: string;
    readonly created?: string;
    readonly currentEpoch: number;
  };
  /** From the repository's authenticated config; undefined if this engine does not expose it. */
  readonly config?: RepoConfig;
  readonly accessKeys: readonly KeyInfo[];
  readonly epochs: readonly EpochFacts[];
  readonly snapshots: { readonly count: number; readonly first?: string; readonly last?: string };
  readonly sources: readonly SourceFacts[];
  /** Stored drill reports, oldest first (the newest `maxDrills`). */
  readonly drills: readonly DrillReport[];
  readonly drillsOmitted: number;
  /**
   * Growth: bytes uploaded by the backups whose snapshots are still in the
   * repository, cumulative by snapshot time; the last point is what the
   * repository stores now (packs, index, snapshots), measured by listing.
   */
  readonly growth: readonly { readonly time: string; readonly bytes: number }[];
  readonly storedBytes: number;
  readonly storedObjects: number;
  /** The audit chain checkpoint the repository holds (seq and time; the MAC is not secret but not needed). */
  readonly auditHead?: { readonly seq: number; readonly time: string };
}

const DEFAULT_MAX_DRILLS = 500;

/** A URL without user info, query or fragment: what a report may show. */
export function redactUrl(location: string): string {
  try {
    const url = new URL(location);
    if (url.protocol.length <= 2) return location; // a Windows drive letter, not a URL
    url.username = '';
    url.password = '';
    url.search = '';
    url.hash = '';
    return url.toString();
  } catch {
    return location; // a plain filesystem path
  }
}

function sourceKey(s: SnapshotSummary): string {
  return JSON.stringify([s.host, [...s.paths].sort()]);
}

export function sourcesOf(snapshots: readonly SnapshotSummary[]): SourceFacts[] {
  const bySource = new Map<string, { latest: SnapshotSummary; count: number }>();
  for (const s of snapshots) {
    const key = sourceKey(s);
    const seen = bySource.get(key);
    if (seen === undefined) bySource.set(key, { latest: s, count: 1 });
    else {
      seen.count += 1;
      if (Date.parse(s.time) > Date.parse(seen.latest.time)) seen.latest = s;
    }
  }
  return [...bySource.values()]
    .map(({ latest, count }) => ({
      host: latest.host,
      paths: [...latest.paths],
      snapshots: count,
      lastSuccess: { time: latest.time, snapshotId: latest.id, bytes: latest.stats.bytes },
    }))
    .sort((a, b) => a.host.localeCompare(b.host) || a.paths.join('\0').localeCompare(b.paths.join('\0')));
}

export function epochsOf(currentEpoch: number, created: string | undefined, snapshots: readonly SnapshotSummary[]): EpochFacts[] {
  const numbers = new Set<number>([currentEpoch, ...snapshots.map((s) => s.keyEpoch)]);
  return [...numbers]
    .sort((a, b) => a - b)
    .map((epoch) => {
      const sealed = snapshots.filter((s) => s.keyEpoch === epoch).sort((a, b) => Date.parse(a.time) - Date.parse(b.time));
      const first = sealed[0];
      const firstSeen = epoch === 1 && created !== undefined ? created : first?.time;
      const firstSeenFrom = epoch === 1 && created !== undefined ? 'repository-created' : first === undefined ? 'unknown' : 'first-snapshot';
      return { epoch, current: epoch === currentEpoch, ...(firstSeen === undefined ? {} : { firstSeen }), firstSeenFrom, snapshots: sealed.length };
    });
}

export function growthOf(snapshots: readonly SnapshotSummary[], storedBytes: number, now: string): { time: string; bytes: number }[] {
  const sorted = [...snapshots].sort((a, b) => Date.parse(a.time) - Date.parse(b.time));
  let total = 0;
  const points = sorted.map((s) => {
    total += s.stats.bytesUploaded;
    return { time: s.time, bytes: total };
  });
  points.push({ time: now, bytes: storedBytes });
  return points;
}

/** The repository's config, read from the engine's open state (the Repository API does not expose it). */
function configOf(repository: Repository): RepoConfig | undefined {
  return repository instanceof CofferRepository ? repository.core.config : undefined;
}

export function reportInputActivities(deps: ResolvedDeps) {
  return {
    /** Everything the `coffer report` command needs from the repository, in one bounded read. */
    gatherReportInputs: async (input: GatherReportInputsRequest): Promise<ReportInputs> => {
      return runActivity(deps.metrics, async (frame) => {
        if (typeof input.repo !== 'string' || input.repo === '') throw new InvalidInput('gatherReportInputs needs a repository URL (repo)');
        const maxDrills = input.maxDrills ?? DEFAULT_MAX_DRILLS;
        if (!Number.isInteger(maxDrills) || maxDrills < 1) throw new InvalidInput(`maxDrills must be a positive whole number (got ${String(input.maxDrills)})`);
        frame.phase('reading repository');
        const read = await deps.repositories.use(
          input.repo,
          async (repository) => {
            const config = configOf(repository);
            const [snapshots, accessKeys, drills, auditHead] = await Promise.all([
              repository.listSnapshots(),
              repository.listKeys(),
              repository.listDrillReports(),
              repository.readAuditHead(),
            ]);
            return { repoId: repository.id, currentEpoch: repository.currentEpoch, config, snapshots, accessKeys, drills, auditHead };
          },
          { fresh: true },
        );
        frame.phase('measuring storage');
        const backend = await deps.openBackend(input.repo);
        let storedBytes = 0;
        let storedObjects = 0;
        try {
          for (const prefix of [Names.dataPrefix, Names.indexPrefix, Names.snapshotsPrefix]) {
            for await (const object of backend.list(prefix, { signal: frame.signal })) {
              storedBytes += object.size;
              storedObjects += 1;
            }
          }
        } finally {
          await backend.close();
        }
        const gatheredAt = new Date().toISOString();
        const times = read.snapshots.map((s) => s.time).sort((a, b) => Date.parse(a) - Date.parse(b));
        const drills = read.drills.slice(Math.max(0, read.drills.length - maxDrills));
        const created = read.config?.created;
        return {
          gatheredAt,
          repository: { url: redactUrl(input.repo), repoId: read.repoId, ...(created === undefined ? {} : { created }), currentEpoch: read.currentEpoch },
          ...(read.config === undefined ? {} : { config: read.config }),
          accessKeys: read.accessKeys,
          epochs: epochsOf(read.currentEpoch, created, read.snapshots),
          snapshots: { count: read.snapshots.length, ...(times.length === 0 ? {} : { first: times[0], last: times[times.length - 1] }) },
          sources: sourcesOf(read.snapshots),
          drills,
          drillsOmitted: read.drills.length - drills.length,
          growth: growthOf(read.snapshots, storedBytes, gatheredAt),
          storedBytes,
          storedObjects,
          ...(read.auditHead === undefined ? {} : { auditHead: { seq: read.auditHead.seq, time: read.auditHead.time } }),
        };
      });
    },
  };
}
