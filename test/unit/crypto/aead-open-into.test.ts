import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomInt } from 'node:crypto';
import { associatedData, open, openInto, seal, SEAL_OVERHEAD } from '../../../activities/crypto/aead';
import { IntegrityError } from '../../../activities/crypto/errors';
import { loadSodium } from '../../../activities/crypto/sodium';

function assertIntegrityError(fn: () => unknown, what: string): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof IntegrityError, `expected IntegrityError, got ${String(err)}`);
    assert.match(err.message, new RegExp(what));
    return true;
  });
}

void test('openInto opens what libsodium sealed, into one reused buffer, on sizes from 0 B to 1 MiB', async () => {
  const sodium = await loadSodium();
  const sizes = [0, 1, 15, 16, 17, 63, 64, 65, 4096, 65537, 1024 * 1024];
  for (let i = 0; i < 12; i++) sizes.push(randomInt(0, 1024 * 1024 + 1));
  const out = Buffer.alloc(1024 * 1024 + 7, 0xee);
  for (const size of sizes) {
    const key = randomBytes(32);
    const plaintext = randomBytes(size);
    const ad = randomBytes(randomInt(0, 100));
    const nonce = randomBytes(24);
    const theirs = Buffer.concat([nonce, sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(plaintext, ad, null, nonce, key)]);
    const opened = openInto(key, theirs, ad, 'from libsodium', out);
    assert.equal(opened.buffer, out.buffer, 'a view of the caller’s buffer');
    assert.ok(opened.equals(plaintext), `we open libsodium's (size ${size})`);
    // And what Node's decipher opens, the native path opens identically.
    const ours = seal(key, plaintext, ad);
    assert.ok(openInto(key, ours, ad, 'ours', out).equals(open(key, ours, ad, 'ours')), `same as open (size ${size})`);
  }
});

void test('openInto rejects a flipped byte anywhere, the wrong key or associated data, and truncation, leaving no plaintext', () => {
  const key = randomBytes(32);
  const ad = associatedData({ repoId: 'r1', type: 'data', objectId: 'c1', epoch: 2 });
  const plaintext = randomBytes(300);
  const sealed = seal(key, plaintext, ad);
  const out = Buffer.alloc(sealed.length);
  for (let i = 0; i < sealed.length; i++) {
    const bad = Buffer.from(sealed);
    bad[i] ^= 1 << (i % 8);
    out.fill(0);
    assertIntegrityError(() => openInto(key, bad, ad, 'chunk c1', out), 'chunk c1');
    // A forged object's decryption is not left behind for anyone to use.
    assert.ok(!out.subarray(0, plaintext.length).equals(plaintext));
  }
  assertIntegrityError(() => openInto(randomBytes(32), sealed, ad, 'chunk c1', out), 'authentication failed');
  assertIntegrityError(() => openInto(key, sealed, associatedData({ repoId: 'r1', type: 'data', objectId: 'c2', epoch: 2 }), 'chunk c1', out), 'authentication failed');
  for (const len of [0, 23, 39]) assertIntegrityError(() => openInto(key, sealed.subarray(0, len), ad, 'chunk c1', out), 'truncated');
  assertIntegrityError(() => openInto(key, sealed.subarray(0, sealed.length - 1), ad, 'chunk c1', out), 'authentication failed');
  // An empty plaintext authenticates too.
  assert.equal(openInto(key, seal(key, Buffer.alloc(0), ad), ad, 'empty', Buffer.alloc(0)).length, 0);
});

void test('openInto refuses a wrong key length or an output buffer too small for the plaintext', () => {
  const key = randomBytes(32);
  const sealed = seal(key, randomBytes(100), Buffer.alloc(0));
  assert.throws(() => openInto(randomBytes(31), sealed, Buffer.alloc(0), 'x', Buffer.alloc(200)), RangeError);
  assert.throws(() => openInto(key, sealed, Buffer.alloc(0), 'x', Buffer.alloc(sealed.length - SEAL_OVERHEAD - 1)), RangeError);
  assert.equal(openInto(key, sealed, Buffer.alloc(0), 'x', Buffer.alloc(sealed.length - SEAL_OVERHEAD)).length, 100);
});
