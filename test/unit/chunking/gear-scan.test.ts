import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCipheriv, randomBytes, randomInt } from 'node:crypto';
import { GearScanner, scanReference } from '../../../activities/chunking/gear-scan';
import { Chunker, chunkerParams, gearTable } from '../../../activities/chunking/fastcdc';

function randomTable(): Int32Array {
  const bytes = randomBytes(1024);
  const table = new Int32Array(256);
  for (let i = 0; i < 256; i++) table[i] = bytes.readInt32LE(i * 4);
  return table;
}

function topBits(bits: number): number {
  return (~0 << (32 - bits)) | 0;
}

void test('the WASM scan finds the same cut and hash as the JavaScript definition, across windows and tables', () => {
  const scanner = new GearScanner();
  const tables = [randomTable(), randomTable()];
  const data = randomBytes(3 * 1024 * 1024 + 17);
  let compared = 0;
  let cuts = 0;
  for (let round = 0; round < 300; round++) {
    const gear = tables[round % 2];
    const pos = randomInt(0, data.length);
    const end = Math.min(data.length, pos + randomInt(0, 1_200_000));
    const hash = randomInt(-(2 ** 31), 2 ** 31);
    // From "cuts almost everywhere" to "almost never": both outcomes get exercised.
    const mask = topBits(randomInt(1, 25));
    const want = scanReference(data, pos, end, hash, mask, gear);
    const got = scanner.scan(data, pos, end, hash, mask, gear);
    assert.equal(got, want.cut, `cut for pos=${pos} end=${end} mask=${mask}`);
    assert.equal(scanner.hash, want.hash, `hash for pos=${pos} end=${end} mask=${mask}`);
    compared++;
    if (got >= 0) cuts++;
  }
  assert.equal(compared, 300);
  assert.ok(cuts > 30 && cuts < 270, `both outcomes exercised (cuts=${cuts})`);
});

void test('an empty range is no cut and leaves the hash as it was', () => {
  const scanner = new GearScanner();
  const gear = randomTable();
  assert.equal(scanner.scan(Buffer.alloc(10), 5, 5, 1234, -1, gear), -1);
  assert.equal(scanner.hash, 1234);
});

/** Deterministic bytes (AES-256-CTR keystream of a fixed key). */
function fixedBytes(n: number): Buffer {
  return createCipheriv('aes-256-ctr', Buffer.alloc(32, 7), Buffer.alloc(16, 0)).update(Buffer.alloc(n));
}

void test('chunk boundaries of a fixed seed and input are those of earlier releases (dedup across versions)', () => {
  const seed = Buffer.alloc(32, 1);
  assert.equal(Buffer.from(gearTable(seed).buffer).toString('hex').slice(0, 32), EXPECTED_TABLE_PREFIX);
  const data = fixedBytes(8 * 1024 * 1024);
  const chunker = new Chunker(chunkerParams(64 * 1024), seed);
  const lengths = [...chunker.push(data.subarray(0, 3_000_001)), ...chunker.push(data.subarray(3_000_001)), ...chunker.finish()].map((c) => c.length);
  assert.deepEqual(lengths, EXPECTED_LENGTHS);
});

// Recorded with the JavaScript chunker of the release before the WASM scanner.
const EXPECTED_TABLE_PREFIX = 'aadc71c4221bfd0bc46c2b9ecc4e097a';
const EXPECTED_LENGTHS: number[] = [
  67913, 73945, 68724, 76113, 89022, 68330, 77887, 73637, 68239, 80314, 75108, 29042,
  70233, 103342, 16915, 75897, 96898, 117739, 95214, 76641, 65831, 123399, 18048, 65953,
  38045, 64049, 77044, 67479, 22359, 92160, 87638, 66001, 65893, 83009, 68174, 31426,
  50433, 79008, 70823, 81266, 81870, 77930, 94141, 73657, 66423, 68541, 71872, 66828,
  40349, 67666, 42900, 69739, 72994, 87548, 73109, 66549, 82243, 44414, 81976, 81302,
  68564, 70620, 88685, 82807, 76891, 84238, 67103, 70027, 24610, 100291, 69164, 96000,
  67849, 75518, 71736, 85251, 81338, 76395, 91611, 75583, 70714, 83623, 64799, 100471,
  76435, 72622, 85963, 79524, 44837, 82346, 108171, 67930, 110881, 78907, 75991, 38621,
  77350, 84591, 75396, 66191, 68846, 76036, 18380, 78521, 87887, 102306, 69292, 81701,
  38356, 61155, 70559, 68126, 22046, 87190, 78390, 59819, 19112,
];
