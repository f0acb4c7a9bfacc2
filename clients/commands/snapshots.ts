/**
 * `coffer snapshots --repo <url>`: list snapshots; `snapshots show <id>`: list
 * a snapshot's tree (like `restic ls`); `snapshots diff <a> <b>`: what changed
 * between two snapshots (like `restic diff`). All read the repository here,
 * with the user's password, like restic: no workflow, no Temporal, and
 * nothing about file names goes through a workflow payload. Listings are
 * bounded by --limit, with a count of what was left out.
 */
import type { Command } from 'commander';
import type { SnapshotSummary } from '../../activities/engine/api';
import { InvalidInput } from '../../activities/errors';
import { listedEntry, modeString, TreeReader } from '../offline/tree-walk';
import type { Change, ChangeKind, ListedEntry } from '../offline/tree-walk';
import { formatBytes } from '../progress';
import { nonNegativeInt, shortId } from './common';
import type { ContextFactory } from './common';

interface SnapshotsFlags {
  repo?: string;
  host?: string;
}

interface ShowFlags {
  repo?: string;
  path?: string;
  long?: boolean;
  limit: number;
  offset: number;
}

interface DiffFlags {
  repo?: string;
  limit: number;
  offset: number;
  metadata?: boolean;
}

const DEFAULT_LIMIT = 1000;

/** --repo given to this command or to `snapshots` (which parses it wherever it stands). */
function repoOf(flags: { repo?: string }, command: Command): string {
  const repo = flags.repo ?? command.optsWithGlobals<{ repo?: string }>().repo;
  if (repo === undefined) throw new InvalidInput('no repository given', { hint: 'pass --repo <url>' });
  return repo;
}

export function renderSnapshotTable(snapshots: readonly SnapshotSummary[]): string {
  if (snapshots.length === 0) return 'no snapshots';
  const rows = snapshots.map((s) => [shortId(s.id), s.time.replace(/\.\d+Z$/, 'Z'), s.host, formatBytes(s.stats.bytes), String(s.stats.files), s.tags.join(','), s.paths.join(' ')]);
  const header = ['ID', 'TIME', 'HOST', 'SIZE', 'FILES', 'TAGS', 'PATHS'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]): string => r.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join('  ').trimEnd();
  return [line(header), ...rows.map(line), `${snapshots.length} snapshot(s)`].join('\n');
}

function moreLine(omitted: number, next: number): string[] {
  return omitted > 0 ? [`… ${omitted} more (next page: --offset ${next}; --limit 0 = no limit; or narrow with --path)`] : [];
}

const DIFF_MARK: Readonly<Record<ChangeKind, string>> = { added: '+', removed: '-', modified: 'M', type: 'T', metadata: 'U' };

export function registerSnapshots(program: Command, makeContext: ContextFactory): void {
  const snapshots = program
    .command('snapshots')
    .description('list the snapshots of a repository, oldest first (subcommands: show, diff)')
    // Not requiredOption: commander would demand it of `snapshots show` too, and it parses
    // this command's options anywhere on the line, so subcommands read it through repoOf().
    .option('-r, --repo <url>', 'repository URL')
    .option('--host <host>', 'only snapshots of this host')
    .action(async (flags: SnapshotsFlags, command: Command) => {
      const ctx = makeContext(command);
      const repo = ctx.repoUrl(repoOf(flags, command));
      const list = (await ctx.withRepository(repo, async (repository) => repository.listSnapshots()))
        .filter((s) => flags.host === undefined || s.host === flags.host)
        .sort((a, b) => Date.parse(a.time) - Date.parse(b.time));
      ctx.print(list, () => renderSnapshotTable(list));
    });

  snapshots
    .command('show')
    .description("list a snapshot's files and directories, like `restic ls`")
    .argument('<snapshot>', "snapshot id, unique prefix, or 'latest'")
    .option('-r, --repo <url>', 'repository URL')
    .option('--path <dir>', 'list only below this directory of the snapshot (e.g. /src/docs)')
    .option('-l, --long', 'mode, size and modification time too')
    .option('--limit <n>', `entries printed at most (default ${DEFAULT_LIMIT}; 0 = all)`, nonNegativeInt, DEFAULT_LIMIT)
    .option('--offset <n>', 'skip this many entries first (page through a large listing)', nonNegativeInt, 0)
    .action(async (ref: string, flags: ShowFlags, command: Command) => {
      const ctx = makeContext(command);
      const repo = ctx.repoUrl(repoOf(flags, command));
      const out = await ctx.withRepository(repo, async (repository) => {
        const snapshot = await repository.resolveSnapshot(ref);
        const reader = new TreeReader(repository);
        const { treeId, prefix } = await reader.subtreeAt(snapshot.rootTree, flags.path ?? '/');
        const entries: ListedEntry[] = [];
        let total = 0;
        for await (const { path, node } of reader.walk(treeId, prefix)) {
          total += 1;
          if (total > flags.offset && (flags.limit === 0 || entries.length < flags.limit)) entries.push(listedEntry(path, node));
        }
        return { snapshot, entries, total };
      });
      const { snapshot, entries, total } = out;
      const omitted = Math.max(0, total - flags.offset - entries.length);
      ctx.print({ snapshotId: snapshot.id, time: snapshot.time, host: snapshot.host, paths: snapshot.paths, path: flags.path ?? '/', total, offset: flags.offset, omitted, entries }, () => {
        const head = `snapshot ${shortId(snapshot.id)} of ${snapshot.host}:${snapshot.paths.join(',')} at ${snapshot.time}${flags.path === undefined ? '' : `, below ${flags.path}`}:`;
        const lines = entries.map((e) => {
          if (flags.long !== true) return e.path;
          const owner = `${e.user ?? e.uid}/${e.group ?? e.gid}`;
          const size = String(e.size ?? 0).padStart(12);
          return `${modeString(e.type, e.mode)} ${owner.padEnd(13)} ${size} ${e.mtime.replace(/\.\d+Z$/, 'Z')} ${e.path}${e.linkTarget === undefined ? '' : ` -> ${e.linkTarget}`}`;
        });
        const skipped = flags.offset > 0 ? [`(${Math.min(flags.offset, total)} skipped by --offset)`] : [];
        return [head, ...skipped, ...lines, ...moreLine(omitted, flags.offset + entries.length), `${total} entr${total === 1 ? 'y' : 'ies'}`].join('\n');
      });
    });

  snapshots
    .command('diff')
    .description('what changed between two snapshots (+ added, - removed, M content modified, U metadata only), like `restic diff`')
    .argument('<a>', "older snapshot: id, unique prefix, or 'latest'")
    .argument('<b>', "newer snapshot: id, unique prefix, or 'latest'")
    .option('-r, --repo <url>', 'repository URL')
    .option('--metadata', 'also list entries whose metadata (mode, owner, mtime) alone changed')
    .option('--limit <n>', `changes printed at most (default ${DEFAULT_LIMIT}; 0 = all); the totals always count everything`, nonNegativeInt, DEFAULT_LIMIT)
    .option('--offset <n>', 'skip this many changes first (page through a large diff)', nonNegativeInt, 0)
    .action(async (refA: string, refB: string, flags: DiffFlags, command: Command) => {
      const ctx = makeContext(command);
      const repo = ctx.repoUrl(repoOf(flags, command));
      const out = await ctx.withRepository(repo, async (repository) => {
        const [a, b] = await Promise.all([repository.resolveSnapshot(refA), repository.resolveSnapshot(refB)]);
        const reader = new TreeReader(repository);
        const changes: Change[] = [];
        const totals = { added: 0, removed: 0, modified: 0, metadata: 0, bytesAdded: 0, bytesRemoved: 0 };
        let listed = 0;
        for await (const change of reader.diff(a.rootTree, b.rootTree, '')) {
          if (change.kind === 'metadata' && flags.metadata !== true) continue;
          listed += 1;
          if (change.kind === 'added') totals.added += 1;
          else if (change.kind === 'removed') totals.removed += 1;
          else if (change.kind === 'modified') totals.modified += 1;
          else totals.metadata += 1;
          totals.bytesAdded += change.kind === 'added' ? change.sizeAfter ?? 0 : change.kind === 'modified' ? Math.max(0, (change.sizeAfter ?? 0) - (change.sizeBefore ?? 0)) : 0;
          totals.bytesRemoved += change.kind === 'removed' ? change.sizeBefore ?? 0 : change.kind === 'modified' ? Math.max(0, (change.sizeBefore ?? 0) - (change.sizeAfter ?? 0)) : 0;
          if (listed > flags.offset && (flags.limit === 0 || changes.length < flags.limit)) changes.push(change);
        }
        return { a, b, changes, totals, listed };
      });
      const { a, b, changes, totals, listed } = out;
      const omitted = Math.max(0, listed - flags.offset - changes.length);
      ctx.print({ from: a.id, to: b.id, totals, offset: flags.offset, omitted, changes }, () => {
        const lines = changes.map((c) => {
          const size = c.kind === 'modified' ? `${formatBytes(c.sizeBefore ?? 0)} -> ${formatBytes(c.sizeAfter ?? 0)}` : c.sizeAfter !== undefined ? formatBytes(c.sizeAfter) : c.sizeBefore !== undefined ? formatBytes(c.sizeBefore) : '';
          return `${DIFF_MARK[c.kind]}    ${c.path}${c.type === 'dir' ? '/' : ''}${size === '' ? '' : `  (${size})`}`;
        });
        return [
          `comparing snapshot ${shortId(a.id)} (${a.time}) to ${shortId(b.id)} (${b.time}):`,
          ...(flags.offset > 0 ? [`(${Math.min(flags.offset, listed)} skipped by --offset)`] : []),
          ...lines,
          ...moreLine(omitted, flags.offset + changes.length),
          `added: ${totals.added} entries, ${formatBytes(totals.bytesAdded)}; removed: ${totals.removed} entries, ${formatBytes(totals.bytesRemoved)}; modified: ${totals.modified}${flags.metadata === true ? `; metadata only: ${totals.metadata}` : ''}`,
        ].join('\n');
      });
    });
}
