/**
 * `coffer snapshots show` and `snapshots diff` checked against the tree that
 * was backed up (walked independently with fs), and their bounded output.
 */
import assert from 'node:assert/strict';
import { lstat, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { TEST_PASSWORD } from '../e2e/harness';
import { makeTree } from '../e2e/trees';
import { baseEnv, closedPort, runCoffer, withRepo } from './helpers';

interface Listed { path: string; type: string; size?: number; mode: number }
interface ShowJson { snapshotId: string; total: number; omitted: number; entries: Listed[] }
interface DiffJson { totals: { added: number; removed: number; modified: number; bytesAdded: number; bytesRemoved: number }; omitted: number; changes: { kind: string; path: string; sizeBefore?: number; sizeAfter?: number }[] }

/** Every entry under `dir` as the snapshot names it: `/<basename>/…`. */
async function walk(dir: string, prefix: string): Promise<Map<string, { type: string; size?: number }>> {
  const out = new Map<string, { type: string; size?: number }>();
  for (const name of await readdir(dir)) {
    const st = await lstat(join(dir, name));
    const path = `${prefix}/${name}`;
    const type = st.isSymbolicLink() ? 'symlink' : st.isDirectory() ? 'dir' : 'file';
    out.set(path, type === 'file' ? { type, size: st.size } : { type });
    if (type === 'dir') for (const [p, v] of await walk(join(dir, name), path)) out.set(p, v);
  }
  return out;
}

void describe('coffer snapshots show | diff', () => {
  let tmp: string;
  let env: Record<string, string>;
  let repo: string;
  let first: string;
  let second: string;
  let firstTree: Map<string, { type: string; size?: number }>;

  before(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'coffer-cli-snapshots-'));
    const src = join(tmp, 'src');
    await makeTree(src, { smallFiles: 12, largeFiles: [300_000] });
    repo = join(tmp, 'repo');
    // Client-side commands: Temporal is not needed, so prove it by pointing it at nothing.
    env = { ...baseEnv(), COFFER_PASSWORD: TEST_PASSWORD, TEMPORAL_ADDRESS: `127.0.0.1:${await closedPort()}` };
    first = await withRepo(repo, { passphrase: TEST_PASSWORD }, async (r) => (await r.backup({ paths: [src], host: 'snap-test' })).id, true);
    firstTree = await walk(src, '/src');
    // Changes: one file added, one removed, one rewritten with a new size, a directory added.
    await writeFile(join(src, 'added.txt'), 'new file\n');
    await rm(join(src, 'docs', 'empty.txt'));
    await writeFile(join(src, 'docs', 'readme.txt'), 'rewritten and longer than before\n');
    await makeTree(join(src, 'newdir'), { smallFiles: 2, largeFiles: [] });
    await new Promise((r) => setTimeout(r, 20));
    second = await withRepo(repo, { passphrase: TEST_PASSWORD }, async (r) => (await r.backup({ paths: [src], host: 'snap-test', parent: 'auto' })).id);
  });

  after(async () => {
    await rm(tmp, { recursive: true, force: true });
  });

  void it('show lists exactly the backed-up tree with types and sizes', async () => {
    const run = await runCoffer(['snapshots', 'show', first.slice(0, 12), '--repo', repo, '--limit', '0', '--json'], env);
    assert.equal(run.code, 0, run.stderr);
    const shown = JSON.parse(run.stdout) as ShowJson;
    assert.equal(shown.snapshotId, first);
    const expected = new Map([['/src', { type: 'dir' }], ...firstTree]);
    assert.equal(shown.total, expected.size);
    assert.equal(shown.omitted, 0);
    assert.deepEqual(new Map(shown.entries.map((e) => [e.path, e.type === 'file' ? { type: e.type, size: e.size } : { type: e.type }])), expected);
    const script = shown.entries.find((e) => e.path === '/src/run.sh');
    assert.equal(script?.mode, 0o755);
    // Paging: --offset/--limit return exactly that slice of the full listing.
    const page = await runCoffer(['snapshots', 'show', first, '--repo', repo, '--offset', '2', '--limit', '3', '--json'], env);
    assert.equal(page.code, 0, page.stderr);
    const paged = JSON.parse(page.stdout) as ShowJson;
    assert.deepEqual(paged.entries, shown.entries.slice(2, 5));
    assert.equal(paged.omitted, shown.total - 5);
  });

  void it('show --path --long narrows to a directory; --limit prints a "… N more" line', async () => {
    const long = await runCoffer(['snapshots', 'show', 'latest', '--repo', repo, '--path', '/src/docs', '--long'], env);
    assert.equal(long.code, 0, long.stderr);
    assert.match(long.stdout, /^-rw\S+ .* \/src\/docs\/readme\.txt$/m);
    assert.match(long.stdout, /^drwx\S+ .* \/src\/docs\/nested$/m);
    assert.doesNotMatch(long.stdout, /\/src\/data\//);
    const limited = await runCoffer(['snapshots', 'show', 'latest', '--repo', repo, '--limit', '3'], env);
    assert.equal(limited.code, 0, limited.stderr);
    const total = Number(/^(\d+) entries$/m.exec(limited.stdout)?.[1]);
    assert.ok(total > 3);
    assert.match(limited.stdout, new RegExp(`^… ${total - 3} more \\(next page: --offset 3`, 'm'));
    const missing = await runCoffer(['snapshots', 'show', 'latest', '--repo', repo, '--path', '/src/nope'], env);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /^COFFER-E100 no \/src\/nope in this snapshot/);
  });

  void it('diff reports added, removed and modified paths with sizes', async () => {
    const run = await runCoffer(['snapshots', 'diff', first, second, '--repo', repo, '--json'], env);
    assert.equal(run.code, 0, run.stderr);
    const diff = JSON.parse(run.stdout) as DiffJson;
    const byKind = (kind: string): string[] => diff.changes.filter((c) => c.kind === kind).map((c) => c.path).sort();
    const newdir = [...(await walk(join(tmp, 'src', 'newdir'), '/src/newdir')).keys()];
    assert.deepEqual(byKind('added'), ['/src/added.txt', '/src/newdir', ...newdir].sort());
    assert.deepEqual(byKind('removed'), ['/src/docs/empty.txt']);
    assert.deepEqual(byKind('modified'), ['/src/docs/readme.txt']);
    const readme = diff.changes.find((c) => c.path === '/src/docs/readme.txt');
    assert.equal(readme?.sizeBefore, 'Coffer keeps what matters.\n'.length);
    assert.equal(readme?.sizeAfter, 'rewritten and longer than before\n'.length);
    assert.equal(diff.totals.added, newdir.length + 2);
    assert.equal(diff.totals.removed, 1);
    assert.equal(diff.totals.modified, 1);

    const human = await runCoffer(['snapshots', 'diff', first, 'latest', '--repo', repo, '--limit', '2'], env);
    assert.equal(human.code, 0, human.stderr);
    assert.match(human.stdout, /^\+ {4}\/src\/added\.txt {2}\(9 B\)$/m);
    assert.match(human.stdout, new RegExp(`^… ${newdir.length + 4 - 2} more`, 'm'));
    assert.match(human.stdout, /^added: \d+ entries, .*; removed: 1 entries, 0 B; modified: 1$/m);

    const same = await runCoffer(['snapshots', 'diff', second, second, '--repo', repo, '--json'], env);
    assert.equal((JSON.parse(same.stdout) as DiffJson).changes.length, 0);
  });
});
