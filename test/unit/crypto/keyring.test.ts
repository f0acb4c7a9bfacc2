import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Keyring, UnknownEpoch } from '../../../activities/crypto/keyring';
import { KeyFileCorrupt } from '../../../activities/crypto/errors';

void test('generate: 32-byte distinct lifetime keys and epoch 1 current', () => {
  const k = Keyring.generate();
  assert.equal(k.currentEpoch, 1);
  assert.deepEqual(k.epochNumbers, [1]);
  for (const key of [k.chunkIdKey, k.chunkerSeed, k.auditMacKey, k.dataKey(1), k.metadataKey(1)]) assert.equal(key.length, 32);
  const all = new Set([k.chunkIdKey, k.chunkerSeed, k.auditMacKey, k.dataKey(1), k.metadataKey(1)].map((b) => b.toString('hex')));
  assert.equal(all.size, 5);
  assert.notDeepEqual(Keyring.generate().chunkIdKey, k.chunkIdKey);
});

void test('addEpoch makes new data and metadata keys current; lifetime keys stay', () => {
  const k = Keyring.generate();
  const lifetime = [k.chunkIdKey, k.chunkerSeed, k.auditMacKey].map((b) => Buffer.from(b));
  const fp = k.fingerprint();
  assert.equal(k.addEpoch(), 2);
  assert.equal(k.addEpoch(), 3);
  assert.equal(k.currentEpoch, 3);
  assert.notDeepEqual(k.dataKey(3), k.dataKey(2));
  assert.notDeepEqual(k.metadataKey(3), k.metadataKey(1));
  assert.deepEqual([k.chunkIdKey, k.chunkerSeed, k.auditMacKey], lifetime);
  assert.equal(k.fingerprint(), fp, 'fingerprint covers lifetime keys only');
});

void test('retireEpochsBefore forgets old keys; unknown epochs give a clear error; current cannot be retired', () => {
  const k = Keyring.generate();
  k.addEpoch();
  k.addEpoch();
  assert.deepEqual(k.retireEpochsBefore(3), [1, 2]);
  assert.deepEqual(k.epochNumbers, [3]);
  assert.equal(k.hasEpoch(1), false);
  assert.throws(() => k.dataKey(1), (err: unknown) => err instanceof UnknownEpoch && /epoch 1 is not in this keyring \(known epochs: 3\)/.test(err.message));
  assert.throws(() => k.metadataKey(7), UnknownEpoch);
  assert.throws(() => k.retireEpochsBefore(4), RangeError);
  assert.equal(k.addEpoch(), 4, 'epoch numbers are never reused');
});

void test('serialize/deserialize round-trips every key and epoch', () => {
  const k = Keyring.generate();
  k.addEpoch();
  k.addEpoch();
  k.retireEpochsBefore(2);
  const copy = Keyring.deserialize(k.serialize());
  assert.equal(copy.currentEpoch, 3);
  assert.deepEqual(copy.epochNumbers, [2, 3]);
  assert.deepEqual(copy.chunkIdKey, k.chunkIdKey);
  assert.deepEqual(copy.chunkerSeed, k.chunkerSeed);
  assert.deepEqual(copy.auditMacKey, k.auditMacKey);
  for (const e of [2, 3]) {
    assert.deepEqual(copy.dataKey(e), k.dataKey(e));
    assert.deepEqual(copy.metadataKey(e), k.metadataKey(e));
  }
  assert.equal(copy.fingerprint(), k.fingerprint());
  const doc = JSON.parse(k.serialize().toString()) as { version: number };
  assert.equal(doc.version, 1);
});

void test('deserialize rejects malformed keyrings with KeyFileCorrupt', () => {
  const good = JSON.parse(Keyring.generate().serialize().toString()) as Record<string, unknown>;
  const bad: unknown[] = [
    'not json',
    JSON.stringify(null),
    JSON.stringify({ ...good, version: 2 }),
    JSON.stringify({ ...good, chunkIdKey: 'AAAA' }),
    JSON.stringify({ ...good, currentEpoch: 9 }),
    JSON.stringify({ ...good, currentEpoch: 0 }),
    JSON.stringify({ ...good, epochs: [] }),
    JSON.stringify({ ...good, epochs: [...(good.epochs as unknown[]), ...(good.epochs as unknown[])] }),
  ];
  for (const b of bad) assert.throws(() => Keyring.deserialize(Buffer.from(b as string)), KeyFileCorrupt, String(b).slice(0, 40));
});

void test('wipe zeroes keys', () => {
  const k = Keyring.generate();
  const seed = k.chunkerSeed;
  k.wipe();
  assert.ok(seed.every((b) => b === 0));
  assert.throws(() => k.dataKey(1), UnknownEpoch);
});
