/**
 * `coffer catalog rebuild --repo <url>`: make the catalog's view of a
 * repository (snapshots, drill reports) equal to what the repository holds.
 * `coffer catalog check --repo <url>`: report drift between the two; exit 3
 * when they differ (a snapshot missing on either side, a rolled-back catalog).
 * Both run as workflows: the worker holds the repository's keys.
 */
import type { Command } from 'commander';
import { Catalog } from '../../activities/catalog/catalog';
import { CatalogNotConfigured } from '../../activities/catalog/errors';
import type { DriftReport, RebuildCounts, RebuildReport } from '../../activities/catalog/rebuild';
import type { CatalogOpInput } from '../../workflows/catalog-ops';
import { ExitCode } from '../exit-codes';
import type { ContextFactory } from './common';

interface RepoFlags {
  repo: string;
}

/** Opens the catalog named by COFFER_MONGODB_URL (and COFFER_CATALOG_DB), as the worker does. */
export async function openCatalogFromEnv(env: Readonly<Record<string, string | undefined>>): Promise<Catalog> {
  const url = env.COFFER_MONGODB_URL?.trim();
  if (url === undefined || url === '' || env.COFFER_CATALOG?.trim().toLowerCase() === 'off') {
    throw new CatalogNotConfigured('no catalog configured', { hint: 'set COFFER_MONGODB_URL (the local stack writes it to .data/stack.env)' });
  }
  const dbName = env.COFFER_CATALOG_DB?.trim();
  return Catalog.open({ url, ...(dbName === undefined || dbName === '' ? {} : { dbName }) });
}

function counts(name: string, c: RebuildCounts | undefined): string {
  if (c === undefined) return `${name}: not in this repository format`;
  return `${name}: ${c.added} added, ${c.updated} updated, ${c.removed} removed, ${c.unchanged} unchanged`;
}

export function registerCatalog(program: Command, makeContext: ContextFactory): void {
  const catalog = program.command('catalog').description('the MongoDB catalog: rebuild it from a repository, check it for drift');

  catalog
    .command('rebuild')
    .description('rebuild the catalog entries of a repository from the repository alone (deterministic, safe to re-run)')
    .requiredOption('-r, --repo <url>', 'repository URL')
    .action(async (flags: RepoFlags, command: Command) => {
      const ctx = makeContext(command);
      const repo = ctx.repoUrl(flags.repo);
      await ctx.proveRepository(repo);
      const { workflowId, result } = await ctx.runJob<CatalogOpInput, RebuildReport>({ workflow: 'catalogRebuildWorkflow', job: 'catalog-rebuild', repo, input: { repo } });
      if (result === undefined) return ctx.print({ workflowId }, () => `started ${workflowId}`);
      ctx.print({ workflowId, ...result }, () =>
        [`catalog rebuilt for repository ${result.repoId}`, counts('snapshots', result.snapshots), counts('drill reports', result.drillReports)].join('\n'),
      );
    });

  catalog
    .command('check')
    .description('compare the catalog with the repository; exit 3 on drift')
    .requiredOption('-r, --repo <url>', 'repository URL')
    .action(async (flags: RepoFlags, command: Command) => {
      const ctx = makeContext(command);
      const repo = ctx.repoUrl(flags.repo);
      await ctx.proveRepository(repo);
      const { workflowId, result } = await ctx.runJob<CatalogOpInput, DriftReport>({ workflow: 'catalogCheckWorkflow', job: 'catalog-check', repo, input: { repo } });
      if (result === undefined) return ctx.print({ workflowId }, () => `started ${workflowId}`);
      if (!result.inSync) ctx.exitCode = ExitCode.integrity;
      ctx.print({ workflowId, ...result }, () => {
        const lines = [`catalog ${result.inSync ? 'in sync with' : 'DRIFTS from'} repository ${result.repoId}: ${result.snapshotsInRepository} snapshot(s) in the repository, ${result.snapshotsInCatalog} in the catalog`];
        const list = (ids: readonly string[]): string => ids.slice(0, 10).map((id) => id.slice(0, 12)).join(', ') + (ids.length > 10 ? ', …' : '');
        if (result.missingInCatalog.length > 0) lines.push(`  missing in the catalog: ${list(result.missingInCatalog)}`);
        if (result.missingInRepository.length > 0) lines.push(`  in the catalog only: ${list(result.missingInRepository)}`);
        if (result.differing.length > 0) lines.push(`  different: ${list(result.differing)}`);
        for (const why of result.rollback) lines.push(`  rollback: ${why}`);
        if (!result.inSync) lines.push('run `coffer catalog rebuild --repo …` to repair the snapshot entries; a rolled-back audit log cannot be repaired, only detected');
        return lines.join('\n');
      });
    });
}
