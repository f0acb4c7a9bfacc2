import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as binding from 'zstd-napi/binding';
import { compressChunk, decompressChunk } from '../../../activities/compression/zstd';
import { IntegrityError } from '../../../activities/crypto/errors';

function textLike(size: number): Buffer {
  const s = 'the quick brown fox jumps over the lazy dog 0123456789 coffer backup\n';
  return Buffer.from(s.repeat(Math.ceil(size / s.length))).subarray(0, size);
}

/** A zstd frame without a content size in its header (as a streaming writer makes). */
function frameWithoutContentSize(data: Buffer): Buffer {
  const cctx = new binding.CCtx();
  cctx.setParameter(binding.CParameter.contentSizeFlag, 0);
  const out = Buffer.alloc(binding.compressBound(data.length) + 1024);
  const [, produced] = cctx.compressStream2(out, data, binding.EndDirective.end);
  const frame = out.subarray(0, produced);
  assert.equal(binding.getFrameContentSize(frame), null);
  return frame;
}

const isIntegrity = (what: RegExp) => (err: unknown): boolean => err instanceof IntegrityError && err.code === 'COFFER-E205' && what.test(err.message);

void test('compressible data round-trips compressed at levels 1 and 3', () => {
  const data = textLike(1024 * 1024);
  for (const level of [1, 3]) {
    const c = compressChunk(data, level);
    assert.equal(c.compressed, true);
    assert.ok(c.data.length < data.length / 5);
    assert.deepEqual(decompressChunk(c.data, true), data);
  }
  assert.ok(compressChunk(data, 3).data.length <= compressChunk(data, 1).data.length);
  assert.equal(compressChunk(data).compressed, true, 'default level works');
});

void test('incompressible and empty data are kept uncompressed (never larger)', () => {
  const random = randomBytes(256 * 1024);
  const c = compressChunk(random, 1);
  assert.equal(c.compressed, false);
  assert.equal(c.data, random);
  assert.deepEqual(decompressChunk(c.data, false), random);
  const empty = compressChunk(Buffer.alloc(0));
  assert.equal(empty.compressed, false);
  assert.equal(decompressChunk(empty.data, false).length, 0);
  for (let n = 1; n < 40; n++) {
    const r = compressChunk(randomBytes(n));
    assert.equal(r.compressed, false, `${n} random bytes`);
  }
});

void test('a frame claiming more than maxSize is refused before allocating', () => {
  const bomb = compressChunk(Buffer.alloc(64 * 1024 * 1024), 1);
  assert.ok(bomb.data.length < 10_000);
  assert.throws(() => decompressChunk(bomb.data, true, 1024 * 1024, 'chunk abc'), isIntegrity(/chunk abc.*limit/));
  assert.equal(decompressChunk(bomb.data, true, 64 * 1024 * 1024).length, 64 * 1024 * 1024);
});

void test('a frame without a content size is decompressed with a running cap', () => {
  const data = textLike(3 * 1024 * 1024 + 5);
  const frame = frameWithoutContentSize(data);
  assert.deepEqual(decompressChunk(frame, true, 4 * 1024 * 1024), data);
  // Refused either by the window cap or by the running output cap.
  assert.throws(() => decompressChunk(frame, true, 1024 * 1024, 'chunk big'), isIntegrity(/chunk big.*(limit|memory)/));
  assert.throws(() => decompressChunk(frame, true, 3 * 1024 * 1024, 'chunk big'), isIntegrity(/chunk big.*limit/));
  // Afterwards the one-shot path still accepts large frames with a content size.
  const big = compressChunk(textLike(8 * 1024 * 1024), 1);
  assert.equal(decompressChunk(big.data, true, 8 * 1024 * 1024).length, 8 * 1024 * 1024);
});

void test('garbage, truncated frames, trailing bytes and flipped bytes are IntegrityError', () => {
  const data = textLike(200_000);
  const { data: frame } = compressChunk(data, 3);
  assert.throws(() => decompressChunk(randomBytes(1000), true, undefined, 'chunk g'), isIntegrity(/chunk g/));
  assert.throws(() => decompressChunk(Buffer.alloc(0), true), IntegrityError);
  for (const len of [1, 4, 10, frame.length - 1]) assert.throws(() => decompressChunk(frame.subarray(0, len), true), IntegrityError, `truncated to ${len}`);
  assert.throws(() => decompressChunk(Buffer.concat([frame, Buffer.from([1, 2, 3])]), true), IntegrityError);
  assert.throws(() => decompressChunk(Buffer.concat([frame, frame]), true), IntegrityError, 'two frames');
  // Flipped bytes either fail or (no checksum) decode to different bytes of the right size; never crash or exceed.
  for (let i = 0; i < frame.length; i += Math.max(1, Math.floor(frame.length / 300))) {
    const bad = Buffer.from(frame);
    bad[i] ^= 0xff;
    try {
      const out = decompressChunk(bad, true, 300_000);
      assert.ok(out.length <= 300_000);
    } catch (err) {
      assert.ok(err instanceof IntegrityError, String(err));
    }
  }
  assert.throws(() => decompressChunk(randomBytes(100), false, 50), IntegrityError, 'uncompressed above the cap');
});

void test('invalid levels are refused', () => {
  assert.throws(() => compressChunk(Buffer.from('x'), 99), RangeError);
  assert.throws(() => compressChunk(Buffer.from('x'), 1.5), RangeError);
});
