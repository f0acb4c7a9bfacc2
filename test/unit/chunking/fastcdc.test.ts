import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes, randomInt } from 'node:crypto';
import { Readable } from 'node:stream';
import { Chunker, chunkerParams, chunkStream, gearTable } from '../../../activities/chunking/fastcdc';
import type { ChunkerParams } from '../../../activities/chunking/fastcdc';

const AVG = 16 * 1024;
const params = chunkerParams(AVG);

function chunkAll(data: Buffer, p: ChunkerParams, seed: Buffer): Buffer[] {
  const c = new Chunker(p, seed);
  return [...c.push(data), ...c.finish()];
}

function chunkInPieces(data: Buffer, p: ChunkerParams, seed: Buffer): Buffer[] {
  const c = new Chunker(p, seed);
  const out: Buffer[] = [];
  let off = 0;
  while (off < data.length) {
    // Mix tiny, medium and large pieces, including empty ones.
    const size = [0, 1, 7, randomInt(1, 5000), randomInt(1, 200_000)][randomInt(0, 5)];
    out.push(...c.push(data.subarray(off, off + size)));
    off += size;
  }
  out.push(...c.finish());
  return out;
}

const digest = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** Semi-compressible, text-like data with repeated phrases. */
function textLike(size: number): Buffer {
  const words = ['alpha', 'beta', 'gamma', 'delta', 'backup', 'coffer', 'chunk', '\n', 'lorem', 'ipsum', '42', 'temporal'];
  const parts: string[] = [];
  let len = 0;
  while (len < size) {
    const w = words[randomInt(0, words.length)] + (randomInt(0, 4) === 0 ? String(randomInt(0, 1e6)) : '') + ' ';
    parts.push(w);
    len += w.length;
  }
  return Buffer.from(parts.join('')).subarray(0, size);
}

void test('chunks concatenate to the input and respect min/max bounds; deterministic for a seed', () => {
  const seed = randomBytes(32);
  for (const data of [randomBytes(3 * 1024 * 1024), textLike(2 * 1024 * 1024)]) {
    const chunks = chunkAll(data, params, seed);
    assert.deepEqual(Buffer.concat(chunks), data);
    chunks.forEach((c, i) => {
      assert.ok(c.length <= params.maxSize, `chunk ${i} longer than max`);
      if (i < chunks.length - 1) assert.ok(c.length >= params.minSize, `chunk ${i} (${c.length}) shorter than min`);
    });
    assert.deepEqual(chunkAll(data, params, Buffer.from(seed)).map(digest), chunks.map(digest));
  }
});

void test('the average chunk size on random data is within ±25% of the target', () => {
  for (const avg of [4096, AVG, 256 * 1024]) {
    const p = chunkerParams(avg);
    const data = randomBytes(Math.max(16 * 1024 * 1024, avg * 200));
    const chunks = chunkAll(data, p, randomBytes(32));
    const mean = data.length / chunks.length;
    assert.ok(mean > avg * 0.75 && mean < avg * 1.25, `avg ${avg}: mean chunk ${mean.toFixed(0)}`);
  }
});

void test('data without cut points is cut at maxSize; short input is one chunk; empty input is none', () => {
  const zeros = Buffer.alloc(params.maxSize * 3 + 100);
  const seed = randomBytes(32);
  const chunks = chunkAll(zeros, params, seed);
  const lengths = chunks.map((c) => c.length);
  // Whether zeros hash to a cut depends on the seed; either way nothing exceeds max and it round-trips.
  assert.ok(lengths.every((l) => l <= params.maxSize));
  assert.deepEqual(Buffer.concat(chunks), zeros);
  assert.deepEqual(chunkAll(Buffer.from('tiny'), params, seed).map(String), ['tiny']);
  assert.deepEqual(chunkAll(Buffer.alloc(0), params, seed), []);
  const c = new Chunker(params, seed);
  assert.deepEqual(c.finish(), []);
});

void test('boundaries differ between seeds (secret gear table)', () => {
  const data = randomBytes(4 * 1024 * 1024);
  const a = chunkAll(data, params, randomBytes(32)).map((c) => c.length);
  const b = chunkAll(data, params, randomBytes(32)).map((c) => c.length);
  assert.notDeepEqual(a, b);
  const gearA = gearTable(Buffer.alloc(32, 1));
  assert.deepEqual(gearTable(Buffer.alloc(32, 1)), gearA);
  assert.notDeepEqual(gearTable(Buffer.alloc(32, 2)), gearA);
  assert.equal(new Set(gearA).size, 256, 'gear values are distinct');
});

void test('shift resistance: inserting or deleting bytes near the start changes only 1-2 chunks', () => {
  const seed = randomBytes(32);
  const data = randomBytes(8 * 1024 * 1024);
  const base = new Set(chunkAll(data, params, seed).map(digest));
  const baseCount = base.size;
  const edits = [
    Buffer.concat([data.subarray(0, 1000), Buffer.from([0x42]), data.subarray(1000)]),
    Buffer.concat([Buffer.from([7]), data]),
    Buffer.concat([data.subarray(0, 5000), data.subarray(5001)]),
    Buffer.concat([data.subarray(0, 3 * 1024 * 1024), randomBytes(100), data.subarray(3 * 1024 * 1024)]),
  ];
  for (const edited of edits) {
    const chunks = chunkAll(edited, params, seed).map(digest);
    const fresh = chunks.filter((d) => !base.has(d)).length;
    assert.ok(fresh >= 1 && fresh <= 2, `${fresh} new chunks out of ${chunks.length} (base ${baseCount})`);
  }
});

void test('pushing in random-sized pieces yields exactly the one-shot chunks', () => {
  const seed = randomBytes(32);
  for (const p of [params, chunkerParams(1024), { minSize: 2048, avgSize: 8192, maxSize: 8192 }]) {
    const data = Buffer.concat([randomBytes(1024 * 1024), textLike(512 * 1024), Buffer.alloc(300_000), randomBytes(77)]);
    const oneShot = chunkAll(data, p, seed).map(digest);
    for (let round = 0; round < 3; round++) assert.deepEqual(chunkInPieces(data, p, seed).map(digest), oneShot);
  }
});

void test('bounded memory: the chunker never holds more than maxSize between pushes', () => {
  const seed = randomBytes(32);
  const c = new Chunker(params, seed);
  let held = 0;
  for (let i = 0; i < 400; i++) {
    const piece = randomBytes(4096);
    const out = c.push(piece);
    held += piece.length - out.reduce((s, x) => s + x.length, 0);
    assert.ok(held < params.maxSize, `held ${held}`);
  }
});

void test('chunkStream over a Readable gives the same chunks as the Chunker', async () => {
  const seed = randomBytes(32);
  const data = randomBytes(2 * 1024 * 1024 + 17);
  const pieces: Buffer[] = [];
  for (let off = 0; off < data.length; off += 65536) pieces.push(data.subarray(off, off + 65536));
  const streamed: Buffer[] = [];
  for await (const chunk of chunkStream(Readable.from(pieces), params, seed)) streamed.push(chunk);
  assert.deepEqual(streamed.map(digest), chunkAll(data, params, seed).map(digest));
  await assert.rejects(async () => {
    for await (const _ of chunkStream(Readable.from(['text']), params, seed)) { /* consume */ }
  }, TypeError);
});

void test('invalid parameters are refused', () => {
  const seed = randomBytes(32);
  assert.throws(() => new Chunker(chunkerParams(3000), seed), RangeError);
  assert.throws(() => new Chunker({ minSize: 0, avgSize: 4096, maxSize: 8192 }, seed), RangeError);
  assert.throws(() => new Chunker({ minSize: 1024, avgSize: 4096, maxSize: 2048 }, seed), RangeError);
  assert.throws(() => new Chunker(params, randomBytes(16)), RangeError);
  assert.deepEqual(chunkerParams(), { minSize: 256 * 1024, avgSize: 1024 * 1024, maxSize: 4 * 1024 * 1024 });
});
