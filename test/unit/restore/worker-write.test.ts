/**
 * Large files are restored in their own lane, and their large chunks are
 * opened, checked and written at their offsets by a CPU-pool worker (the
 * plaintext never comes back to the main thread). The result must be the
 * source byte for byte (holes included, and next to small files restored at
 * the same time); a damaged chunk must fail the restore naming it with
 * nothing unverified at a final path; a full disk hit by the worker's write
 * must still be NoSpace with no temp file left.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, open, readFile, rm, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { describe, it } from 'node:test';

import type { Repository } from '../../../activities/engine/api';
import type { CofferRepository } from '../../../activities/engine/repository';
import { NoSpace } from '../../../activities/engine/restore';
import { Names } from '../../../activities/repository/format';
import { cleanupDir, filesUnder, listNames, makeBackend, PASS, pseudoRandom, replaceObject, SMALL, tempDir, testEngine, writeTree } from '../engine/helpers';
import type { BackendFixture } from '../engine/helpers';

const MiB = 1024 * 1024;
/** Chunks of 64 KiB to 1 MiB: most of them large enough for the worker path (128 KiB and up). */
const OPTIONS = { ...SMALL, averageChunkSize: 256 * 1024, packSize: 4 * MiB };

function withHole(): Buffer {
  // Data, 1 MiB of zeros (stored as a hole), data, and 512 KiB of zeros at the end (a trailing hole).
  return Buffer.concat([pseudoRandom(700_000, 11), Buffer.alloc(MiB), pseudoRandom(900_000, 12), Buffer.alloc(512 * 1024)]);
}

function sourceFiles(): Record<string, Buffer> {
  const files: Record<string, Buffer> = {
    'big/random-a.bin': pseudoRandom(3 * MiB + 123, 1),
    'big/random-b.bin': pseudoRandom(2 * MiB + 7, 2),
    'big/text.log': Buffer.from('2026-11-22 backup ok files=42 bytes=1234567\n'.repeat(80_000)),
  };
  for (let i = 0; i < 40; i++) files[`small/f${i}.txt`] = Buffer.from(`small file ${i}\n`.repeat(10 + i * 13));
  return files;
}

/** Where the source's tree lands inside the target (a backed-up path is restored under its last name). */
function restoredBase(target: string, src: string): string {
  return join(target, basename(src));
}

/** big/sparse.img as a really sparse file (its holes never written), so the backup records them as holes. */
async function writeSparse(src: string): Promise<void> {
  const handle = await open(join(src, 'big/sparse.img'), 'w');
  try {
    const content = withHole();
    await handle.write(content, 0, 700_000, 0);
    await handle.write(content, 700_000 + MiB, 900_000, 700_000 + MiB);
    await handle.truncate(content.length);
  } finally {
    await handle.close();
  }
}

async function backedUp(fx: BackendFixture, src: string, files: Record<string, Buffer>, sparse = false): Promise<{ snapshot: string; repo: CofferRepository }> {
  await writeTree(src, files);
  if (sparse) await writeSparse(src);
  const repo = (await testEngine({ cpuWorkers: 1 }).init(fx.backend, PASS, OPTIONS)) as CofferRepository;
  const snap = await repo.backup({ paths: [src], host: 'h' });
  return { snapshot: snap.id, repo };
}

interface Workspace {
  readonly fx: BackendFixture;
  readonly src: string;
  readonly target: string;
  /** Opens the repository again (closed when the test ends). */
  readonly reopen: () => Promise<Repository>;
}

/** A local repository, a source and a target directory, all removed afterwards. */
async function inWorkspace(body: (ws: Workspace) => Promise<void>): Promise<void> {
  const fx = await makeBackend('local');
  const src = await tempDir('ww-src');
  const target = await tempDir('ww-target');
  const opened: Repository[] = [];
  try {
    await body({
      fx,
      src,
      target,
      reopen: async () => {
        const repo = await testEngine({ cpuWorkers: 1 }).open(fx.backend, PASS);
        opened.push(repo);
        return repo;
      },
    });
  } finally {
    for (const repo of opened) await repo.close();
    await cleanupDir(src);
    await rm(target, { recursive: true, force: true });
    await fx.cleanup();
  }
}

/** After a failed restore: no temp file under `root`, and every file there is complete (equal to its source). */
async function assertOnlyCompleteFiles(root: string, base: string, files: Record<string, Buffer>, what: string): Promise<void> {
  for (const path of await filesUnder(root)) {
    assert.ok(!/\.coffer-tmp|\.tmp-/.test(path), `leftover ${path}`);
    const rel = Object.keys(files).find((r) => join(root, path) === join(base, r));
    assert.ok(rel !== undefined, `unexpected ${path}`);
    assert.ok((await readFile(join(root, path))).equals(files[rel]), `${path} ${what}`);
  }
}

void describe('restore writes large chunks from the CPU pool', () => {
  void it('restores large files (holes kept sparse) next to small ones, byte for byte', async () => {
    await inWorkspace(async ({ fx, src, target, reopen }) => {
      const files = sourceFiles();
      const made = await backedUp(fx, src, files, true);
      files['big/sparse.img'] = withHole();
      const large = [...made.repo.core.index.chunks.values()].filter((loc) => loc.type === 'data' && loc.length >= 128 * 1024).length;
      assert.ok(large >= 8, `the fixture exercises the worker path (${large} large chunks)`);
      await made.repo.close();
      const repo = await reopen();
      const result = await repo.restore({ snapshot: made.snapshot, target });
      assert.equal(result.files, Object.keys(files).length);
      const base = restoredBase(target, src);
      assert.deepEqual(await filesUnder(base), Object.keys(files).sort());
      for (const [rel, content] of Object.entries(files)) assert.ok((await readFile(join(base, rel))).equals(content), `${rel} differs`);
      const sparse = await stat(join(base, 'big/sparse.img'));
      assert.equal(sparse.size, withHole().length);
      assert.ok(sparse.blocks * 512 < sparse.size - MiB, `holes stay holes (${sparse.blocks * 512} bytes allocated for ${sparse.size})`);
    });
  });

  void it('a flipped byte in a large chunk fails the restore naming the chunk; nothing unverified at a final path, no temp file', async () => {
    await inWorkspace(async ({ fx, src, target, reopen }) => {
      const files = sourceFiles();
      const made = await backedUp(fx, src, files);
      const [victimId, victim] = [...made.repo.core.index.chunks].find(([, loc]) => loc.type === 'data' && loc.length >= 256 * 1024) ?? [];
      assert.ok(victimId !== undefined && victim !== undefined, 'a large chunk to damage');
      await made.repo.close();
      await replaceObject(fx.backend, Names.pack(victim.pack), (b) => {
        b[victim.offset + Math.floor(victim.length / 2)] ^= 0x01;
        return b;
      });
      const repo = await reopen();
      await assert.rejects(repo.restore({ snapshot: made.snapshot, target }), (err: Error) => {
        assert.equal((err as { code?: string }).code, 'COFFER-E205');
        assert.ok(err.message.includes(victimId), err.message);
        return true;
      });
      await assertOnlyCompleteFiles(target, restoredBase(target, src), files, 'at its final path differs from the source');
    });
  });

  void it('a full disk met by the worker\'s write is NoSpace, with no temp file and only complete files', async () => {
    await inWorkspace(async ({ fx, src, target, reopen }) => {
      const small = join(target, 'small');
      const files = { 'big/random-a.bin': pseudoRandom(3 * MiB, 21), 'big/random-b.bin': pseudoRandom(3 * MiB, 22) };
      const made = await backedUp(fx, src, files);
      await made.repo.close();
      await mkdir(small);
      // 4 MiB: room for one file and a half.
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4m,mode=0755', 'tmpfs', small]);
      try {
        const repo = await reopen();
        await assert.rejects(repo.restore({ snapshot: made.snapshot, target: small }), NoSpace);
        await assertOnlyCompleteFiles(small, restoredBase(small, src), files, 'is incomplete at its final path');
      } finally {
        execFileSync('umount', [small]);
      }
    });
  });

  void it('compare checks restored files by chunk id without reading the packs, and finds a flipped byte and data in a hole', async () => {
    await inWorkspace(async ({ fx, src, target, reopen }) => {
      const files = sourceFiles();
      const made = await backedUp(fx, src, files, true);
      await made.repo.close();
      const repo = await reopen();
      await repo.restore({ snapshot: made.snapshot, target });
      const base = restoredBase(target, src);
      const clean = await repo.compare({ snapshot: made.snapshot, target });
      assert.deepEqual(clean.differences, []);
      // The trees stay readable from the cache; with the data packs gone, content can only be checked by hashing the disk.
      for (const { name } of await listNames(fx.backend, 'data/')) await fx.backend.remove(name);
      const flip = await open(join(base, 'big/random-a.bin'), 'r+');
      await flip.write(Buffer.from([files['big/random-a.bin'][2_500_000] ^ 0xff]), 0, 1, 2_500_000);
      await flip.close();
      const hole = await open(join(base, 'big/sparse.img'), 'r+');
      await hole.write(Buffer.from('not zero'), 0, 8, 700_000 + 4096);
      await hole.close();
      const dirty = await repo.compare({ snapshot: made.snapshot, target });
      // Writing moved the two files' mtimes too; the content findings are what this is about.
      const content = dirty.differences.filter((d) => d.what.startsWith('content'));
      const byPath = new Map(content.map((d) => [d.path, d.what]));
      assert.equal(content.length, 2, JSON.stringify(dirty.differences));
      assert.equal(dirty.differences.length, 4, JSON.stringify(dirty.differences));
      const flipped = [...byPath].find(([path]) => path.endsWith('big/random-a.bin'));
      assert.ok(flipped !== undefined && /content differs in bytes \d+\.\.\d+$/.test(flipped[1]), JSON.stringify(flipped));
      const [from, to] = (/(\d+)\.\.(\d+)/.exec(flipped[1]) ?? []).slice(1).map(Number);
      assert.ok(from <= 2_500_000 && 2_500_000 < to, `the reported stretch ${from}..${to} holds the flipped byte`);
      const holed = [...byPath].find(([path]) => path.endsWith('big/sparse.img'));
      assert.ok(holed !== undefined && holed[1].includes('(a hole in the snapshot)'), JSON.stringify(holed));
    });
  });
});
