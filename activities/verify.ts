/**
 * Verification activity: structural check, full read of the data, or one
 * subset n/t of the packs. Corruption comes back as findings in a report,
 * not as an exception; the list is bounded (counts stay exact).
 */
import type { Finding, VerifyLevel } from './engine/api';
import { runActivity } from './context';
import type { ResolvedDeps } from './deps';
import { InvalidInput } from './errors';
import { FINDINGS_LIMIT, sample } from './limits';

export interface VerifyRepositoryInput {
  readonly repo: string;
  readonly level: VerifyLevel;
  readonly subset?: { readonly n: number; readonly t: number };
}

export interface VerifyOutcome {
  readonly level: VerifyLevel;
  readonly subset?: { readonly n: number; readonly t: number };
  readonly snapshotsChecked: number;
  readonly packsChecked: number;
  readonly chunksChecked: number;
  readonly bytesRead: number;
  readonly findings: number;
  /** Count per finding kind. */
  readonly findingsByKind: Readonly<Record<string, number>>;
  readonly findingSample: readonly Finding[];
}

export function verifyActivities(deps: ResolvedDeps) {
  return {
    verifyRepository: async (input: VerifyRepositoryInput): Promise<VerifyOutcome> => {
      return runActivity(deps.metrics, async (frame) => {
        if (input.level !== 'structure' && input.level !== 'read-data') {
          throw new InvalidInput(`unknown verify level '${String(input.level)}'`, { hint: "use 'structure' or 'read-data'" });
        }
        const subset = input.subset;
        if (subset !== undefined && !(Number.isInteger(subset.n) && Number.isInteger(subset.t) && subset.n >= 1 && subset.n <= subset.t)) {
          throw new InvalidInput(`invalid subset ${subset.n}/${subset.t}`, { hint: 'use n/t with 1 <= n <= t, e.g. 1/10' });
        }
        frame.phase(input.level);
        const report = await deps.repositories.use(input.repo, async (repository) =>
          repository.verify(
            { level: input.level, ...(subset === undefined ? {} : { subset }) },
            { signal: frame.signal, onProgress: (p) => frame.progress(p) },
          ),
          { fresh: true },
        );
        const byKind: Record<string, number> = {};
        for (const finding of report.findings) byKind[finding.kind] = (byKind[finding.kind] ?? 0) + 1;
        return {
          level: report.level,
          ...(subset === undefined ? {} : { subset }),
          snapshotsChecked: report.snapshotsChecked,
          packsChecked: report.packsChecked,
          chunksChecked: report.chunksChecked,
          bytesRead: report.bytesRead,
          findings: report.findings.length,
          findingsByKind: byKind,
          findingSample: sample(report.findings, FINDINGS_LIMIT).map((f) => ({ ...f, files: f.files.slice(0, 10), snapshots: f.snapshots.slice(0, 10) })),
        };
      });
    },
  };
}
