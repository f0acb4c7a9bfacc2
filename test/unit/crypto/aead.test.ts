import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomInt } from 'node:crypto';
import { associatedData, open, seal, sealWithNonce, SEAL_OVERHEAD } from '../../../activities/crypto/aead';
import { hchacha20 } from '../../../activities/crypto/hchacha20';
import { IntegrityError } from '../../../activities/crypto/errors';
import { loadSodium } from '../../../activities/crypto/sodium';

const hex = (s: string): Buffer => Buffer.from(s, 'hex');

void test('HChaCha20 matches the draft-irtf-cfrg-xchacha §2.2.1 vector', () => {
  const key = hex('000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f');
  const input = hex('000000090000004a0000000031415927');
  assert.equal(hchacha20(key, input).toString('hex'), '82413b4227b27bfed30e42508a877d73a0f9e4d58a74a853c12ec41326d3ecdc');
});

void test('HChaCha20 agrees with libsodium crypto_core_hchacha20 on random inputs', async () => {
  const sodium = await loadSodium();
  for (let i = 0; i < 200; i++) {
    const key = randomBytes(32);
    const input = randomBytes(16);
    assert.deepEqual(hchacha20(key, input), Buffer.from(sodium.crypto_core_hchacha20(input, key, null)));
  }
});

void test('XChaCha20-Poly1305 matches the draft-irtf-cfrg-xchacha §A.3.1 vector', () => {
  const key = hex('808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f');
  const nonce = hex('404142434445464748494a4b4c4d4e4f5051525354555657');
  const ad = hex('50515253c0c1c2c3c4c5c6c7');
  const plaintext = Buffer.from("Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.");
  const expected =
    'bd6d179d3e83d43b9576579493c0e939572a1700252bfaccbed2902c21396cbb731c7f1b0b4aa6440bf3a82f4eda7e39ae64c6708c54c216cb96b72e1213b4522f8c9ba40db5d945b11b69b982c1bb9e3f3fac2bc369488f76b2383565d3fff921f9664c97637da9768812f615c68b13b52e' +
    'c0875924c1c7987947deafd8780acf49';
  const sealed = sealWithNonce(key, nonce, plaintext, ad);
  assert.equal(sealed.subarray(24).toString('hex'), expected);
  assert.deepEqual(sealed.subarray(0, 24), nonce);
  assert.deepEqual(open(key, sealed, ad, 'vector'), plaintext);
});

void test('seal/open interoperate with libsodium both ways on random sizes from 0 B to 1 MiB', async () => {
  const sodium = await loadSodium();
  const sizes = [0, 1, 15, 16, 17, 63, 64, 65, 4096, 65537, 1024 * 1024];
  for (let i = 0; i < 12; i++) sizes.push(randomInt(0, 1024 * 1024 + 1));
  for (const size of sizes) {
    const key = randomBytes(32);
    const plaintext = randomBytes(size);
    const ad = randomBytes(randomInt(0, 100));

    const ours = seal(key, plaintext, ad);
    assert.equal(ours.length, size + SEAL_OVERHEAD);
    const theirsOpened = sodium.crypto_aead_xchacha20poly1305_ietf_decrypt(null, ours.subarray(24), ad, ours.subarray(0, 24), key);
    assert.ok(Buffer.from(theirsOpened).equals(plaintext), `libsodium opens ours (size ${size})`);

    const nonce = randomBytes(24);
    const theirs = sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(plaintext, ad, null, nonce, key);
    assert.ok(open(key, Buffer.concat([nonce, theirs]), ad, 'from libsodium').equals(plaintext), `we open libsodium's (size ${size})`);
    assert.ok(sealWithNonce(key, nonce, plaintext, ad).subarray(24).equals(Buffer.from(theirs)), `identical bytes (size ${size})`);
  }
});

void test('seal uses a fresh nonce each time', () => {
  const key = randomBytes(32);
  const a = seal(key, Buffer.from('same'), Buffer.alloc(0));
  const b = seal(key, Buffer.from('same'), Buffer.alloc(0));
  assert.notDeepEqual(a.subarray(0, 24), b.subarray(0, 24));
});

function assertIntegrityError(fn: () => unknown, what: string): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof IntegrityError, `expected IntegrityError, got ${String(err)}`);
    assert.equal(err.code, 'COFFER-E205');
    assert.equal(err.retryable, false);
    assert.match(err.message, new RegExp(what));
    return true;
  });
}

void test('flipping any single byte of a sealed object fails with IntegrityError naming the object', () => {
  const key = randomBytes(32);
  const fields = { repoId: 'r1', type: 'snapshot', objectId: 'abc', epoch: 3 };
  const ad = associatedData(fields);
  const sealed = seal(key, randomBytes(100), ad);
  for (let i = 0; i < sealed.length; i++) {
    const bad = Buffer.from(sealed);
    bad[i] ^= 1 << (i % 8);
    assertIntegrityError(() => open(key, bad, ad, 'snapshot abc'), 'snapshot abc');
  }
});

void test('truncation, extension, the wrong key and short inputs fail with IntegrityError', () => {
  const key = randomBytes(32);
  const ad = associatedData({ repoId: 'r', type: 'index', objectId: 'i', epoch: 1 });
  const sealed = seal(key, randomBytes(1000), ad);
  for (const len of [0, 1, 23, 24, 39, 40, sealed.length - 1]) {
    assertIntegrityError(() => open(key, sealed.subarray(0, len), ad, 'index i'), 'index i');
  }
  assertIntegrityError(() => open(key, Buffer.concat([sealed, Buffer.from([0])]), ad, 'index i'), 'index i');
  assertIntegrityError(() => open(randomBytes(32), sealed, ad, 'index i'), 'index i');
  // An empty plaintext still authenticates.
  const empty = seal(key, Buffer.alloc(0), ad);
  assert.equal(open(key, empty, ad, 'empty').length, 0);
  assertIntegrityError(() => open(key, empty.subarray(0, 39), ad, 'empty'), 'empty');
});

void test('changing any associated-data field (repo, type, object id, epoch) fails with IntegrityError', () => {
  const key = randomBytes(32);
  const base = { repoId: 'repo-1', type: 'data', objectId: 'chunk-aa', epoch: 2 };
  const sealed = seal(key, Buffer.from('payload'), associatedData(base));
  assert.equal(open(key, sealed, associatedData(base), 'x').toString(), 'payload');
  const variants = [
    { ...base, repoId: 'repo-2' },
    { ...base, type: 'tree' },
    { ...base, objectId: 'chunk-ab' },
    { ...base, epoch: 3 },
  ];
  for (const v of variants) assertIntegrityError(() => open(key, sealed, associatedData(v), 'chunk chunk-aa'), 'chunk chunk-aa');
});

void test('associatedData is unambiguous: shifting bytes between fields changes the encoding', () => {
  const a = associatedData({ repoId: 'ab', type: 'c', objectId: 'd', epoch: 1 });
  const b = associatedData({ repoId: 'a', type: 'bc', objectId: 'd', epoch: 1 });
  const c = associatedData({ repoId: 'a', type: 'b', objectId: 'cd', epoch: 1 });
  assert.notDeepEqual(a, b);
  assert.notDeepEqual(b, c);
  assert.deepEqual(a, associatedData({ repoId: 'ab', type: 'c', objectId: 'd', epoch: 1 }));
  assert.notDeepEqual(associatedData({ repoId: 'r', type: 't', objectId: 'o', epoch: 1 }), associatedData({ repoId: 'r', type: 't', objectId: 'o', epoch: 256 }));
  assert.throws(() => associatedData({ repoId: 'r', type: 't', objectId: 'o', epoch: -1 }), RangeError);
  assert.throws(() => associatedData({ repoId: 'r', type: 't', objectId: 'o', epoch: 1.5 }), RangeError);
});

void test('keys of the wrong length are rejected as programming errors', () => {
  assert.throws(() => seal(randomBytes(16), Buffer.alloc(1), Buffer.alloc(0)), RangeError);
  assert.throws(() => open(randomBytes(31), Buffer.alloc(64), Buffer.alloc(0), 'x'), RangeError);
});
