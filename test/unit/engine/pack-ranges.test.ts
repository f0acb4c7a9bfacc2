import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';

import { PackRanges } from '../../../activities/engine/pack-ranges';
import type { ChunkBytes, RangeDecoder } from '../../../activities/engine/pack-ranges';
import { Names } from '../../../activities/repository/format';
import { MasterIndex } from '../../../activities/repository/master-index';
import type { ChunkLocation } from '../../../activities/repository/master-index';
import { MemoryBackend } from '../../../activities/storage/memory';

const CHUNK_BYTES = 100 * 1024;

interface Fixture {
  ranges: PackRanges;
  ids: string[];
  expectedBytes: (i: number) => Buffer;
  loc: (i: number) => ChunkLocation;
  /** Chunks the "decoder" was given so far. */
  decoded: () => number;
  /** Reads from the backend so far. */
  loads: () => number;
}

/**
 * `packs` packs of `perPack` small chunks each (chunk i is in pack i / perPack),
 * each chunk filled with its own pattern; the "decoder" hands the bytes back
 * as plaintext and counts them.
 */
async function fixture(perPack: number, budget: number, packs = 1): Promise<Fixture> {
  const backend = new MemoryBackend();
  const index = new MasterIndex();
  const ids: string[] = [];
  const expectedBytes = (i: number): Buffer => {
    const b = Buffer.alloc(CHUNK_BYTES, i % 251);
    b.writeUInt32BE(i, 0);
    return b;
  };
  for (let p = 0; p < packs; p++) {
    const packId = createHash('sha256').update(`pack ${p}`).digest('hex');
    const parts: Buffer[] = [];
    const entries = [];
    for (let k = 0; k < perPack; k++) {
      const i = p * perPack + k;
      const id = createHash('sha256').update(`chunk ${i}`).digest('hex');
      ids.push(id);
      parts.push(expectedBytes(i));
      entries.push({ id, type: 'data' as const, compressed: false, epoch: 1, offset: k * CHUNK_BYTES, length: CHUNK_BYTES, rawLength: CHUNK_BYTES });
    }
    const pack = Buffer.concat(parts);
    await backend.save(Names.pack(packId), pack);
    index.addPack({ id: packId, epoch: 1, size: pack.length, createdMs: 0, entries });
  }
  let decodedChunks = 0;
  const decoder: RangeDecoder = async (sealed, chunks) => {
    decodedChunks += chunks.length;
    return { sealed, plain: new Map(chunks.map((c) => [c.id, Buffer.from(sealed.subarray(c.start, c.start + c.loc.length))])) };
  };
  let rangeLoads = 0;
  const load = backend.load.bind(backend);
  backend.load = (name, range, options) => {
    rangeLoads++;
    return load(name, range, options);
  };
  const loc = (i: number): ChunkLocation => {
    const l = index.get(ids[i]);
    assert.ok(l !== undefined);
    return l;
  };
  return { ranges: new PackRanges(backend, index, { budget, decoder }), ids, expectedBytes, loc, decoded: () => decodedChunks, loads: () => rangeLoads };
}

/** Requests chunks `order` one after the other, checking each one's bytes. */
async function requestAll(f: Fixture, order: readonly number[], what = 'chunk'): Promise<void> {
  for (const i of order) assert.ok(bytesOf(await f.ranges.chunk(f.ids[i], f.loc(i))).equals(f.expectedBytes(i)), `${what} ${i}`);
}

function bytesOf(got: ChunkBytes): Buffer {
  return 'plain' in got ? got.plain : got.sealed;
}

void test('pack ranges: every announced chunk comes back right, each decoded once, in pack order and in a scattered order', async () => {
  for (const scattered of [false, true]) {
    const f = await fixture(200, 64 * 1024 * 1024);
    f.ranges.expect(f.ids);
    const order = f.ids.map((_, i) => i);
    // A walk order unlike the pack's: every 7th chunk, wrapping around.
    if (scattered) order.sort((a, b) => ((a * 7) % 200) - ((b * 7) % 200));
    await requestAll(f, order);
    assert.equal(f.decoded(), 200, `each chunk decoded exactly once (scattered: ${scattered})`);
    // 20 MB in ranges of at most 2 MiB: about ten reads, not 200.
    assert.ok(f.loads() <= 20, `read in ranges, not chunk by chunk (${f.loads()} reads)`);
  }
});

void test('pack ranges: a cache smaller than a range does not decode the same chunks over and over', async () => {
  // 20 MB of chunks against a 1 MiB budget: ranges (up to 8 MiB) are evicted all the time.
  // Reading ahead used to evict the range whose decoded chunks were still to be handed out,
  // so each request read and decoded the rest of the range again (quadratic: ~16 000 decodes here).
  const f = await fixture(200, 1024 * 1024);
  f.ranges.expect(f.ids);
  await requestAll(f, f.ids.map((_, i) => i));
  assert.equal(f.decoded(), 200, 'each chunk decoded once');
});

void test('pack ranges: a chunk already handed out is not decoded again by a later range, and its second use still gets its bytes', async () => {
  const f = await fixture(40, 64 * 1024 * 1024);
  f.ranges.expect(f.ids);
  // Chunk 20 first: its range covers 20..39. Then from 0, whose range extends over 21..39 again
  // (still to be handed out, being decoded by the first range) and 20 (handed out already).
  await requestAll(f, [20]);
  await requestAll(f, f.ids.map((_, i) => i).filter((i) => i !== 20));
  assert.equal(f.decoded(), 40, 'every chunk decoded once');
  // Second uses: served from the cached range or read on their own, never decoded by a range job again.
  await requestAll(f, [3, 20, 39], 'second use of chunk');
  assert.equal(f.decoded(), 40, 'no range decoded again for chunks already handed out');
});

void test('pack ranges: a full cache drops a range whose chunks were all handed out before one still waited on', async () => {
  // Three packs of ten chunks, one range each (~1 MB); room for two. Pack 0's range is used
  // first but most of it is wanted last, pack 1's is used up, then pack 2's needs room.
  const f = await fixture(10, 2.5 * 1024 * 1024, 3);
  f.ranges.expect(f.ids);
  await requestAll(f, [0, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  // Dropping pack 0's range (the least recently used) would decode chunks 1..9 a second time.
  assert.equal(f.decoded(), 30, 'each chunk decoded once');
});

void test('pack ranges: when the ranges in use do not all fit, their decoded chunks are kept, not decoded again', async () => {
  // Three packs of ten chunks (one ~1 MB range each) read in turns, against room for two
  // ranges: each new range pushes out one whose plaintexts are still waited for. Its sealed
  // bytes go; its plaintexts (within the budget) stay, so nothing is read or decoded twice.
  const f = await fixture(10, 2.9 * 1024 * 1024, 3);
  f.ranges.expect(f.ids);
  const order: number[] = [];
  for (let k = 0; k < 10; k++) order.push(k, 10 + k, 20 + k);
  await requestAll(f, order);
  assert.equal(f.decoded(), 30, 'each chunk decoded once');
  assert.equal(f.loads(), 3, 'each range read once');
});

void test('pack ranges: forgetting the announcement lets go of plaintexts decoded for it and never asked for', async () => {
  const f = await fixture(40, 64 * 1024 * 1024);
  f.ranges.expect(f.ids);
  // A restore that stops after a few chunks: the rest of their ranges was decoded for nothing.
  await requestAll(f, [0, 1, 2]);
  assert.ok(f.ranges.bytesPending > 0, 'plaintexts decoded ahead');
  f.ranges.expect(undefined);
  assert.equal(f.ranges.bytesPending, 0);
  // Still served correctly afterwards (read and handed over sealed, as without an announcement).
  await requestAll(f, [5, 30], 'after the announcement');
});
