/**
 * The repository config object (`config`):
 *
 *   "CFRC" | u8 format version | 32-byte repository id | u32be epoch | sealed JSON
 *
 * The format version and repository id are in clear so a reader can refuse an
 * unknown format before unlocking anything and knows the id it needs for the
 * associated data. Both are repeated inside the sealed JSON and compared, so
 * they are authenticated too.
 */
import { associatedData, open, seal } from '../crypto/aead';
import { IntegrityError } from '../crypto/errors';
import type { Keyring } from '../crypto/keyring';
import { FORMAT_VERSION, Names, ObjectType } from './format';
import { metadataKeyFor } from './envelope';
import { NotARepository, UnsupportedFormat } from './errors';

export const CONFIG_MAGIC = Buffer.from('CFRC', 'ascii');
const HEADER_BYTES = 4 + 1 + 32 + 4;

export const ALGORITHMS = {
  aead: 'xchacha20-poly1305',
  chunkId: 'blake3-keyed',
  chunker: 'fastcdc-normalized-2',
  compression: 'zstd',
  kdf: 'argon2id',
} as const;

export interface RepoConfig {
  readonly formatVersion: number;
  readonly repoId: string;
  readonly created: string;
  readonly algorithms: typeof ALGORITHMS;
  readonly chunker: { readonly minSize: number; readonly avgSize: number; readonly maxSize: number };
  readonly packSize: number;
  readonly compressionLevel: number;
  /** Packs filled at the same time during backup; chunks pick one by a keyed function of their id. */
  readonly openPacks: number;
  /** Packs, index objects and snapshots are retention-locked this many days (WORM storage), if set. */
  readonly retentionDays?: number;
}

/** What the clear header says, before unlocking. */
export interface ConfigHeader {
  readonly formatVersion: number;
  readonly repoId: string;
  readonly epoch: number;
}

export function parseConfigHeader(bytes: Buffer, location: string): ConfigHeader {
  if (bytes.length < HEADER_BYTES || !bytes.subarray(0, 4).equals(CONFIG_MAGIC)) {
    throw new NotARepository(`${location}: the config object is not a Coffer repository config`);
  }
  const formatVersion = bytes.readUInt8(4);
  if (formatVersion !== FORMAT_VERSION) {
    throw new UnsupportedFormat(`${location}: repository format version ${formatVersion} is not supported (this Coffer reads version ${FORMAT_VERSION})`);
  }
  return { formatVersion, repoId: bytes.subarray(5, 37).toString('hex'), epoch: bytes.readUInt32BE(37) };
}

function adFor(repoId: string, epoch: number): Buffer {
  return associatedData({ repoId, type: ObjectType.config, objectId: Names.config, epoch });
}

export function encodeConfig(keyring: Keyring, config: RepoConfig): Buffer {
  const epoch = keyring.currentEpoch;
  const header = Buffer.alloc(HEADER_BYTES);
  CONFIG_MAGIC.copy(header, 0);
  header.writeUInt8(config.formatVersion, 4);
  Buffer.from(config.repoId, 'hex').copy(header, 5);
  header.writeUInt32BE(epoch, 37);
  const sealed = seal(keyring.metadataKey(epoch), Buffer.from(JSON.stringify(config), 'utf8'), adFor(config.repoId, epoch));
  return Buffer.concat([header, sealed]);
}

export function decodeConfig(keyring: Keyring, bytes: Buffer, location: string): RepoConfig {
  const header = parseConfigHeader(bytes, location);
  const plain = open(metadataKeyFor(keyring, header.epoch, 'config'), bytes.subarray(HEADER_BYTES), adFor(header.repoId, header.epoch), 'config');
  let doc: unknown;
  try {
    doc = JSON.parse(plain.toString('utf8'));
  } catch (err) {
    throw new IntegrityError('config: payload is not valid JSON', { cause: err });
  }
  return validateConfig(doc, header);
}

function validateConfig(doc: unknown, header: ConfigHeader): RepoConfig {
  if (typeof doc !== 'object' || doc === null) throw new IntegrityError('config: not an object');
  const c = doc as Record<string, unknown>;
  if (c.formatVersion !== header.formatVersion || c.repoId !== header.repoId) {
    throw new IntegrityError('config: the clear header disagrees with the sealed body');
  }
  const algorithms = c.algorithms as Record<string, unknown> | undefined;
  for (const [k, v] of Object.entries(ALGORITHMS)) {
    if (algorithms?.[k] !== v) throw new UnsupportedFormat(`config: algorithm ${k}=${JSON.stringify(algorithms?.[k])} is not supported`);
  }
  const chunker = c.chunker as Record<string, unknown> | undefined;
  const ints = [chunker?.minSize, chunker?.avgSize, chunker?.maxSize, c.packSize, c.compressionLevel, c.openPacks];
  if (c.retentionDays !== undefined) ints.push(c.retentionDays);
  if (!ints.every((v) => typeof v === 'number' && Number.isSafeInteger(v) && v > 0) || typeof c.created !== 'string') {
    throw new IntegrityError('config: malformed fields');
  }
  return doc as RepoConfig;
}
