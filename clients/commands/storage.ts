/**
 * `coffer storage test --repo <url>`: probes a storage backend with a short,
 * self-cleaning round trip of every contract method (write, read, ranged
 * read, stat, save-if-absent, a larger object, list, remove) under a unique
 * `probe-<random>/` prefix, with the latency of each step. Needs no Temporal
 * and no repository password: it tests the storage, not the repository.
 *
 * Exit status: 0 every check passed; 4 the backend could not be reached or
 * refused the credentials; 1 it answered but broke the contract.
 */
import type { Command } from 'commander';
import { InvalidInput, isCofferError } from '../../activities/errors';
import type { Backend } from '../../activities/storage/backend';
import { probeBackend } from '../../activities/storage/probe';
import type { ProbeResult } from '../../activities/storage/probe';
import { openBackend } from '../../activities/storage/url';
import { ExitCode, formatError, renderError } from '../exit-codes';
import { nonNegativeInt, positiveInt } from './common';
import type { ContextFactory } from './common';

interface StorageTestFlags {
  repo?: string;
  sizeMib?: number;
  retentionSeconds?: number;
}

/** Codes meaning "could not get through to the storage at all": unreachable, transient, refused credentials. */
const CANNOT_REACH = /COFFER-E3(04|10|11)\b/;

export function registerStorage(program: Command, makeContext: ContextFactory): void {
  const storage = program.command('storage').description('storage backends');
  storage
    .command('test')
    .description('probe a storage backend: write/read/ranged read/stat/list/remove of a temporary object, with latencies')
    .argument('[url]', 'repository URL (or use --repo)')
    .option('-r, --repo <url>', 'repository URL: local:/path, s3://bucket/prefix, gs://…, sftp://…, azure://…')
    .option('--size-mib <n>', 'size of the large-object check in MiB (default 4)', positiveInt)
    .option('--retention-seconds <n>', 'also check retention locks with an object locked this long (waits for it)', nonNegativeInt)
    .addHelpText('after', '\nExit status: 0 all checks passed, 4 unreachable or credentials refused, 1 a check failed.')
    .action(async (url: string | undefined, flags: StorageTestFlags, command: Command) => {
      const ctx = makeContext(command);
      const raw = url ?? flags.repo;
      if (raw === undefined) throw new InvalidInput('no storage URL given', { hint: 'coffer storage test --repo s3://bucket/prefix' });
      const repo = ctx.repoUrl(raw);
      const started = performance.now();
      let backend: Backend;
      try {
        // No retry wrapper: a probe reports what the backend really does, first time.
        backend = await openBackend(repo, { retry: false }, ctx.env);
      } catch (err) {
        const rendered = renderError(err);
        const code = isCofferError(err) && CANNOT_REACH.test(err.code) ? ExitCode.unreachable : rendered.exitCode;
        ctx.exitCode = code;
        const openMs = Math.round(performance.now() - started);
        ctx.print({ location: repo, ok: false, error: { code: rendered.code, message: rendered.message, ...(rendered.hint === undefined ? {} : { hint: rendered.hint }) }, openMs }, () =>
          `FAIL open ${repo} (${openMs} ms)\n${formatError(rendered, ctx.options.debug === true)}`,
        );
        return;
      }
      const openMs = Math.round(performance.now() - started);
      let result: ProbeResult;
      try {
        result = await probeBackend(backend, {
          largeBytes: (flags.sizeMib ?? 4) * 1024 * 1024,
          ...(flags.retentionSeconds === undefined || flags.retentionSeconds === 0 ? {} : { retentionSeconds: flags.retentionSeconds }),
        });
      } finally {
        await backend.close().catch(() => undefined);
      }
      if (!result.ok) {
        const failed = result.checks.filter((c) => !c.ok);
        ctx.exitCode = failed.some((c) => CANNOT_REACH.test(c.detail ?? '')) ? ExitCode.unreachable : ExitCode.jobFailed;
      }
      ctx.print({ ...result, openMs }, () => renderProbe(result, openMs));
    });
}

function renderProbe(result: ProbeResult, openMs: number): string {
  const rows = [['open', 'ok', `${openMs} ms`, ''], ...result.checks.map((c) => [c.name, c.ok ? 'ok' : 'FAIL', `${c.ms} ms`, c.detail ?? ''])];
  const widths = [0, 1, 2].map((i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  const lines = rows.map((r) => r.map((cell, i) => (i < 3 ? cell.padEnd(widths[i] ?? 0) : cell)).join('  ').trimEnd());
  const s = result.supports;
  lines.push(`atomic create: ${s.atomicCreate ? 'yes' : 'no (check-then-write fallback)'}; refuses overwrite: ${s.refusesOverwrite ? 'yes' : 'no'}; retention: ${s.retention}`);
  lines.push(result.ok ? `storage ${result.location}: all checks passed` : `storage ${result.location}: ${result.checks.filter((c) => !c.ok).length} check(s) FAILED`);
  return lines.join('\n');
}
