/**
 * The audit log of a repository:
 * - `coffer audit list --repo <url> [--since <time>] [--limit <n>]`: entries, oldest first (the newest n with --limit);
 * - `coffer audit export --repo <url> [--output <file>]`: every entry as JSON lines (a file is written to a temp name, then renamed);
 * - `coffer audit verify --repo <url>`: the hash chain checked with the repository's audit MAC key and against the
 *   repository's head checkpoint, on the worker (the key never travels); exit 3 on tampering, naming the first bad entry.
 * list and export read the catalog directly; opening the repository with the user's password finds its id.
 */
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { AuditLog } from '../../activities/audit/log';
import type { AuditEntry } from '../../activities/audit/chain';
import type { AuditVerifyResult } from '../../activities/catalog-jobs';
import type { Catalog } from '../../activities/catalog/catalog';
import type { AuditDoc } from '../../activities/catalog/documents';
import { guard } from '../../activities/catalog/mongo-errors';
import type { CatalogOpInput } from '../../workflows/catalog-ops';
import type { CliContext } from '../context';
import { ExitCode } from '../exit-codes';
import { positiveInt } from './common';
import type { ContextFactory } from './common';
import { openCatalogFromEnv } from './catalog';

interface ListFlags {
  repo: string;
  since?: string;
  limit?: number;
}

function isoTime(value: string): string {
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) throw new InvalidArgumentError('expected a time such as 2026-01-31 or 2026-01-31T12:00:00Z');
  return new Date(ms).toISOString();
}

async function withCatalog<T>(ctx: CliContext, repoUrl: string, fn: (catalog: Catalog, repoId: string) => Promise<T>): Promise<T> {
  const repoId = await ctx.withRepository(repoUrl, async (repository) => repository.id);
  const catalog = await openCatalogFromEnv(ctx.env);
  try {
    return await fn(catalog, repoId);
  } finally {
    await catalog.close();
  }
}

function entryFromDoc(doc: AuditDoc): AuditEntry {
  const { _id: _unused, ...entry } = doc;
  return entry;
}

function entryLine(e: AuditEntry): string {
  return `${String(e.seq).padStart(5)}  ${e.time}  ${e.principal}  ${e.action}  ${e.outcome}  ${e.target}${e.workflowId === '' ? '' : `  (${e.workflowId})`}`;
}

export function registerAudit(program: Command, makeContext: ContextFactory): void {
  const audit = program.command('audit').description("the repository's tamper-evident audit log (in the catalog)");

  audit
    .command('list')
    .description('list audit entries, oldest first')
    .requiredOption('-r, --repo <url>', 'repository URL')
    .option('--since <time>', 'only entries at or after this time (ISO-8601)', isoTime)
    .option('--limit <n>', 'only the newest n entries', positiveInt)
    .action(async (flags: ListFlags, command: Command) => {
      const ctx = makeContext(command);
      const repo = ctx.repoUrl(flags.repo);
      const entries = await withCatalog(ctx, repo, async (catalog, repoId) => {
        const filter: Record<string, unknown> = { repoId, ...(flags.since === undefined ? {} : { time: { $gte: flags.since } }) };
        const docs = await guard('list the audit log', () => {
          const cursor = catalog.audit.find(filter).sort({ seq: -1 });
          if (flags.limit !== undefined) cursor.limit(flags.limit);
          return cursor.toArray();
        });
        return docs.reverse().map(entryFromDoc);
      });
      ctx.print(entries, () => (entries.length === 0 ? 'no audit entries' : entries.map(entryLine).join('\n')));
    });

  audit
    .command('export')
    .description('every audit entry as JSON lines (stdout, or --output file)')
    .requiredOption('-r, --repo <url>', 'repository URL')
    .option('-o, --output <file>', 'write to this file (replaced atomically) instead of stdout')
    .action(async (flags: { repo: string; output?: string }, command: Command) => {
      const ctx = makeContext(command);
      const repo = ctx.repoUrl(flags.repo);
      await withCatalog(ctx, repo, async (catalog, repoId) => {
        const log = new AuditLog(catalog.audit, repoId);
        if (flags.output === undefined) {
          const count = await log.exportJsonLines(async (line) => {
            if (!process.stdout.write(line)) await once(process.stdout, 'drain');
          });
          if (ctx.options.json !== true) process.stderr.write(`${count} entries exported\n`);
          return;
        }
        const target = resolve(flags.output);
        const temp = join(dirname(target), `.${basename(target)}.${process.pid}.tmp`);
        const out = createWriteStream(temp, { flags: 'wx', mode: 0o600 });
        try {
          const count = await log.exportJsonLines(async (line) => {
            if (!out.write(line)) await once(out, 'drain');
          });
          await new Promise<void>((ok, fail) => {
            out.on('error', fail);
            out.end(ok);
          });
          await rename(temp, target);
          ctx.print({ file: target, entries: count }, () => `${count} entries exported to ${target}`);
        } catch (err) {
          out.destroy();
          await rm(temp, { force: true });
          throw err;
        }
      });
    });

  audit
    .command('verify')
    .description("check the audit chain with the repository's MAC key and head checkpoint; exit 3 on tampering")
    .requiredOption('-r, --repo <url>', 'repository URL')
    .action(async (flags: { repo: string }, command: Command) => {
      const ctx = makeContext(command);
      const repo = ctx.repoUrl(flags.repo);
      await ctx.proveRepository(repo);
      const { workflowId, result } = await ctx.runJob<CatalogOpInput, AuditVerifyResult>({ workflow: 'auditVerifyWorkflow', job: 'audit-verify', repo, input: { repo } });
      if (result === undefined) return ctx.print({ workflowId }, () => `started ${workflowId}`);
      if (!result.ok) ctx.exitCode = ExitCode.integrity;
      ctx.print({ workflowId, ...result }, () => {
        const checkpoint = result.checkpoint === undefined ? 'no checkpoint in the repository yet' : `repository checkpoint at entry ${result.checkpoint.seq}`;
        if (result.ok) return `audit log of ${result.repoId}: ${result.entries} entries, chain intact (${checkpoint})`;
        const first = result.problems[0];
        const lines = [
          `audit log of ${result.repoId} was TAMPERED WITH: first bad entry ${first?.seq ?? '?'} (${first?.kind ?? '?'})`,
          ...result.problems.map((p) => `  entry ${p.seq}: ${p.kind}: ${p.detail}`),
        ];
        if (result.moreProblems > 0) lines.push(`  … and ${result.moreProblems} more`);
        lines.push(`${result.entries} entries checked; ${checkpoint}`);
        return lines.join('\n');
      });
    });
}
