import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { deriveKey, KDF_CHEAP_FOR_TESTS, kdfParamsProblem } from '../../../activities/crypto/kdf';
import { loadSodium } from '../../../activities/crypto/sodium';

void test('deriveKey is Argon2id: 32 bytes, equal to libsodium crypto_pwhash ALG_ARGON2ID13', async () => {
  const sodium = await loadSodium();
  const salt = randomBytes(16);
  const key = await deriveKey('correct horse', salt, KDF_CHEAP_FOR_TESTS);
  assert.equal(key.length, 32);
  const reference = sodium.crypto_pwhash(32, 'correct horse', salt, 1, 8 * 1024 * 1024, sodium.crypto_pwhash_ALG_ARGON2ID13);
  assert.deepEqual(Buffer.from(key), Buffer.from(reference));
  const argon2i = sodium.crypto_pwhash(32, 'correct horse', salt, 3, 8 * 1024 * 1024, sodium.crypto_pwhash_ALG_ARGON2I13);
  assert.notDeepEqual(Buffer.from(key), Buffer.from(argon2i));
});

void test('deriveKey differs by passphrase, salt and parameters', async () => {
  const salt = randomBytes(16);
  const a = Buffer.from(await deriveKey('pass', salt, KDF_CHEAP_FOR_TESTS));
  assert.deepEqual(Buffer.from(await deriveKey('pass', salt, KDF_CHEAP_FOR_TESTS)), a);
  assert.notDeepEqual(Buffer.from(await deriveKey('pass!', salt, KDF_CHEAP_FOR_TESTS)), a);
  assert.notDeepEqual(Buffer.from(await deriveKey('pass', randomBytes(16), KDF_CHEAP_FOR_TESTS)), a);
  assert.notDeepEqual(Buffer.from(await deriveKey('pass', salt, { opsLimit: 2, memLimitBytes: 8 * 1024 * 1024 })), a);
});

void test('string passphrases are NFC-normalised (composed and decomposed forms match)', async () => {
  const salt = randomBytes(16);
  const composed = 'caf\u00e9';
  const decomposed = 'cafe\u0301';
  assert.notEqual(composed, decomposed);
  assert.deepEqual(Buffer.from(await deriveKey(composed, salt, KDF_CHEAP_FOR_TESTS)), Buffer.from(await deriveKey(decomposed, salt, KDF_CHEAP_FOR_TESTS)));
});

void test('out-of-range parameters and salts are refused before any work', async () => {
  assert.equal(kdfParamsProblem(KDF_CHEAP_FOR_TESTS), undefined);
  assert.ok(kdfParamsProblem({ opsLimit: 0, memLimitBytes: 8 * 1024 * 1024 }));
  assert.ok(kdfParamsProblem({ opsLimit: 1, memLimitBytes: 64 * 1024 * 1024 * 1024 }));
  assert.ok(kdfParamsProblem({ opsLimit: 1.5, memLimitBytes: 8 * 1024 * 1024 }));
  await assert.rejects(deriveKey('p', randomBytes(16), { opsLimit: 1000, memLimitBytes: 8 * 1024 * 1024 }), RangeError);
  await assert.rejects(deriveKey('p', randomBytes(8), KDF_CHEAP_FOR_TESTS), RangeError);
});
