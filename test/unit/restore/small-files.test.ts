/**
 * The native batch calls behind restoring small files: writeFiles creates,
 * writes and finishes many files in one trip to the thread pool (content at
 * offsets with holes left sparse, owner, mode with setuid, nanosecond times),
 * and a file that fails is removed while the others are still written;
 * renameAll renames in order and stops at the first failure, naming it.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import { nativeFs } from '../../../activities/engine/fs/native';
import { SmallFileWriter } from '../../../activities/engine/restore/small-files';

async function workspace(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'coffer-small-files-'));
}

const MTIME = 1_700_000_000_123_456_789n;
const ATIME = 1_600_000_000_987_654_321n;

void describe('small-file batch writer', () => {
  it('writes content at offsets, leaves holes sparse, and sets mode (setuid too) and nanosecond times', async () => {
    const dir = await workspace();
    try {
      const writer = new SmallFileWriter();
      const a = Buffer.from('hello, small file\n');
      const tail = Buffer.alloc(4096, 7);
      await Promise.all([
        writer.write({ path: join(dir, 'a'), pieces: [{ offset: 0, data: a }], size: a.length, mode: 0o4750, uid: -1, gid: -1, atimeNs: ATIME, mtimeNs: MTIME }),
        // 1 MiB hole, 4 KiB of data, then a trailing hole up to 2 MiB.
        writer.write({ path: join(dir, 'sparse'), pieces: [{ offset: 1 << 20, data: tail }], size: 2 << 20, mode: 0o600, uid: -1, gid: -1, atimeNs: MTIME, mtimeNs: MTIME }),
        writer.write({ path: join(dir, 'empty'), pieces: [], size: 0, mode: 0o1644, uid: -1, gid: -1, atimeNs: MTIME, mtimeNs: MTIME }),
      ]);
      // Before reading it: a read moves atime (relatime).
      const st = await stat(join(dir, 'a'), { bigint: true });
      assert.equal(Number(st.mode & 0o7777n), 0o4750);
      assert.equal(st.mtimeNs, MTIME);
      assert.equal(st.atimeNs, ATIME);
      assert.ok((await readFile(join(dir, 'a'))).equals(a));
      const sparse = await readFile(join(dir, 'sparse'));
      assert.equal(sparse.length, 2 << 20);
      assert.ok(sparse.subarray(0, 1 << 20).equals(Buffer.alloc(1 << 20)));
      assert.ok(sparse.subarray(1 << 20, (1 << 20) + 4096).equals(tail));
      assert.ok(sparse.subarray((1 << 20) + 4096).equals(Buffer.alloc((2 << 20) - (1 << 20) - 4096)));
      const sparseStat = await stat(join(dir, 'sparse'));
      assert.ok(sparseStat.blocks * 512 < 64 * 1024, `holes were written: ${sparseStat.blocks} blocks`);
      const empty = await stat(join(dir, 'empty'));
      assert.equal(empty.size, 0);
      assert.equal(empty.mode & 0o7777, 0o1644);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('a failing file gets a Node-style error and is removed; an existing path is left alone; the rest of the batch is written', async () => {
    const dir = await workspace();
    try {
      await writeFile(join(dir, 'taken'), 'not yours');
      const writer = new SmallFileWriter();
      const data = Buffer.from('x');
      const base = { pieces: [{ offset: 0, data }], size: 1, mode: 0o644, uid: -1, gid: -1, atimeNs: MTIME, mtimeNs: MTIME };
      const outcomes = await Promise.allSettled([
        writer.write({ ...base, path: join(dir, 'ok-1') }),
        writer.write({ ...base, path: join(dir, 'no-such-dir', 'f') }),
        writer.write({ ...base, path: join(dir, 'taken') }),
        writer.write({ ...base, path: join(dir, 'ok-2') }),
      ]);
      assert.deepEqual(outcomes.map((o) => o.status), ['fulfilled', 'rejected', 'rejected', 'fulfilled']);
      const [missing, taken] = [outcomes[1], outcomes[2]].map((o) => (o as PromiseRejectedResult).reason as NodeJS.ErrnoException);
      assert.equal(missing.code, 'ENOENT');
      assert.equal(missing.syscall, 'open');
      assert.equal(missing.path, join(dir, 'no-such-dir', 'f'));
      assert.equal(taken.code, 'EEXIST');
      assert.equal(await readFile(join(dir, 'taken'), 'utf8'), 'not yours');
      assert.equal(await readFile(join(dir, 'ok-1'), 'utf8'), 'x');
      assert.equal(await readFile(join(dir, 'ok-2'), 'utf8'), 'x');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('sets the owner only when asked, and a refused chown removes the file', async () => {
    const dir = await workspace();
    try {
      const writer = new SmallFileWriter();
      const base = { pieces: [{ offset: 0, data: Buffer.from('o') }], size: 1, mode: 0o640, atimeNs: MTIME, mtimeNs: MTIME };
      const other = 12345;
      const path = join(dir, 'owned');
      if (process.getuid?.() === 0) {
        await writer.write({ ...base, path, uid: other, gid: other });
        const st = await stat(path);
        assert.equal(st.uid, other);
        assert.equal(st.gid, other);
        // chown clears setuid: the mode was applied after it.
        assert.equal(st.mode & 0o7777, 0o640);
      } else {
        await assert.rejects(writer.write({ ...base, path, uid: other, gid: other }), (err: NodeJS.ErrnoException) => err.code === 'EPERM' && err.syscall === 'fchown');
        await assert.rejects(stat(path), { code: 'ENOENT' });
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('renameAll renames in order and stops at the first failure, naming it', async () => {
    const dir = await workspace();
    try {
      for (const name of ['a', 'b', 'd']) await writeFile(join(dir, name), name);
      const [all, none] = await nativeFs().renameAll([join(dir, 'a'), join(dir, 'b')], [join(dir, 'A'), join(dir, 'B')]);
      assert.equal(all, 2);
      assert.equal(none, null);
      assert.equal(await readFile(join(dir, 'B'), 'utf8'), 'b');
      const [count, failure] = await nativeFs().renameAll([join(dir, 'A'), join(dir, 'c'), join(dir, 'd')], [join(dir, 'A2'), join(dir, 'C'), join(dir, 'D')]);
      assert.equal(count, 1);
      assert.equal((failure as NodeJS.ErrnoException).code, 'ENOENT');
      assert.equal((failure as NodeJS.ErrnoException).path, join(dir, 'C'));
      // Stopped: d was not renamed.
      assert.equal(await readFile(join(dir, 'd'), 'utf8'), 'd');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('rejects malformed arguments without creating anything', async () => {
    const dir = await workspace();
    try {
      assert.throws(() => nativeFs().writeFiles([join(dir, 'x')], [], new BigInt64Array(0), new BigInt64Array(3)), RangeError);
      assert.throws(() => nativeFs().writeFiles([join(dir, 'x')], [], new BigInt64Array(0), BigInt64Array.from([0n, 5n, 1n, 0o644n, -1n, -1n, 0n, 0n])), RangeError);
      await assert.rejects(stat(join(dir, 'x')), { code: 'ENOENT' });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
