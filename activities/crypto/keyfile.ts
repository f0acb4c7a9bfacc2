/**
 * Key files wrap the serialized keyring, for a passphrase (Argon2id) or for an
 * X25519 recipient (crypto_box_seal of a random file key). They are the only
 * unencrypted objects in a repository, so every field is validated and bound:
 *
 * - `header` = canonical length-prefixed encoding of every field except the
 *   sealed blobs; it is the associated data of the sealed keyring, so a label,
 *   id, kind or KDF parameter cannot be changed without failing to open.
 * - `checksum` = SHA-256 over header and blobs. It is not a security feature:
 *   it separates accidental damage (KeyFileCorrupt) from a wrong passphrase
 *   (WrongPassphrase, the AEAD failing on an intact file).
 * - recipient files carry `mac`: keyed BLAKE3 over header and blobs with a
 *   subkey of the keyring's auditMacKey, checked after opening. crypto_box_seal
 *   is anonymous, so anyone could seal a file key of their own; the MAC means
 *   only a holder of the real keyring can produce an envelope that opens it.
 *   (A whole substituted keyring is caught by `expectedFingerprint` or by the
 *   repository config failing to open with it.)
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { open, seal, lengthPrefixed } from './aead';
import { deriveSubkey, mac } from './chunk-id';
import { KeyFileCorrupt, WrongPassphrase, IntegrityError } from './errors';
import { deriveKey, kdfParamsProblem, KDF_MODERATE, SALT_BYTES } from './kdf';
import type { KdfParams } from './kdf';
import { Keyring } from './keyring';
import { randomBytes, randomId } from './random';
import { loadSodium } from './sodium';

export const KEY_FILE_FORMAT = 'coffer-key-file';
export const KEY_FILE_VERSION = 1;
/** Key files are small; anything larger is rejected before parsing. */
export const KEY_FILE_MAX_BYTES = 1024 * 1024;
const HEADER_DOMAIN = 'coffer/key-file/v1';
const ENVELOPE_MAC_CONTEXT = 'coffer 2025 recipient key file envelope MAC v1';

export type KeyFileKind = 'passphrase' | 'recipient';

export interface KeyFileInfo {
  id: string;
  kind: KeyFileKind;
  created: string;
  label: string | null;
  /** Passphrase files: the Argon2id parameters they demand. */
  kdf?: KdfParams;
  /** Recipient files: the X25519 public key (base64) they are sealed to. */
  recipientPublicKey?: string;
}

export type KeyFileUnlock = { passphrase: string | Uint8Array } | { x25519SecretKey: Uint8Array; x25519PublicKey: Uint8Array };

export interface OpenKeyFileOptions {
  /** Keyring.fingerprint() pinned for this repository: a key file with another keyring is rejected. */
  expectedFingerprint?: string;
}

interface PassphraseDoc {
  format: string;
  version: number;
  kind: 'passphrase';
  id: string;
  created: string;
  label: string | null;
  kdf: { alg: 'argon2id'; opsLimit: number; memLimitBytes: number; salt: string };
  sealedKeyring: string;
  checksum: string;
}

interface RecipientDoc {
  format: string;
  version: number;
  kind: 'recipient';
  id: string;
  created: string;
  label: string | null;
  recipient: { alg: 'x25519'; publicKey: string };
  sealedFileKey: string;
  sealedKeyring: string;
  mac: string;
  checksum: string;
}

type KeyFileDoc = PassphraseDoc | RecipientDoc;

// ---------------------------------------------------------------- encoding

function headerBytes(doc: KeyFileDoc): Buffer {
  const common = [HEADER_DOMAIN, String(doc.version), doc.kind, doc.id, doc.created, doc.label === null ? '0' : `1${doc.label}`];
  const specific =
    doc.kind === 'passphrase'
      ? [doc.kdf.alg, String(doc.kdf.opsLimit), String(doc.kdf.memLimitBytes), doc.kdf.salt]
      : [doc.recipient.alg, doc.recipient.publicKey];
  return lengthPrefixed([...common, ...specific].map((s) => Buffer.from(s, 'utf8')));
}

function blobs(doc: KeyFileDoc): Buffer[] {
  return doc.kind === 'passphrase'
    ? [Buffer.from(doc.sealedKeyring, 'base64')]
    : [Buffer.from(doc.sealedFileKey, 'base64'), Buffer.from(doc.sealedKeyring, 'base64')];
}

function checksumOf(doc: KeyFileDoc): string {
  const macPart = doc.kind === 'recipient' ? [Buffer.from(doc.mac, 'base64')] : [];
  return createHash('sha256').update(lengthPrefixed([headerBytes(doc), ...blobs(doc), ...macPart])).digest('hex');
}

function envelopeMac(keyring: Keyring, doc: RecipientDoc): Buffer {
  const macKey = deriveSubkey(ENVELOPE_MAC_CONTEXT, keyring.auditMacKey);
  try {
    return mac(macKey, lengthPrefixed([headerBytes(doc), ...blobs(doc)]));
  } finally {
    macKey.fill(0);
  }
}

function serializeDoc(doc: KeyFileDoc): Buffer {
  return Buffer.from(`${JSON.stringify(doc, null, 2)}\n`, 'utf8');
}

function normaliseLabel(label: string | undefined): string | null {
  if (label === undefined) return null;
  if (label.length > 256) throw new RangeError('key file label is longer than 256 characters');
  return label;
}

// ---------------------------------------------------------------- creation

export async function createPassphraseKeyFile(
  keyring: Keyring,
  passphrase: string | Uint8Array,
  kdfParams: KdfParams = KDF_MODERATE,
  label?: string,
): Promise<Buffer> {
  const salt = randomBytes(SALT_BYTES);
  const doc: PassphraseDoc = {
    format: KEY_FILE_FORMAT,
    version: KEY_FILE_VERSION,
    kind: 'passphrase',
    id: randomId(),
    created: new Date().toISOString(),
    label: normaliseLabel(label),
    kdf: { alg: 'argon2id', opsLimit: kdfParams.opsLimit, memLimitBytes: kdfParams.memLimitBytes, salt: salt.toString('base64') },
    sealedKeyring: '',
    checksum: '',
  };
  const wrappingKey = await deriveKey(passphrase, salt, kdfParams);
  const plain = keyring.serialize();
  try {
    doc.sealedKeyring = seal(wrappingKey, plain, headerBytes(doc)).toString('base64');
  } finally {
    wrappingKey.fill(0);
    plain.fill(0);
  }
  doc.checksum = checksumOf(doc);
  return serializeDoc(doc);
}

export async function createRecipientKeyFile(keyring: Keyring, recipientPublicKey: Uint8Array, label?: string): Promise<Buffer> {
  if (recipientPublicKey.length !== 32) throw new RangeError('recipient public key must be 32 bytes (X25519)');
  const sodium = await loadSodium();
  const fileKey = randomBytes(32);
  const doc: RecipientDoc = {
    format: KEY_FILE_FORMAT,
    version: KEY_FILE_VERSION,
    kind: 'recipient',
    id: randomId(),
    created: new Date().toISOString(),
    label: normaliseLabel(label),
    recipient: { alg: 'x25519', publicKey: Buffer.from(recipientPublicKey).toString('base64') },
    sealedFileKey: '',
    sealedKeyring: '',
    mac: '',
    checksum: '',
  };
  const plain = keyring.serialize();
  try {
    doc.sealedFileKey = Buffer.from(sodium.crypto_box_seal(fileKey, recipientPublicKey)).toString('base64');
    doc.sealedKeyring = seal(fileKey, plain, headerBytes(doc)).toString('base64');
  } finally {
    fileKey.fill(0);
    plain.fill(0);
  }
  doc.mac = envelopeMac(keyring, doc).toString('base64');
  doc.checksum = checksumOf(doc);
  return serializeDoc(doc);
}

/** A new X25519 key pair for recipient key files. */
export async function generateRecipientKeyPair(): Promise<{ publicKey: Uint8Array; secretKey: Uint8Array }> {
  const sodium = await loadSodium();
  const pair = sodium.crypto_box_keypair();
  return { publicKey: pair.publicKey, secretKey: pair.privateKey };
}

// ---------------------------------------------------------------- parsing

function fail(what: string): never {
  throw new KeyFileCorrupt(`key file is malformed: ${what}`);
}

function field(obj: Record<string, unknown>, name: string): unknown {
  if (!Object.prototype.hasOwnProperty.call(obj, name)) fail(`missing field "${name}"`);
  return obj[name];
}

function str(obj: Record<string, unknown>, name: string, maxLength = 4096): string {
  const v = field(obj, name);
  if (typeof v !== 'string' || v.length > maxLength) fail(`field "${name}" is not a string`);
  return v;
}

function int(obj: Record<string, unknown>, name: string): number {
  const v = field(obj, name);
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) fail(`field "${name}" is not an integer`);
  return v;
}

function record(v: unknown, name: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(`"${name}" is not an object`);
  return v as Record<string, unknown>;
}

/** Canonical (padded, no whitespace) base64 of an exact or minimum length. */
function b64(obj: Record<string, unknown>, name: string, length: { exact?: number; min?: number }): string {
  const v = str(obj, name, KEY_FILE_MAX_BYTES);
  const bytes = Buffer.from(v, 'base64');
  if (bytes.toString('base64') !== v) fail(`field "${name}" is not canonical base64`);
  if (length.exact !== undefined && bytes.length !== length.exact) fail(`field "${name}" has the wrong length`);
  if (length.min !== undefined && bytes.length < length.min) fail(`field "${name}" is too short`);
  return v;
}

function onlyFields(obj: Record<string, unknown>, allowed: readonly string[], where: string): void {
  for (const k of Object.keys(obj)) if (!allowed.includes(k)) fail(`unexpected field "${k}" in ${where}`);
}

function parseDoc(bytes: Uint8Array): KeyFileDoc {
  if (bytes.length > KEY_FILE_MAX_BYTES) fail(`larger than ${KEY_FILE_MAX_BYTES} bytes`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (err) {
    throw new KeyFileCorrupt('key file is not valid UTF-8 JSON (truncated or damaged)', { cause: err });
  }
  const o = record(parsed, 'key file');
  if (field(o, 'format') !== KEY_FILE_FORMAT) fail('not a Coffer key file');
  const version = int(o, 'version');
  if (version !== KEY_FILE_VERSION) throw new KeyFileCorrupt(`unsupported key file version ${version} (this Coffer reads version ${KEY_FILE_VERSION})`);
  const kind = str(o, 'kind');
  const id = str(o, 'id');
  if (!/^[0-9a-f]{64}$/.test(id)) fail('field "id" is not 64 hex characters');
  const created = str(o, 'created', 64);
  if (Number.isNaN(Date.parse(created))) fail('field "created" is not a date');
  const labelValue = field(o, 'label');
  if (labelValue !== null && (typeof labelValue !== 'string' || labelValue.length > 256)) fail('field "label" is not a string of at most 256 characters');
  const label = labelValue;
  const checksum = str(o, 'checksum');
  if (!/^[0-9a-f]{64}$/.test(checksum)) fail('field "checksum" is not 64 hex characters');
  // The smallest sealed keyring is far above the AEAD overhead; 40 bytes is a floor.
  const sealedKeyring = b64(o, 'sealedKeyring', { min: 40 });

  let doc: KeyFileDoc;
  if (kind === 'passphrase') {
    onlyFields(o, ['format', 'version', 'kind', 'id', 'created', 'label', 'kdf', 'sealedKeyring', 'checksum'], 'key file');
    const k = record(field(o, 'kdf'), 'kdf');
    onlyFields(k, ['alg', 'opsLimit', 'memLimitBytes', 'salt'], 'kdf');
    if (field(k, 'alg') !== 'argon2id') fail('kdf.alg is not "argon2id"');
    const kdf = { alg: 'argon2id' as const, opsLimit: int(k, 'opsLimit'), memLimitBytes: int(k, 'memLimitBytes'), salt: b64(k, 'salt', { exact: SALT_BYTES }) };
    const problem = kdfParamsProblem(kdf);
    if (problem !== undefined) fail(`kdf parameters out of range: ${problem}`);
    doc = { format: KEY_FILE_FORMAT, version, kind, id, created, label, kdf, sealedKeyring, checksum };
  } else if (kind === 'recipient') {
    onlyFields(o, ['format', 'version', 'kind', 'id', 'created', 'label', 'recipient', 'sealedFileKey', 'sealedKeyring', 'mac', 'checksum'], 'key file');
    const r = record(field(o, 'recipient'), 'recipient');
    onlyFields(r, ['alg', 'publicKey'], 'recipient');
    if (field(r, 'alg') !== 'x25519') fail('recipient.alg is not "x25519"');
    const recipient = { alg: 'x25519' as const, publicKey: b64(r, 'publicKey', { exact: 32 }) };
    // crypto_box_seal: ephemeral public key (32) + MAC (16) + 32-byte file key.
    const sealedFileKey = b64(o, 'sealedFileKey', { exact: 80 });
    const macValue = b64(o, 'mac', { exact: 32 });
    doc = { format: KEY_FILE_FORMAT, version, kind, id, created, label, recipient, sealedFileKey, sealedKeyring, mac: macValue, checksum };
  } else {
    fail(`unknown kind ${JSON.stringify(kind)}`);
  }

  const expected = Buffer.from(checksumOf(doc), 'hex');
  if (!timingSafeEqual(expected, Buffer.from(checksum, 'hex'))) {
    throw new KeyFileCorrupt('key file checksum does not match: the file is damaged');
  }
  return doc;
}

function infoOf(doc: KeyFileDoc): KeyFileInfo {
  const base = { id: doc.id, kind: doc.kind, created: doc.created, label: doc.label };
  return doc.kind === 'passphrase'
    ? { ...base, kdf: { opsLimit: doc.kdf.opsLimit, memLimitBytes: doc.kdf.memLimitBytes } }
    : { ...base, recipientPublicKey: doc.recipient.publicKey };
}

/** Id, kind, created and label, without unlocking. Throws KeyFileCorrupt for malformed files. */
export function parseKeyFileInfo(bytes: Uint8Array): KeyFileInfo {
  return infoOf(parseDoc(bytes));
}

// ---------------------------------------------------------------- opening

export async function openKeyFile(
  bytes: Uint8Array,
  unlock: KeyFileUnlock,
  options: OpenKeyFileOptions = {},
): Promise<{ keyring: Keyring; info: KeyFileInfo }> {
  const doc = parseDoc(bytes);
  const keyring = doc.kind === 'passphrase' ? await openPassphrase(doc, unlock) : await openRecipient(doc, unlock);
  if (options.expectedFingerprint !== undefined && keyring.fingerprint() !== options.expectedFingerprint) {
    keyring.wipe();
    throw new KeyFileCorrupt(`key file ${doc.id} holds a different keyring than the one pinned for this repository`);
  }
  return { keyring, info: infoOf(doc) };
}

function deserializeSealedKeyring(plain: Buffer, id: string): Keyring {
  try {
    return Keyring.deserialize(plain);
  } catch (err) {
    if (err instanceof KeyFileCorrupt) throw new KeyFileCorrupt(`key file ${id}: ${err.message}`, { cause: err });
    throw err;
  } finally {
    plain.fill(0);
  }
}

async function openPassphrase(doc: PassphraseDoc, unlock: KeyFileUnlock): Promise<Keyring> {
  if (!('passphrase' in unlock)) throw new WrongPassphrase(`key file ${doc.id} is unlocked by a passphrase, not by a recipient key`);
  const key = await deriveKey(unlock.passphrase, Buffer.from(doc.kdf.salt, 'base64'), doc.kdf);
  let plain: Buffer;
  try {
    plain = open(key, Buffer.from(doc.sealedKeyring, 'base64'), headerBytes(doc), `key file ${doc.id}`);
  } catch (err) {
    // The checksum showed the file intact, so a failing AEAD means the wrong passphrase.
    if (err instanceof IntegrityError) throw new WrongPassphrase(`the passphrase does not unlock key file ${doc.id}`);
    throw err;
  } finally {
    key.fill(0);
  }
  return deserializeSealedKeyring(plain, doc.id);
}

async function openRecipient(doc: RecipientDoc, unlock: KeyFileUnlock): Promise<Keyring> {
  if (!('x25519SecretKey' in unlock)) throw new WrongPassphrase(`key file ${doc.id} is sealed to a recipient key, not a passphrase`);
  const { x25519SecretKey: secretKey, x25519PublicKey: publicKey } = unlock;
  if (secretKey.length !== 32 || publicKey.length !== 32) throw new WrongPassphrase('recipient keys must be 32-byte X25519 keys');
  const sodium = await loadSodium();
  if (!timingSafeEqual(Buffer.from(sodium.crypto_scalarmult_base(secretKey)), Buffer.from(publicKey))) {
    throw new WrongPassphrase('the recipient secret key does not belong to the given public key');
  }
  if (!timingSafeEqual(Buffer.from(publicKey), Buffer.from(doc.recipient.publicKey, 'base64'))) {
    throw new WrongPassphrase(`key file ${doc.id} is sealed to a different recipient key`);
  }
  let fileKey: Uint8Array;
  try {
    fileKey = sodium.crypto_box_seal_open(Buffer.from(doc.sealedFileKey, 'base64'), publicKey, secretKey);
  } catch (err) {
    throw new KeyFileCorrupt(`key file ${doc.id}: the sealed file key does not open with the recipient key (forged or damaged)`, { cause: err });
  }
  let plain: Buffer;
  try {
    plain = open(fileKey, Buffer.from(doc.sealedKeyring, 'base64'), headerBytes(doc), `key file ${doc.id}`);
  } catch (err) {
    if (err instanceof IntegrityError) throw new KeyFileCorrupt(`key file ${doc.id}: the keyring does not open with its file key (forged or damaged)`, { cause: err });
    throw err;
  } finally {
    fileKey.fill(0);
  }
  const keyring = deserializeSealedKeyring(plain, doc.id);
  if (!timingSafeEqual(envelopeMac(keyring, doc), Buffer.from(doc.mac, 'base64'))) {
    keyring.wipe();
    throw new KeyFileCorrupt(`key file ${doc.id}: envelope MAC does not verify (forged envelope)`);
  }
  return keyring;
}
