import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { seal } from '../../../activities/crypto/aead';
import { KeyFileCorrupt, WrongPassphrase } from '../../../activities/crypto/errors';
import { KDF_CHEAP_FOR_TESTS } from '../../../activities/crypto/kdf';
import { Keyring } from '../../../activities/crypto/keyring';
import {
  createPassphraseKeyFile,
  createRecipientKeyFile,
  generateRecipientKeyPair,
  openKeyFile,
  parseKeyFileInfo,
} from '../../../activities/crypto/keyfile';
import { loadSodium } from '../../../activities/crypto/sodium';

type Doc = Record<string, unknown> & { kdf?: Record<string, unknown>; recipient?: Record<string, unknown> };

// An independent implementation of the documented encodings, as an attacker
// (or another reader) would write it: proves the format spec and lets the
// tests forge files that pass the (non-secret) checksum.
function lp(parts: Buffer[]): Buffer {
  return Buffer.concat(parts.flatMap((p) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(p.length);
    return [len, p];
  }));
}
function header(d: Doc): Buffer {
  const label = typeof d.label === 'string' ? `1${d.label}` : '0';
  const common = ['coffer/key-file/v1', String(d.version), String(d.kind), String(d.id), String(d.created), label];
  const specific = d.kind === 'passphrase'
    ? [String(d.kdf?.alg), String(d.kdf?.opsLimit), String(d.kdf?.memLimitBytes), String(d.kdf?.salt)]
    : [String(d.recipient?.alg), String(d.recipient?.publicKey)];
  return lp([...common, ...specific].map((s) => Buffer.from(s)));
}
function withChecksum(d: Doc): Buffer {
  const b = (k: string): Buffer => Buffer.from(String(d[k]), 'base64');
  const blobs = d.kind === 'passphrase' ? [b('sealedKeyring')] : [b('sealedFileKey'), b('sealedKeyring'), b('mac')];
  d.checksum = createHash('sha256').update(lp([header(d), ...blobs])).digest('hex');
  return Buffer.from(JSON.stringify(d));
}
const parse = (bytes: Buffer): Doc => JSON.parse(bytes.toString()) as Doc;

function sameKeyring(a: Keyring, b: Keyring): void {
  assert.deepEqual(a.serialize(), b.serialize());
}

void test('passphrase key file: round trip, info without unlocking, KDF parameters stored', async () => {
  const keyring = Keyring.generate();
  keyring.addEpoch();
  const file = await createPassphraseKeyFile(keyring, 'hunter2 ünïcødé', KDF_CHEAP_FOR_TESTS, 'laptop');
  const info = parseKeyFileInfo(file);
  assert.equal(info.kind, 'passphrase');
  assert.equal(info.label, 'laptop');
  assert.match(info.id, /^[0-9a-f]{64}$/);
  assert.ok(!Number.isNaN(Date.parse(info.created)));
  assert.deepEqual(info.kdf, { opsLimit: 1, memLimitBytes: 8 * 1024 * 1024 });
  const text = file.toString();
  assert.ok(!text.includes(keyring.chunkIdKey.toString('base64')), 'no key in the clear');
  const opened = await openKeyFile(file, { passphrase: 'hunter2 ünïcødé' });
  sameKeyring(opened.keyring, keyring);
  assert.deepEqual(opened.info, info);
  const unlabelled = await createPassphraseKeyFile(keyring, 'x', KDF_CHEAP_FOR_TESTS);
  assert.equal(parseKeyFileInfo(unlabelled).label, null);
  assert.notEqual(parseKeyFileInfo(unlabelled).id, info.id);
});

void test('wrong passphrase is WrongPassphrase (E201), distinct from corruption', async () => {
  const file = await createPassphraseKeyFile(Keyring.generate(), 'right', KDF_CHEAP_FOR_TESTS);
  await assert.rejects(openKeyFile(file, { passphrase: 'wrong' }), (err: unknown) => {
    assert.ok(err instanceof WrongPassphrase);
    assert.equal(err.code, 'COFFER-E201');
    assert.ok(!err.message.includes('wrong'), 'the passphrase is not echoed');
    return true;
  });
  await assert.rejects(openKeyFile(file, { x25519SecretKey: randomBytes(32), x25519PublicKey: randomBytes(32) }), WrongPassphrase);
});

void test('damaged passphrase key files are KeyFileCorrupt (E202): flipped bytes, truncation, bad JSON, bad fields', async () => {
  const file = await createPassphraseKeyFile(Keyring.generate(), 'pw', KDF_CHEAP_FOR_TESTS, 'l');
  const isCorrupt = (err: unknown): boolean => err instanceof KeyFileCorrupt && err.code === 'COFFER-E202';

  // Flip a bit in every byte position of the file; each must be detected as corruption (never opened).
  let corrupt = 0;
  for (let i = 0; i < file.length; i++) {
    const bad = Buffer.from(file);
    bad[i] ^= 0x01;
    try {
      await openKeyFile(bad, { passphrase: 'pw' });
      assert.fail(`byte ${i} flipped and the file still opened`);
    } catch (err) {
      // A flip in insignificant whitespace can produce valid JSON with the same content: allowed only then.
      if (!isCorrupt(err)) throw err;
      corrupt++;
    }
  }
  assert.equal(corrupt, file.length);

  for (const len of [0, 1, 10, file.length / 2, file.length - 3]) {
    await assert.rejects(openKeyFile(file.subarray(0, Math.floor(len)), { passphrase: 'pw' }), isCorrupt);
    assert.throws(() => parseKeyFileInfo(file.subarray(0, Math.floor(len))), isCorrupt);
  }
  const d = parse(file);
  const mutations: ((x: Doc) => void)[] = [
    (x) => { x.format = 'other'; },
    (x) => { x.version = 99; },
    (x) => { x.kind = 'magic'; },
    (x) => { x.id = 'zz'; },
    (x) => { delete x.label; },
    (x) => { x.kdf!.alg = 'scrypt'; },
    (x) => { x.kdf!.memLimitBytes = 64 * 1024 * 1024 * 1024; },
    (x) => { x.kdf!.opsLimit = 100000; },
    (x) => { x.kdf!.salt = 'AAAA'; },
    (x) => { x.sealedKeyring = 'not base64!'; },
    (x) => { x.extra = 1; },
  ];
  for (const m of mutations) {
    const x = structuredClone(d);
    m(x);
    await assert.rejects(openKeyFile(withChecksum(x), { passphrase: 'pw' }), isCorrupt);
  }
  await assert.rejects(openKeyFile(Buffer.from([0xff, 0xfe, 0x00]), { passphrase: 'pw' }), isCorrupt);
  await assert.rejects(openKeyFile(Buffer.alloc(2 * 1024 * 1024, 0x20), { passphrase: 'pw' }), isCorrupt);
});

void test('authenticated header: a label, id or KDF change with a recomputed checksum does not open', async () => {
  const file = await createPassphraseKeyFile(Keyring.generate(), 'pw', KDF_CHEAP_FOR_TESTS, 'original');
  const base = parse(file);
  for (const edit of [
    (x: Doc) => { x.label = 'renamed'; },
    (x: Doc) => { x.id = 'a'.repeat(64); },
    (x: Doc) => { x.created = '2001-01-01T00:00:00.000Z'; },
  ]) {
    const x = structuredClone(base);
    edit(x);
    // The checksum is public, so an attacker can fix it; the AEAD's associated data still refuses.
    await assert.rejects(openKeyFile(withChecksum(x), { passphrase: 'pw' }), WrongPassphrase);
  }
  // Sanity: the independent checksum implementation agrees with the real one.
  assert.deepEqual(parse(withChecksum(structuredClone(base))), base);
});

void test('recipient key file: round trip with the right X25519 key; other keys and passphrases are WrongPassphrase', async () => {
  const keyring = Keyring.generate();
  const me = await generateRecipientKeyPair();
  const file = await createRecipientKeyFile(keyring, me.publicKey, 'ops team');
  const info = parseKeyFileInfo(file);
  assert.equal(info.kind, 'recipient');
  assert.equal(info.recipientPublicKey, Buffer.from(me.publicKey).toString('base64'));
  const opened = await openKeyFile(file, { x25519SecretKey: me.secretKey, x25519PublicKey: me.publicKey });
  sameKeyring(opened.keyring, keyring);
  assert.equal(opened.info.label, 'ops team');

  const other = await generateRecipientKeyPair();
  await assert.rejects(openKeyFile(file, { x25519SecretKey: other.secretKey, x25519PublicKey: other.publicKey }), WrongPassphrase);
  await assert.rejects(openKeyFile(file, { x25519SecretKey: other.secretKey, x25519PublicKey: me.publicKey }), WrongPassphrase);
  await assert.rejects(openKeyFile(file, { passphrase: 'x' }), WrongPassphrase);
});

void test('recipient key file: a forged envelope (attacker re-seals their own file key) is rejected', async () => {
  const sodium = await loadSodium();
  const genuine = Keyring.generate();
  const me = await generateRecipientKeyPair();
  const file = await createRecipientKeyFile(genuine, me.publicKey);
  const unlock = { x25519SecretKey: me.secretKey, x25519PublicKey: me.publicKey };
  const d = parse(file);

  // 1. Attacker seals their own file key to my public key (anyone can: crypto_box_seal is anonymous)
  //    and their own keyring under it, but cannot produce the MAC of the genuine keyring.
  const attackerKeyring = Keyring.generate();
  const attackerFileKey = randomBytes(32);
  const forged = structuredClone(d);
  forged.sealedFileKey = Buffer.from(sodium.crypto_box_seal(attackerFileKey, me.publicKey)).toString('base64');
  forged.sealedKeyring = seal(attackerFileKey, attackerKeyring.serialize(), header(forged)).toString('base64');
  await assert.rejects(openKeyFile(withChecksum(forged), unlock), (err: unknown) => err instanceof KeyFileCorrupt && /forged/.test(err.message));

  // 2. Attacker re-seals their own file key but keeps the genuine sealed keyring: it does not open.
  const forged2 = structuredClone(d);
  forged2.sealedFileKey = Buffer.from(sodium.crypto_box_seal(attackerFileKey, me.publicKey)).toString('base64');
  await assert.rejects(openKeyFile(withChecksum(forged2), unlock), KeyFileCorrupt);

  // 3. A complete file made for a different keyring is self-consistent; pinning the fingerprint rejects it.
  const substitute = await createRecipientKeyFile(attackerKeyring, me.publicKey);
  await assert.rejects(openKeyFile(substitute, unlock, { expectedFingerprint: genuine.fingerprint() }), KeyFileCorrupt);
  const ok = await openKeyFile(file, unlock, { expectedFingerprint: genuine.fingerprint() });
  sameKeyring(ok.keyring, genuine);

  // 4. The MAC itself is checked: a random MAC fails.
  const forged4 = structuredClone(d);
  forged4.mac = randomBytes(32).toString('base64');
  await assert.rejects(openKeyFile(withChecksum(forged4), unlock), (err: unknown) => err instanceof KeyFileCorrupt && /MAC/.test(err.message));
});

void test('passphrase files also honour the pinned fingerprint', async () => {
  const k = Keyring.generate();
  const file = await createPassphraseKeyFile(k, 'pw', KDF_CHEAP_FOR_TESTS);
  await assert.rejects(openKeyFile(file, { passphrase: 'pw' }, { expectedFingerprint: Keyring.generate().fingerprint() }), KeyFileCorrupt);
  const { keyring } = await openKeyFile(file, { passphrase: 'pw' }, { expectedFingerprint: k.fingerprint() });
  assert.equal(keyring.fingerprint(), k.fingerprint());
});
