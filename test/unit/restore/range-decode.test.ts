/**
 * Restore's batched decoding: the announced small chunks of a pack range are
 * opened, decompressed and hashed together in one CPU-pool job (a real worker
 * thread here). The plaintexts it hands out must be exactly the files'
 * content (also for a chunk two files share), and a damaged chunk inside such
 * a range must still fail the restore with IntegrityError, naming the chunk,
 * with nothing unverified at a final path.
 */
import assert from 'node:assert/strict';
import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import type { Repository } from '../../../activities/engine/api';
import type { CofferRepository } from '../../../activities/engine/repository';
import { Names } from '../../../activities/repository/format';
import { cleanupDir, filesUnder, makeBackend, PASS, pseudoRandom, replaceObject, SMALL, tempDir, testEngine, writeTree } from '../engine/helpers';

/**
 * 300 small files (one chunk each, some compressible; ~1 MB, so a range is
 * decoded in more than one job), two of them identical (one chunk, used twice).
 */
function smallFiles(): Record<string, Buffer> {
  const files: Record<string, Buffer> = {};
  for (let i = 0; i < 300; i++) {
    const size = 500 + ((i * 997) % 6000);
    files[`d${i % 3}/f${i}.bin`] = i % 2 === 0 ? pseudoRandom(size, i + 1) : Buffer.from(`line ${i}\n`.repeat(Math.ceil(size / 8)).slice(0, size));
  }
  files['d0/copy-of-f4.bin'] = files['d1/f4.bin'] ?? files['d1/f1.bin'];
  return files;
}

void describe('restore decodes pack ranges in batches on the CPU pool', () => {
  it('restores every small file byte for byte, a shared chunk included', async () => {
    const fx = await makeBackend('local');
    const src = await tempDir('range-src');
    const target = await tempDir('range-target');
    const files = smallFiles();
    let repo: Repository | undefined;
    try {
      await writeTree(src, files);
      const engine = testEngine({ cpuWorkers: 1 });
      const init = await engine.init(fx.backend, PASS, { ...SMALL, packSize: 1024 * 1024 });
      const snap = await init.backup({ paths: [src], host: 'h' });
      await init.close();
      repo = await engine.open(fx.backend, PASS);
      const result = await repo.restore({ snapshot: snap.id, target });
      assert.equal(result.files, Object.keys(files).length);
      const restoredRoot = join(target, src);
      const rootExists = await readdir(restoredRoot).then(() => true, () => false);
      const base = rootExists ? restoredRoot : join(target, src.split('/').pop() as string);
      assert.deepEqual(await filesUnder(base), Object.keys(files).sort());
      for (const [rel, content] of Object.entries(files)) assert.ok((await readFile(join(base, rel))).equals(content), rel);
    } finally {
      await repo?.close();
      await cleanupDir(src);
      await rm(target, { recursive: true, force: true });
      await fx.cleanup();
    }
  });

  it('a flipped byte in one chunk of a batch fails the restore with IntegrityError naming it; nothing unverified at a final path', async () => {
    const fx = await makeBackend('local');
    const src = await tempDir('range-src');
    const target = await tempDir('range-target');
    const files = smallFiles();
    let repo: Repository | undefined;
    try {
      await writeTree(src, files);
      const engine = testEngine({ cpuWorkers: 1 });
      const init = (await engine.init(fx.backend, PASS, { ...SMALL, packSize: 1024 * 1024 })) as CofferRepository;
      const snap = await init.backup({ paths: [src], host: 'h' });
      // A chunk in the middle of a pack with neighbours on both sides: it is decoded with them in one job.
      const byPack = new Map<string, { id: string; offset: number; length: number }[]>();
      for (const [id, loc] of init.core.index.chunks) {
        if (loc.type !== 'data') continue;
        const list = byPack.get(loc.pack) ?? [];
        list.push({ id, offset: loc.offset, length: loc.length });
        byPack.set(loc.pack, list);
      }
      const [pack, chunks] = [...byPack].sort((a, b) => b[1].length - a[1].length)[0];
      assert.ok(chunks.length >= 5, `expected a pack with several chunks, got ${chunks.length}`);
      chunks.sort((a, b) => a.offset - b.offset);
      const victim = chunks[Math.floor(chunks.length / 2)];
      await init.close();
      await replaceObject(fx.backend, Names.pack(pack), (b) => {
        b[victim.offset + 40] ^= 0x10;
        return b;
      });
      repo = await engine.open(fx.backend, PASS);
      await assert.rejects(repo.restore({ snapshot: snap.id, target }), (err: Error) => {
        assert.equal((err as { code?: string }).code, 'COFFER-E205');
        assert.ok(err.message.includes(victim.id), err.message);
        return true;
      });
      // Whatever was renamed into place is byte-identical to the source; no temp file is left.
      const restored = await filesUnder(target);
      for (const path of restored) {
        assert.ok(!/\.coffer-tmp|\.tmp-/.test(path), `leftover ${path}`);
        const rel = Object.keys(files).find((r) => path.endsWith(`/${r}`));
        assert.ok(rel !== undefined, `unexpected ${path}`);
        assert.ok((await readFile(join(target, path))).equals(files[rel]), `${path} differs from the source`);
      }
    } finally {
      await repo?.close();
      await cleanupDir(src);
      await rm(target, { recursive: true, force: true });
      await fx.cleanup();
    }
  });
});
