/**
 * The payload codec: every Temporal payload Coffer writes (workflow inputs and
 * results, activity arguments, heartbeat details, queries, failure messages)
 * is encrypted with AES-256-GCM before it leaves the process, so the Temporal
 * server and its history only ever hold ciphertext.
 *
 * Key file format (text, mode 0600), one key per line, `#` comments allowed:
 *     <key-id> <base64 of 32 random bytes>
 * The first key encrypts; every listed key decrypts (rotation: put a new key
 * first, keep the old ones until no open history needs them). The key id
 * travels in the payload metadata and is bound to the ciphertext as associated
 * data. A payload whose key id is not in the file is refused with a clear error.
 *
 * For the local stack and the demo, the default key file `.data/codec.key`
 * is created with a fresh random key when missing. An explicitly configured
 * COFFER_CODEC_KEY_FILE must exist.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, linkSync, mkdirSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { METADATA_ENCODING_KEY } from '@temporalio/common';
import type { Payload, PayloadCodec } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { CodecKeyFileInvalid, CodecKeyUnknown, CodecPayloadCorrupt } from './errors';

export const ENCRYPTED_ENCODING = 'binary/encrypted';
export const METADATA_KEY_ID = 'encryption-key-id';
export const METADATA_CIPHER = 'encryption-cipher';
const CIPHER = 'AES-256-GCM';
const FORMAT_VERSION = 1;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const KEY_BYTES = 32;

export interface CodecKey {
  readonly id: string;
  readonly key: Buffer;
}

const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder();

export function keyIdFor(key: Uint8Array): string {
  return `coffer-${createHash('sha256').update(key).digest('hex').slice(0, 12)}`;
}

export function parseKeyFile(text: string, file: string): CodecKey[] {
  const keys: CodecKey[] = [];
  for (const [index, rawLine] of text.split('\n').entries()) {
    const line = rawLine.trim();
    if (line === '' || line.startsWith('#')) continue;
    const parts = line.split(/\s+/);
    const key = parts.length === 2 ? Buffer.from(parts[1] ?? '', 'base64') : undefined;
    if (parts.length !== 2 || !/^[A-Za-z0-9._-]{1,64}$/.test(parts[0] ?? '') || key?.length !== KEY_BYTES) {
      throw new CodecKeyFileInvalid(`codec key file ${file} line ${index + 1} is malformed`, {
        hint: 'each line must be "<key-id> <base64 of 32 bytes>"',
      });
    }
    keys.push({ id: parts[0], key });
  }
  if (keys.length === 0) {
    throw new CodecKeyFileInvalid(`codec key file ${file} holds no key`, {
      hint: 'add a line "<key-id> <base64 of 32 random bytes>" or delete the dev key file to have one generated',
    });
  }
  return keys;
}

/** Writes a new key file with one random key (temp file + rename, mode 0600). */
export function createKeyFile(file: string): CodecKey[] {
  const key = randomBytes(KEY_BYTES);
  const id = keyIdFor(key);
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const temp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  const fd = openSync(temp, 'wx', 0o600);
  try {
    writeSync(fd, `# Coffer payload codec keys: first line encrypts, all decrypt. Keep secret.\n${id} ${key.toString('base64')}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    // link() refuses an existing name: two processes racing to create the dev key both end up with the winner's key.
    linkSync(temp, file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    return loadKeyFile(file, false);
  } finally {
    unlinkSync(temp);
  }
  return [{ id, key }];
}

export function loadKeyFile(file: string, createIfMissing: boolean): CodecKey[] {
  if (!existsSync(file)) {
    if (createIfMissing) return createKeyFile(file);
    throw new CodecKeyFileInvalid(`codec key file ${file} does not exist`, {
      hint: 'set COFFER_CODEC_KEY_FILE to the key file shared by the workers and clients of this namespace',
    });
  }
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new CodecKeyFileInvalid(`codec key file ${file} cannot be read`, { cause: err, hint: 'check its owner and permissions' });
  }
  return parseKeyFile(text, file);
}

export class EncryptionCodec implements PayloadCodec {
  private readonly keys: ReadonlyMap<string, Buffer>;
  readonly activeKeyId: string;

  constructor(keys: readonly CodecKey[]) {
    const first = keys[0];
    if (first === undefined) throw new CodecKeyFileInvalid('no codec key given');
    this.activeKeyId = first.id;
    this.keys = new Map(keys.map((k) => [k.id, k.key]));
  }

  static fromKeyFile(file: string, createIfMissing: boolean): EncryptionCodec {
    return new EncryptionCodec(loadKeyFile(file, createIfMissing));
  }

  async encode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => this.encryptOne(payload));
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => this.decryptOne(payload));
  }

  private encryptOne(payload: Payload): Payload {
    const key = this.keys.get(this.activeKeyId) as Buffer;
    const plain = temporal.api.common.v1.Payload.encode(payload).finish();
    const nonce = randomBytes(NONCE_BYTES);
    const cipher = createCipheriv('aes-256-gcm', key, nonce);
    cipher.setAAD(Buffer.from(this.activeKeyId, 'utf8'));
    const body = Buffer.concat([cipher.update(plain), cipher.final()]);
    return {
      metadata: {
        [METADATA_ENCODING_KEY]: textEncoder.encode(ENCRYPTED_ENCODING),
        [METADATA_KEY_ID]: textEncoder.encode(this.activeKeyId),
        [METADATA_CIPHER]: textEncoder.encode(CIPHER),
      },
      data: Buffer.concat([Buffer.from([FORMAT_VERSION]), nonce, body, cipher.getAuthTag()]),
    };
  }

  private decryptOne(payload: Payload): Payload {
    const encoding = payload.metadata?.[METADATA_ENCODING_KEY];
    // Payloads written before encryption was on (or by other tools) pass through untouched.
    if (encoding === undefined || encoding === null || textDecoder.decode(encoding) !== ENCRYPTED_ENCODING) return payload;
    const keyIdBytes = payload.metadata?.[METADATA_KEY_ID];
    if (keyIdBytes === undefined || keyIdBytes === null) {
      throw new CodecPayloadCorrupt('encrypted payload has no key id', { hint: 'the history was written by another tool' });
    }
    const keyId = textDecoder.decode(keyIdBytes);
    const key = this.keys.get(keyId);
    if (key === undefined) {
      throw new CodecKeyUnknown(`payload encrypted with codec key '${keyId}', which this process does not hold`, {
        hint: `add key '${keyId}' to the codec key file (COFFER_CODEC_KEY_FILE) of this worker or client`,
      });
    }
    const data = payload.data;
    if (data === undefined || data === null || data.length < 1 + NONCE_BYTES + TAG_BYTES || data[0] !== FORMAT_VERSION) {
      throw new CodecPayloadCorrupt(`encrypted payload (key '${keyId}') is truncated or of an unknown format`);
    }
    const nonce = data.subarray(1, 1 + NONCE_BYTES);
    const tag = data.subarray(data.length - TAG_BYTES);
    const body = data.subarray(1 + NONCE_BYTES, data.length - TAG_BYTES);
    let plain: Buffer;
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, nonce);
      decipher.setAAD(Buffer.from(keyId, 'utf8'));
      decipher.setAuthTag(tag);
      plain = Buffer.concat([decipher.update(body), decipher.final()]);
    } catch (err) {
      throw new CodecPayloadCorrupt(`encrypted payload (key '${keyId}') failed authentication`, {
        cause: err,
        hint: 'the key file does not match the one that encrypted it, or the history was altered',
      });
    }
    const decoded = temporal.api.common.v1.Payload.decode(plain);
    return { metadata: decoded.metadata, data: decoded.data };
  }
}
