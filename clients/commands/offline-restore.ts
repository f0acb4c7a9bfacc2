/**
 * `coffer offline-restore --repo <url> <snapshot|latest> --target <dir>`:
 * break-glass restore straight from storage with only the password or a
 * recipient key file. No Temporal, no worker, no MongoDB: the engine runs in
 * this process, with the restore workflow's safety (staging directory, byte
 * comparison with the snapshot, then an atomic swap; see ../offline/staged-restore).
 * `--list` prints the snapshots to pick from instead.
 */
import type { Command } from 'commander';
import type { Progress, SnapshotSummary } from '../../activities/engine/api';
import { InvalidInput } from '../../activities/errors';
import { ExitCode } from '../exit-codes';
import { checkRestoreTarget, stagedRestore } from '../offline/staged-restore';
import type { StagedPhase } from '../offline/staged-restore';
import { withOfflineRepository } from '../offline/open';
import { offlineUnlock } from '../offline/unlock';
import { formatBytes } from '../progress';
import { collect, seconds, shortId } from './common';
import type { ContextFactory } from './common';
import { renderSnapshotTable } from './snapshots';

interface OfflineRestoreFlags {
  repo: string;
  target?: string;
  include?: string[];
  exclude?: string[];
  asOf?: string;
  snapshotHost?: string;
  tag?: string[];
  overwrite?: boolean;
  keyFile?: string;
  list?: boolean;
}

const LIVE_MS = 250;
const PLAIN_MS = 5_000;

/** One progress line on stderr: redrawn in place on a terminal, a line every few seconds otherwise. */
class ProgressLine {
  private last = 0;
  private width = 0;
  private phaseName: StagedPhase | undefined;
  private phaseStarted = 0;
  constructor(private readonly stream: NodeJS.WriteStream, private readonly enabled: boolean) {}

  phase(text: string): void {
    if (!this.enabled) return;
    this.clear();
    this.stream.write(`${text}\n`);
  }

  update(phase: StagedPhase, p: Progress): void {
    if (!this.enabled) return;
    const now = Date.now();
    const tty = this.stream.isTTY;
    if (now - this.last < (tty ? LIVE_MS : PLAIN_MS)) return;
    this.last = now;
    const bytes = p.bytesTotal === undefined ? formatBytes(p.bytesDone) : `${formatBytes(p.bytesDone)}/${formatBytes(p.bytesTotal)}`;
    const files = p.filesTotal === undefined ? `${p.filesDone}` : `${p.filesDone}/${p.filesTotal}`;
    if (this.phaseName !== phase) {
      this.phaseName = phase;
      this.phaseStarted = now;
    }
    const elapsed = (now - this.phaseStarted) / 1000;
    const rate = elapsed > 0.5 ? p.bytesDone / elapsed : 0;
    const eta = rate > 0 && p.bytesTotal !== undefined && p.bytesTotal > p.bytesDone ? ` · ETA ${Math.ceil((p.bytesTotal - p.bytesDone) / rate)}s` : '';
    const line = `[offline-restore] ${phase} · files ${files} · ${bytes}${rate > 0 ? ` · ${formatBytes(Math.round(rate))}/s` : ''}${eta}`;
    if (tty) {
      const cut = line.slice(0, (this.stream.columns || 120) - 1);
      this.stream.write(`\r${cut}${' '.repeat(Math.max(0, this.width - cut.length))}`);
      this.width = cut.length;
    } else this.stream.write(`${line}\n`);
  }

  clear(): void {
    if (this.width > 0) this.stream.write(`\r${' '.repeat(this.width)}\r`);
    this.width = 0;
  }
}

export function registerOfflineRestore(program: Command, makeContext: ContextFactory): void {
  program
    .command('offline-restore')
    .description('break-glass restore straight from storage with only the password or key file: no Temporal, no worker, no MongoDB')
    .argument('[snapshot]', "snapshot id, unique prefix, or 'latest'", 'latest')
    .requiredOption('-r, --repo <url>', 'repository URL')
    .option('-t, --target <dir>', 'directory to restore into (must be empty or new unless --overwrite)')
    .option('--list', 'list the snapshots to choose from instead of restoring')
    .option('--include <pattern>', 'restore only matching paths (repeatable)', collect)
    .option('--exclude <pattern>', 'leave out matching paths (repeatable)', collect)
    .option('--as-of <time>', 'the latest snapshot taken at or before this ISO-8601 time')
    .option('--snapshot-host <host>', "restrict 'latest'/--as-of/--list to snapshots of this host")
    .option('--tag <tag>', "restrict 'latest'/--as-of/--list to snapshots with this tag (repeatable)", collect)
    .option('--overwrite', 'replace a non-empty target (its old contents are removed after the verified swap)')
    .option('--key-file <file>', "unlock with a recipient key file (from 'coffer keys add --recipient-out') instead of the password")
    .addHelpText('after', '\nThe password comes from --password-file, COFFER_PASSWORD_FILE or COFFER_PASSWORD.\nInterrupted? Run the same command again: it resumes in the same staging directory.')
    .action(async (snapshot: string, flags: OfflineRestoreFlags, command: Command) => {
      const ctx = makeContext(command);
      const repo = ctx.repoUrl(flags.repo);
      const filter = {
        ...(flags.snapshotHost === undefined ? {} : { host: flags.snapshotHost }),
        ...(flags.tag === undefined ? {} : { tags: flags.tag }),
      };
      if (flags.asOf !== undefined && Number.isNaN(Date.parse(flags.asOf))) {
        throw new InvalidInput(`--as-of '${flags.asOf}' is not a time`, { hint: 'use ISO-8601, e.g. 2024-05-01T12:00:00Z' });
      }
      if (flags.list !== true && flags.target === undefined) {
        throw new InvalidInput('offline-restore needs --target <dir>', { hint: 'or --list to see the snapshots' });
      }
      // Fail on a busy target before the (slow) key derivation and any storage traffic.
      if (flags.target !== undefined && flags.list !== true) await checkRestoreTarget(flags.target, flags.overwrite === true);
      const unlock = await offlineUnlock(flags.keyFile, async () => ctx.password());
      const progress = new ProgressLine(process.stderr, ctx.options.json !== true);

      if (flags.list === true) {
        const snapshots = await withOfflineRepository(repo, ctx.env, unlock, async (repository) => repository.listSnapshots());
        const shown = snapshots
          .filter((s) => filter.host === undefined || s.host === filter.host)
          .filter((s) => filter.tags === undefined || filter.tags.every((t) => s.tags.includes(t)))
          .sort((a, b) => Date.parse(a.time) - Date.parse(b.time));
        ctx.print(shown, () => renderSnapshotTable(shown));
        return;
      }

      const abort = new AbortController();
      const onInterrupt = (): void => {
        if (abort.signal.aborted) process.exit(ExitCode.interrupted);
        ctx.exitCode = ExitCode.interrupted;
        process.stderr.write('\ninterrupted: stopping (run the same command again to resume)...\n');
        abort.abort(new InvalidInput('interrupted by the user'));
      };
      process.on('SIGINT', onInterrupt);
      const started = Date.now();
      try {
        const result = await withOfflineRepository(repo, ctx.env, unlock, async (repository) => {
          const chosen: SnapshotSummary = await repository.resolveSnapshot(flags.asOf === undefined ? snapshot : { asOf: new Date(flags.asOf).toISOString() }, filter);
          progress.phase(`offline-restore: snapshot ${shortId(chosen.id)} (${chosen.time}, ${chosen.host}:${chosen.paths.join(',')}) from ${repository.location}`);
          const restored = await stagedRestore(
            repository,
            {
              snapshotId: chosen.id,
              target: flags.target ?? '',
              ...(flags.include === undefined ? {} : { include: flags.include }),
              ...(flags.exclude === undefined ? {} : { exclude: flags.exclude }),
              ...(flags.overwrite === true ? { overwrite: true } : {}),
            },
            {
              signal: abort.signal,
              onPhase: (phase) => progress.phase(`offline-restore: ${phase === 'restore' ? 'restoring into a staging directory' : phase === 'compare' ? 'verifying byte for byte against the snapshot' : 'swapping into place'}`),
              onProgress: (phase, p) => progress.update(phase, p),
            },
          );
          return { snapshot: chosen, ...restored };
        });
        progress.clear();
        const durationMs = Date.now() - started;
        ctx.print(
          { snapshotId: result.snapshot.id, snapshotTime: result.snapshot.time, target: result.target, files: result.files, dirs: result.dirs, bytes: result.bytes, skipped: result.skipped, verified: { matched: result.matched, differences: 0 }, replacedExisting: result.replacedExisting, durationMs },
          () =>
            [
              `restored snapshot ${shortId(result.snapshot.id)} (${result.snapshot.time}) to ${result.target} without Temporal`,
              `  ${result.files} files, ${result.dirs} dirs, ${formatBytes(result.bytes)} in ${seconds(durationMs)}${result.skipped > 0 ? ` (${result.skipped} already restored by an earlier attempt)` : ''}`,
              `  verified byte for byte against the snapshot: ${result.matched} entries match, 0 differences`,
            ].join('\n'),
        );
      } finally {
        progress.clear();
        process.off('SIGINT', onInterrupt);
      }
    });
}
