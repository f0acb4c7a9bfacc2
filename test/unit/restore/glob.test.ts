import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { describe, it } from 'node:test';

import { InvalidInput } from '../../../activities/errors';
import { PathFilter, compareTree, compileGlob, globCouldMatchBelow, globMatches, restoreTree } from '../../../activities/engine/restore';
import { MemorySnapshot, dirNode, fileNode } from './memory-snapshot';

const split = (path: string): string[] => path.split('/');

void describe('restore globs', () => {
  void it('matches *, ? and ** anchored to the snapshot-relative path', () => {
    const cases: [string, string, boolean][] = [
      ['*.txt', 'a.txt', true],
      ['*.txt', 'dir/a.txt', false],
      ['dir/*.txt', 'dir/a.txt', true],
      ['**/*.txt', 'a.txt', true],
      ['**/*.txt', 'x/y/z/a.txt', true],
      ['docs/**', 'docs', true],
      ['docs/**', 'docs/a/b', true],
      ['docs/**', 'doc/a', false],
      ['a/**/z', 'a/z', true],
      ['a/**/z', 'a/b/c/z', true],
      ['a/**/z', 'a/b/c/y', false],
      ['f?le', 'file', true],
      ['f?le', 'fiile', false],
      ['/etc/*', 'etc/passwd', true],
      ['caf\u00e9', 'cafe\u0301', false],
      ['line*', 'line\nbreak', true],
      ['a.b', 'axb', false],
      ['(x)[y]{z}+$^|', '(x)[y]{z}+$^|', true],
    ];
    for (const [pattern, path, expected] of cases) {
      assert.equal(globMatches(compileGlob(pattern), split(path)), expected, `${pattern} vs ${JSON.stringify(path)}`);
    }
  });

  void it('knows when a directory can contain a match', () => {
    assert.equal(globCouldMatchBelow(compileGlob('a/b/*.txt'), ['a']), true);
    assert.equal(globCouldMatchBelow(compileGlob('a/b/*.txt'), ['a', 'b']), true);
    assert.equal(globCouldMatchBelow(compileGlob('a/b/*.txt'), ['a', 'c']), false);
    assert.equal(globCouldMatchBelow(compileGlob('a/b/*.txt'), ['a', 'b', 'c']), false);
    assert.equal(globCouldMatchBelow(compileGlob('**/x'), ['any', 'depth']), true);
  });

  void it('selects descendants of a matched directory and lets excludes win', () => {
    const filter = new PathFilter(['docs', '**/*.md'], ['docs/private']);
    assert.equal(filter.selects(split('docs/a/b.txt')), true);
    assert.equal(filter.selects(split('docs/private/key')), false);
    assert.equal(filter.selects(split('src/readme.md')), true);
    assert.equal(filter.selects(split('src/main.ts')), false);
    assert.equal(filter.descends(split('src')), true);
    assert.equal(filter.descends(split('docs/private')), false);
    assert.throws(() => new PathFilter(['']), InvalidInput);
  });

  void it('restores and compares only the selected entries, creating just the directories they need', async () => {
    const work = await mkdtemp(`${tmpdir()}/coffer-restore-glob-`);
    try {
      const snap = new MemorySnapshot();
      const root = snap.addTree([
        dirNode(snap, 'docs', [fileNode(snap, 'guide.md', 'g'), dirNode(snap, 'private', [fileNode(snap, 'key', 'k')])]),
        dirNode(snap, 'src', [fileNode(snap, 'main.ts', 'm'), fileNode(snap, 'notes.md', 'n')]),
        dirNode(snap, 'unrelated', [fileNode(snap, 'x', 'x')]),
        dirNode(snap, 'empty-selected', []),
        fileNode(snap, 'top.txt', 't'),
      ]);
      const options = { include: ['docs', '**/*.md', 'empty-selected'], exclude: ['docs/private'] };
      const result = await restoreTree(snap, root, `${work}/t`, options);
      assert.equal(result.files, 2);
      assert.deepEqual((await readdir(`${work}/t`)).sort(), ['docs', 'empty-selected', 'src']);
      assert.deepEqual(await readdir(`${work}/t/docs`), ['guide.md']);
      assert.deepEqual(await readdir(`${work}/t/src`), ['notes.md']);
      const comparison = await compareTree(snap, root, `${work}/t`, options);
      assert.deepEqual(comparison.differences, []);
      const full = await compareTree(snap, root, `${work}/t`);
      assert.ok(full.differences.some((d) => d.path === 'top.txt' && d.what === 'missing'));
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  });
});
