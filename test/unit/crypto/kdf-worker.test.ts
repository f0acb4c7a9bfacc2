import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { deriveKey, KDF_DEFAULT, KDF_INTERACTIVE } from '../../../activities/crypto/kdf';
import { loadSodium } from '../../../activities/crypto/sodium';

void test('the default KDF for new key files is INTERACTIVE-class (2 passes, 64 MiB)', () => {
  assert.deepEqual({ ...KDF_DEFAULT }, { opsLimit: 2, memLimitBytes: 64 * 1024 * 1024 });
});

void test('costly derivations run in a worker thread and equal libsodium crypto_pwhash ARGON2ID13', async () => {
  const sodium = await loadSodium();
  const salt = randomBytes(16);
  const passphrase = Buffer.from('correct horse battery', 'utf8');
  const key = await deriveKey(passphrase, salt, KDF_INTERACTIVE);
  assert.equal(key.length, 32);
  // The caller's buffer is neither detached nor wiped by the worker hand-off.
  assert.equal(passphrase.toString('utf8'), 'correct horse battery');
  const reference = sodium.crypto_pwhash(32, passphrase, salt, KDF_INTERACTIVE.opsLimit, KDF_INTERACTIVE.memLimitBytes, sodium.crypto_pwhash_ALG_ARGON2ID13);
  assert.deepEqual(Buffer.from(key), Buffer.from(reference));
  // NFC normalisation applies on the worker path too.
  const a = await deriveKey('caf\u00e9', salt, KDF_INTERACTIVE);
  const b = await deriveKey('cafe\u0301', salt, KDF_INTERACTIVE);
  assert.deepEqual(Buffer.from(a), Buffer.from(b));
});
