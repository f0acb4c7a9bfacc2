/** `coffer snapshots --repo <url>`: list snapshots (read here with the user's password; no workflow needed). */
import type { Command } from 'commander';
import { formatBytes } from '../progress';
import { shortId } from './common';
import type { ContextFactory } from './common';

interface SnapshotsFlags {
  repo: string;
  host?: string;
}

export function registerSnapshots(program: Command, makeContext: ContextFactory): void {
  program
    .command('snapshots')
    .description('list the snapshots of a repository, oldest first')
    .requiredOption('-r, --repo <url>', 'repository URL')
    .option('--host <host>', 'only snapshots of this host')
    .action(async (flags: SnapshotsFlags, command: Command) => {
      const ctx = makeContext(command);
      const repo = ctx.repoUrl(flags.repo);
      const snapshots = (await ctx.withRepository(repo, async (repository) => repository.listSnapshots()))
        .filter((s) => flags.host === undefined || s.host === flags.host)
        .sort((a, b) => Date.parse(a.time) - Date.parse(b.time));
      ctx.print(snapshots, () => {
        if (snapshots.length === 0) return 'no snapshots';
        const rows = snapshots.map((s) => [shortId(s.id), s.time.replace(/\.\d+Z$/, 'Z'), s.host, formatBytes(s.stats.bytes), String(s.stats.files), s.tags.join(','), s.paths.join(' ')]);
        const header = ['ID', 'TIME', 'HOST', 'SIZE', 'FILES', 'TAGS', 'PATHS'];
        const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
        const line = (r: string[]): string => r.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join('  ').trimEnd();
        return [line(header), ...rows.map(line), `${snapshots.length} snapshot(s)`].join('\n');
      });
    });
}
