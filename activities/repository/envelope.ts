/**
 * The envelope of every encrypted metadata object (config body, index,
 * snapshot, lock, plan, batch result):
 *
 *   "CFRO" | u8 format version | u8 type code | u32be epoch | nonce(24) ‖ ciphertext ‖ tag(16)
 *
 * sealed with the metadata key of `epoch`, associated data binding
 * (repository id, type name, object id, epoch). The cleartext header is
 * therefore authenticated too: changing the epoch or type makes opening fail.
 * Plaintext = u8 encoding (0 raw, 1 zstd) ‖ payload.
 */
import { associatedData, open, seal } from '../crypto/aead';
import { IntegrityError } from '../crypto/errors';
import type { Keyring } from '../crypto/keyring';
import { compressChunk, decompressChunk } from '../compression/zstd';
import { FORMAT_VERSION, Limits, OBJECT_TYPE_CODES } from './format';
import type { ObjectTypeName } from './format';
import { UnsupportedFormat } from './errors';

export const ENVELOPE_MAGIC = Buffer.from('CFRO', 'ascii');
export const ENVELOPE_HEADER_BYTES = 10;

export interface EnvelopeTarget {
  readonly repoId: string;
  readonly type: ObjectTypeName;
  readonly objectId: string;
  /** Storage name, for messages. */
  readonly name: string;
}

export function metadataKeyFor(keyring: Keyring, epoch: number, name: string): Buffer {
  if (!keyring.hasEpoch(epoch)) {
    throw new IntegrityError(`${name}: sealed with key epoch ${epoch}, which this keyring does not hold (retired, forged, or from another repository)`);
  }
  return keyring.metadataKey(epoch);
}

export function sealEnvelope(keyring: Keyring, target: EnvelopeTarget, payload: Uint8Array, compressionLevel = 3): Buffer {
  const epoch = keyring.currentEpoch;
  const packed = compressChunk(payload, compressionLevel);
  const plain = Buffer.concat([Buffer.from([packed.compressed ? 1 : 0]), packed.data]);
  const ad = associatedData({ repoId: target.repoId, type: target.type, objectId: target.objectId, epoch });
  const sealed = seal(keyring.metadataKey(epoch), plain, ad);
  const header = Buffer.alloc(ENVELOPE_HEADER_BYTES);
  ENVELOPE_MAGIC.copy(header, 0);
  header.writeUInt8(FORMAT_VERSION, 4);
  header.writeUInt8(OBJECT_TYPE_CODES[target.type], 5);
  header.writeUInt32BE(epoch, 6);
  return Buffer.concat([header, sealed]);
}

/** Reads the cleartext header (before authentication: only for routing and messages). */
export function envelopeEpoch(bytes: Buffer, name: string): number {
  if (bytes.length < ENVELOPE_HEADER_BYTES || !bytes.subarray(0, 4).equals(ENVELOPE_MAGIC)) {
    throw new IntegrityError(`${name}: not a Coffer object (bad magic or truncated)`);
  }
  return bytes.readUInt32BE(6);
}

export function openEnvelope(keyring: Keyring, target: EnvelopeTarget, bytes: Buffer): { payload: Buffer; epoch: number } {
  const epoch = envelopeEpoch(bytes, target.name);
  const version = bytes.readUInt8(4);
  if (version !== FORMAT_VERSION) {
    throw new UnsupportedFormat(`${target.name}: object format version ${version} is not supported (this Coffer reads ${FORMAT_VERSION})`);
  }
  if (bytes.readUInt8(5) !== OBJECT_TYPE_CODES[target.type]) {
    throw new IntegrityError(`${target.name}: object is not of type ${target.type} (moved or swapped)`);
  }
  const ad = associatedData({ repoId: target.repoId, type: target.type, objectId: target.objectId, epoch });
  const plain = open(metadataKeyFor(keyring, epoch, target.name), bytes.subarray(ENVELOPE_HEADER_BYTES), ad, target.name);
  if (plain.length < 1 || plain[0] > 1) throw new IntegrityError(`${target.name}: unknown payload encoding`);
  const payload = decompressChunk(plain.subarray(1), plain[0] === 1, Limits.maxMetadataBytes, target.name);
  return { payload, epoch };
}

export function sealJson(keyring: Keyring, target: EnvelopeTarget, value: unknown): Buffer {
  return sealEnvelope(keyring, target, Buffer.from(JSON.stringify(value), 'utf8'));
}

export function openJson(keyring: Keyring, target: EnvelopeTarget, bytes: Buffer): { value: unknown; epoch: number } {
  const { payload, epoch } = openEnvelope(keyring, target, bytes);
  try {
    return { value: JSON.parse(payload.toString('utf8')) as unknown, epoch };
  } catch (err) {
    throw new IntegrityError(`${target.name}: payload is not valid JSON`, { cause: err });
  }
}
