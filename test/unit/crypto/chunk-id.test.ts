import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { chunkId, deriveSubkey, isChunkId, mac } from '../../../activities/crypto/chunk-id';

// Official BLAKE3 test vectors: key "whats the Elvish word for friend", input bytes i % 251.
const VECTOR_KEY = Buffer.from('whats the Elvish word for friend');
function vectorInput(n: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = i % 251;
  return b;
}

void test('chunkId is keyed BLAKE3 (official keyed_hash vectors)', () => {
  assert.equal(chunkId(VECTOR_KEY, vectorInput(0)), '92b2b75604ed3c761f9d6f62392c8a9227ad0ea3f09573e783f1498a4ed60d26');
  assert.equal(chunkId(VECTOR_KEY, vectorInput(1)), '6d7878dfff2f485635d39013278ae14f1454b8c0a3a2d34bc1ab38228a80c95b');
});

void test('chunkId: 64 hex characters, deterministic, and different under another key or content', () => {
  const key = randomBytes(32);
  const data = randomBytes(100_000);
  const id = chunkId(key, data);
  assert.ok(isChunkId(id));
  assert.equal(chunkId(key, Buffer.from(data)), id);
  assert.equal(chunkId(new Uint8Array(key), new Uint8Array(data)), id);
  assert.notEqual(chunkId(randomBytes(32), data), id);
  const changed = Buffer.from(data);
  changed[50_000] ^= 1;
  assert.notEqual(chunkId(key, changed), id);
  assert.throws(() => chunkId(randomBytes(16), data), RangeError);
});

void test('deriveSubkey and mac are domain separated', () => {
  const km = randomBytes(32);
  assert.notDeepEqual(deriveSubkey('coffer test a', km), deriveSubkey('coffer test b', km));
  assert.equal(deriveSubkey('coffer test a', km).length, 32);
  const k = randomBytes(32);
  assert.deepEqual(mac(k, Buffer.from('x')), mac(k, Buffer.from('x')));
  assert.notDeepEqual(mac(k, Buffer.from('x')), mac(k, Buffer.from('y')));
});
