import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chunkId } from '../../../activities/crypto/chunk-id';
import { associatedData, open } from '../../../activities/crypto/aead';
import { IntegrityError } from '../../../activities/crypto/errors';
import { decompressChunk } from '../../../activities/compression/zstd';
import { createCpuPool, PoolClosed } from '../../../activities/chunking/pipeline-pool';

function textLike(size: number): Buffer {
  return Buffer.from('coffer pool test line with some words 0123456789\n'.repeat(Math.ceil(size / 50))).subarray(0, size);
}

for (const size of [2, 0]) {
  void test(`pool of size ${size}: pack and unpack round-trip, readable by the plain primitives`, async () => {
    const pool = createCpuPool(size);
    try {
      const key = randomBytes(32);
      const inputs = [textLike(1024 * 1024), randomBytes(300_000), Buffer.alloc(0), textLike(10)];
      const results = await Promise.all(
        inputs.map((data, i) => pool.process({ data, level: 1, key, ad: associatedData({ repoId: 'r', type: 'data', objectId: `c${i}`, epoch: 1 }) })),
      );
      for (const [i, r] of results.entries()) {
        const ad = associatedData({ repoId: 'r', type: 'data', objectId: `c${i}`, epoch: 1 });
        assert.equal(r.plainBytes, inputs[i].length);
        const plain = decompressChunk(open(key, r.sealed, ad, 'x'), r.compressed, inputs[i].length);
        assert.deepEqual(plain, inputs[i]);
        assert.deepEqual(await pool.unpack({ sealed: r.sealed, key, ad, compressed: r.compressed, maxSize: inputs[i].length, what: `chunk c${i}` }), inputs[i]);
      }
      assert.equal(results[0].compressed, true);
      assert.equal(results[1].compressed, false);
      assert.equal(pool.inFlight, 0);
    } finally {
      await pool.close();
    }
  });
}

void test('inputs that are views of a larger buffer are left intact (not detached or altered)', async () => {
  const pool = createCpuPool(1);
  try {
    const big = randomBytes(4 * 1024 * 1024);
    const copy = Buffer.from(big);
    const view = big.subarray(1000, 1000 + 65536);
    const key = randomBytes(32);
    const r = await pool.process({ data: view, level: 3, key, ad: Buffer.alloc(0) });
    assert.equal(big.length, 4 * 1024 * 1024);
    assert.deepEqual(big, copy);
    assert.ok(r.sealed.length < 65536 + 40 + 1);
    assert.deepEqual(decompressChunk(open(key, r.sealed, Buffer.alloc(0), 'x'), r.compressed), view);
  } finally {
    await pool.close();
  }
});

void test('tampered input fails in the worker with an IntegrityError naming the object', async () => {
  const pool = createCpuPool(1);
  try {
    const key = randomBytes(32);
    const ad = Buffer.from('ad');
    const r = await pool.process({ data: textLike(100_000), level: 1, key, ad });
    const bad = Buffer.from(r.sealed);
    bad[bad.length - 5] ^= 1;
    await assert.rejects(pool.unpack({ sealed: bad, key, ad, compressed: r.compressed, maxSize: 100_000, what: 'chunk abc' }), (err: unknown) => err instanceof IntegrityError && /chunk abc/.test(err.message));
    await assert.rejects(pool.unpack({ sealed: r.sealed, key, ad: Buffer.from('other'), compressed: r.compressed, maxSize: 100_000, what: 'chunk abc' }), IntegrityError);
    await assert.rejects(pool.unpack({ sealed: r.sealed, key, ad, compressed: r.compressed, maxSize: 1000, what: 'chunk abc' }), IntegrityError, 'size cap');
    await assert.rejects(pool.process({ data: Buffer.from('x'), level: 1, key: randomBytes(5), ad }), RangeError);
    // The worker survives job errors.
    assert.ok((await pool.process({ data: Buffer.from('still alive'), level: 1, key, ad })).sealed.length > 0);
  } finally {
    await pool.close();
  }
});

void test('close rejects further work', async () => {
  const pool = createCpuPool(1);
  await pool.close();
  await assert.rejects(pool.process({ data: Buffer.from('x'), level: 1, key: randomBytes(32), ad: Buffer.alloc(0) }), PoolClosed);
  assert.throws(() => createCpuPool(-1), RangeError);
});

for (const size of [1, 0]) {
  void test(`pool of size ${size}: processMany seals each small chunk under its own key and associated data`, async () => {
    const pool = createCpuPool(size);
    try {
      const keys = [randomBytes(32), randomBytes(32)];
      const inputs = [textLike(5000), randomBytes(700), Buffer.alloc(0), textLike(60_000), randomBytes(1)];
      const ads = inputs.map((_, i) => associatedData({ repoId: 'r', type: 'data', objectId: `s${i}`, epoch: 1 }));
      const data = Buffer.concat(inputs);
      const items = inputs.map((input, i) => ({ length: input.length, keyIndex: i % 2, ad: ads[i] }));
      const r = await pool.processMany({ data, level: 1, keys, items });
      assert.equal(r.items.length, inputs.length);
      let offset = 0;
      for (const [i, out] of r.items.entries()) {
        const sealed = r.sealed.subarray(offset, offset + out.sealedLength);
        offset += out.sealedLength;
        assert.deepEqual(decompressChunk(open(keys[i % 2], sealed, ads[i], 'x'), out.compressed, inputs[i].length), inputs[i]);
        // Bound to its key: the other key does not open it.
        assert.throws(() => open(keys[(i + 1) % 2], sealed, ads[i], `s${i}`), IntegrityError);
      }
      assert.equal(offset, r.sealed.length);
      assert.equal(r.items[0].compressed, true);
      assert.equal(r.items[1].compressed, false);
      await assert.rejects(pool.processMany({ data: Buffer.alloc(4), level: 1, keys, items: [{ length: 5, keyIndex: 0, ad: ads[0] }] }), RangeError);
    } finally {
      await pool.close();
    }
  });
}

for (const size of [1, 0]) {
  void test(`pool of size ${size}: unpackWrite checks a chunk and writes it at its offset; a bad one writes nothing`, async () => {
    const pool = createCpuPool(size);
    const dir = mkdtempSync(join(tmpdir(), 'coffer-unpack-write-'));
    const fd = openSync(join(dir, 'out'), 'w+');
    try {
      const key = randomBytes(32);
      const idKey = randomBytes(32);
      const data = textLike(300_000);
      const ad = associatedData({ repoId: 'r', type: 'data', objectId: 'w', epoch: 1 });
      const packed = await pool.process({ data, level: 1, key, ad });
      const job = { key, ad, compressed: packed.compressed, size: data.length, what: 'chunk w', idKey, expectId: chunkId(idKey, data), fd, position: 1000 };
      assert.equal(await pool.unpackWrite({ ...job, sealed: packed.sealed }), data.length);
      const written = readFileSync(join(dir, 'out'));
      assert.equal(written.length, 1000 + data.length);
      assert.ok(written.subarray(1000).equals(data));
      // Another chunk's id, a wrong length, a flipped bit: IntegrityError, and the file is untouched.
      await assert.rejects(pool.unpackWrite({ ...job, sealed: packed.sealed, expectId: chunkId(idKey, Buffer.from('other')), position: 0 }), IntegrityError);
      await assert.rejects(pool.unpackWrite({ ...job, sealed: packed.sealed, size: data.length - 1, position: 0 }), IntegrityError);
      const flipped = Buffer.from(packed.sealed);
      flipped[100] ^= 1;
      await assert.rejects(pool.unpackWrite({ ...job, sealed: flipped, position: 0 }), IntegrityError);
      assert.ok(readFileSync(join(dir, 'out')).equals(written));
      // A write failure keeps its file-system code (restore maps ENOSPC to NoSpace by it).
      await assert.rejects(pool.unpackWrite({ ...job, sealed: packed.sealed, fd: 1_000_000 }), (err: NodeJS.ErrnoException) => err.code === 'EBADF');
    } finally {
      closeSync(fd);
      rmSync(dir, { recursive: true, force: true });
      await pool.close();
    }
  });
}

void test('a decode a reader waits for overtakes queued sealing work', async () => {
  const pool = createCpuPool(1);
  try {
    const key = randomBytes(32);
    const ad = associatedData({ repoId: 'r', type: 'data', objectId: 'small', epoch: 1 });
    const small = textLike(4096);
    const sealed = await pool.process({ data: small, level: 1, key, ad });
    const finished: string[] = [];
    const packs = Array.from({ length: 12 }, (_, i) =>
      pool.process({ data: textLike(4 * 1024 * 1024), level: 3, key, ad }).then(() => finished.push(`pack-${i}`)),
    );
    const unpack = pool.unpack({ sealed: sealed.sealed, key, ad, compressed: sealed.compressed, maxSize: small.length, what: 'chunk small' }).then((plain) => {
      finished.push('unpack');
      return plain;
    });
    assert.deepEqual(await unpack, small);
    await Promise.all(packs);
    // At most the jobs the worker already held ran before it; FIFO would have put it last.
    assert.ok(finished.indexOf('unpack') <= 2, `unpack finished at position ${finished.indexOf('unpack')}: ${finished.join(', ')}`);
    assert.equal(pool.inFlight, 0);
  } finally {
    await pool.close();
  }
});

void test('close rejects jobs still queued for a worker', async () => {
  const pool = createCpuPool(1);
  const key = randomBytes(32);
  const ad = associatedData({ repoId: 'r', type: 'data', objectId: 'q', epoch: 1 });
  const jobs = Array.from({ length: 6 }, () => pool.process({ data: textLike(1024 * 1024), level: 3, key, ad }));
  const settled = Promise.allSettled(jobs);
  await pool.close();
  const outcomes = await settled;
  for (const o of outcomes) assert.ok(o.status === 'rejected' && o.reason instanceof PoolClosed);
});
