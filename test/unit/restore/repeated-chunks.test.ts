/**
 * A large chunk that a restore writes more than once (duplicate files) is
 * decoded once and kept until its last use, within a budget; everything is
 * still restored byte for byte.
 */
import assert from 'node:assert/strict';
import { readFile, rm } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { describe, it } from 'node:test';

import type { CofferRepository } from '../../../activities/engine/repository';
import { RepeatedChunks } from '../../../activities/engine/restore/repeated-chunks';
import type { RepeatedChunk } from '../../../activities/engine/restore/repeated-chunks';
import { cleanupDir, makeBackend, PASS, pseudoRandom, SMALL, tempDir, testEngine, writeTree } from '../engine/helpers';

const MiB = 1024 * 1024;

function plan(entries: Record<string, RepeatedChunk>): Map<string, RepeatedChunk> {
  return new Map(Object.entries(entries));
}

function loader(id: string, size: number): { load: () => Promise<Buffer>; calls: () => number } {
  let calls = 0;
  return {
    load: () => {
      calls++;
      return Promise.resolve(Buffer.alloc(size, id));
    },
    calls: () => calls,
  };
}

void describe('RepeatedChunks', () => {
  void it('loads a repeated chunk once, serves every use, and lets it go at the last one', async () => {
    const chunks = new RepeatedChunks(plan({ a: { uses: 3, size: 100 } }), 1000);
    const a = loader('a', 100);
    const first = chunks.use('a', a.load);
    assert.ok(first !== undefined);
    assert.equal(chunks.bytesKept, 100);
    const second = chunks.use('a', a.load);
    assert.equal(chunks.bytesKept, 100);
    const third = chunks.use('a', a.load);
    assert.equal(chunks.bytesKept, 0, 'released at its last use');
    assert.equal(a.calls(), 1);
    for (const p of [first, second, third]) assert.ok((await (p as Promise<Buffer>)).equals(Buffer.alloc(100, 'a')));
  });

  void it('leaves chunks that are not repeated, or do not fit the budget, to the caller', () => {
    const chunks = new RepeatedChunks(plan({ big: { uses: 2, size: 600 }, other: { uses: 2, size: 600 } }), 1000);
    const big = loader('big', 600);
    const other = loader('other', 600);
    assert.equal(chunks.use('unplanned', big.load), undefined);
    assert.ok(chunks.use('big', big.load) !== undefined);
    assert.equal(chunks.use('other', other.load), undefined, 'no room next to big');
    assert.equal(other.calls(), 0);
    assert.ok(chunks.use('big', big.load) !== undefined, 'the last use of a kept chunk is served');
    assert.equal(chunks.bytesKept, 0);
    assert.equal(chunks.use('other', other.load), undefined, 'the last use of a chunk never kept: decode it yourself');
    assert.equal(big.calls(), 1);
  });

  void it('forgets a load that failed, so later uses decode the chunk themselves', async () => {
    const chunks = new RepeatedChunks(plan({ bad: { uses: 3, size: 10 } }), 1000);
    const failing = chunks.use('bad', () => Promise.reject(new Error('damaged')));
    assert.ok(failing !== undefined);
    await assert.rejects(failing, /damaged/);
    assert.equal(chunks.bytesKept, 0);
    const again = loader('bad', 10);
    const retry = chunks.use('bad', again.load);
    assert.ok(retry !== undefined, 'a use that still has one after it is kept again');
    assert.equal(again.calls(), 1);
  });
});

void describe('restore decodes a chunk shared by several files once', () => {
  void it('restores duplicate large and small files byte for byte with one decode per repeated chunk', async () => {
    const fx = await makeBackend('local');
    const src = await tempDir('rc-src');
    const target = await tempDir('rc-target');
    let repo: CofferRepository | undefined;
    try {
      const large = pseudoRandom(3 * MiB + 5, 21);
      const small = pseudoRandom(900_000, 22);
      const files: Record<string, Buffer> = {
        'a/large.bin': large,
        'b/large-copy.bin': large,
        'c/large-copy-2.bin': large,
        'a/small.bin': small,
        'b/small-copy.bin': small,
        'unique.bin': pseudoRandom(2 * MiB, 23),
      };
      await writeTree(src, files);
      const options = { ...SMALL, averageChunkSize: 256 * 1024, packSize: 4 * MiB };
      const made = (await testEngine({ cpuWorkers: 1 }).init(fx.backend, PASS, options)) as CofferRepository;
      const snapshot = (await made.backup({ paths: [src], host: 'h' })).id;
      await made.close();
      repo = (await testEngine({ cpuWorkers: 1 }).open(fx.backend, PASS)) as CofferRepository;

      // Every decode of a data chunk goes through one of these two.
      const decodes = new Map<string, number>();
      const count = (id: string): void => void decodes.set(id, (decodes.get(id) ?? 0) + 1);
      const core = repo.core;
      const loadChunk = core.loadChunk.bind(core);
      const writeChunkTo = core.writeChunkTo.bind(core);
      core.loadChunk = async (id, type, signal) => {
        if (type === 'data') count(id);
        return loadChunk(id, type, signal);
      };
      core.writeChunkTo = async (id, size, fd, position, opts) => {
        const done = await writeChunkTo(id, size, fd, position, opts);
        if (done) count(id);
        return done;
      };

      const result = await repo.restore({ snapshot, target });
      assert.equal(result.files, Object.keys(files).length);
      const base = join(target, basename(src));
      for (const [rel, content] of Object.entries(files)) assert.ok((await readFile(join(base, rel))).equals(content), `${rel} differs`);

      const repeated = [...core.index.chunks].filter(([id, loc]) => loc.type === 'data' && loc.rawLength >= 256 * 1024 && decodes.has(id));
      assert.ok(repeated.length >= 6, `the fixture has large chunks (${repeated.length})`);
      for (const [id] of repeated) assert.equal(decodes.get(id), 1, `chunk ${id} decoded ${decodes.get(id)} times`);
    } finally {
      await repo?.close();
      await cleanupDir(src);
      await rm(target, { recursive: true, force: true });
      await fx.cleanup();
    }
  });
});
