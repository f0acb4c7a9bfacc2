/**
 * Data packs (`data/<2 hex>/<pack id>`): many chunks ("blobs"), each
 * compressed and sealed on its own, followed by an encrypted header and a
 * trailer:
 *
 *   blob_0 ‖ … ‖ blob_n-1 ‖ u32be header epoch ‖ sealed header ‖ u32be (4 + sealed header length) ‖ "CFPK"
 *
 * Blob i = seal(key, payload, AD(repoId, 'chunk-data'|'chunk-tree', chunk id, epoch)),
 * data chunks with the epoch's data key, tree chunks with its metadata key.
 * Binding the chunk id (not the pack id) lets prune copy a blob verbatim into
 * a new pack, while moving it to another chunk id still fails to open.
 * The header (metadata key, AD(repoId, 'pack-header', pack id, epoch)) lists
 * every blob; see docs/design.md for the byte layout.
 */
import { associatedData, open, seal, SEAL_OVERHEAD } from '../crypto/aead';
import { IntegrityError } from '../crypto/errors';
import type { Keyring } from '../crypto/keyring';
import { ByteReader, ByteWriter } from './bytes';
import { chunkObjectType, Limits, ObjectType } from './format';
import type { ChunkType } from './format';
import { metadataKeyFor } from './envelope';

export const PACK_MAGIC = Buffer.from('CFPK', 'ascii');
export const PACK_TRAILER_BYTES = 8;
const HEADER_VERSION = 1;
const ENTRY_BYTES = 32 + 1 + 1 + 4 + 4 + 4 + 4;

export interface BlobEntry {
  readonly id: string;
  readonly type: ChunkType;
  readonly compressed: boolean;
  /** Epoch whose key sealed this blob. */
  readonly epoch: number;
  readonly offset: number;
  /** Sealed length in the pack. */
  readonly length: number;
  /** Plaintext length after decompression. */
  readonly rawLength: number;
}

export interface PackHeader {
  readonly createdMs: number;
  readonly epoch: number;
  readonly entries: readonly BlobEntry[];
}

export function blobKey(keyring: Keyring, type: ChunkType, epoch: number, what: string): Buffer {
  if (!keyring.hasEpoch(epoch)) throw new IntegrityError(`${what}: sealed with key epoch ${epoch}, which this keyring does not hold`);
  return type === 'data' ? keyring.dataKey(epoch) : keyring.metadataKey(epoch);
}

export function blobAd(repoId: string, type: ChunkType, chunkId: string, epoch: number): Buffer {
  return associatedData({ repoId, type: chunkObjectType(type), objectId: chunkId, epoch });
}

export function sealBlob(keyring: Keyring, repoId: string, type: ChunkType, chunkId: string, payload: Uint8Array): { sealed: Buffer; epoch: number } {
  const epoch = keyring.currentEpoch;
  return { sealed: seal(blobKey(keyring, type, epoch, chunkId), payload, blobAd(repoId, type, chunkId, epoch)), epoch };
}

export function openBlob(keyring: Keyring, repoId: string, entry: Pick<BlobEntry, 'id' | 'type' | 'epoch'>, sealed: Buffer, what: string): Buffer {
  return open(blobKey(keyring, entry.type, entry.epoch, what), sealed, blobAd(repoId, entry.type, entry.id, entry.epoch), what);
}

/** Accumulates sealed blobs of one pack in memory until it is finished. */
export class PackBuilder {
  private readonly parts: Buffer[] = [];
  private readonly entries: BlobEntry[] = [];
  private bytes = 0;
  private readonly ids = new Set<string>();

  get size(): number {
    return this.bytes;
  }

  get count(): number {
    return this.entries.length;
  }

  has(id: string): boolean {
    return this.ids.has(id);
  }

  add(blob: Omit<BlobEntry, 'offset' | 'length'>, sealed: Buffer): void {
    if (this.bytes + sealed.length > Limits.maxPackSize - Limits.maxPackHeaderBytes) throw new RangeError('pack too large');
    this.entries.push({ ...blob, offset: this.bytes, length: sealed.length });
    this.parts.push(sealed);
    this.bytes += sealed.length;
    this.ids.add(blob.id);
  }

  /** The complete pack bytes and its entries. */
  finish(keyring: Keyring, repoId: string, packId: string, createdMs = Date.now()): { bytes: Buffer; header: PackHeader } {
    const epoch = keyring.currentEpoch;
    const w = new ByteWriter(16 + this.entries.length * ENTRY_BYTES);
    w.u8(HEADER_VERSION).u64(createdMs).u32(this.entries.length);
    for (const e of this.entries) {
      w.id(e.id).u8(e.type === 'data' ? 0 : 1).u8(e.compressed ? 1 : 0).u32(e.epoch).u32(e.offset).u32(e.length).u32(e.rawLength);
    }
    const ad = associatedData({ repoId, type: ObjectType.packHeader, objectId: packId, epoch });
    const sealedHeader = seal(keyring.metadataKey(epoch), w.finish(), ad);
    const region = Buffer.alloc(4);
    region.writeUInt32BE(epoch, 0);
    const trailer = Buffer.alloc(PACK_TRAILER_BYTES);
    trailer.writeUInt32BE(4 + sealedHeader.length, 0);
    PACK_MAGIC.copy(trailer, 4);
    const bytes = Buffer.concat([...this.parts, region, sealedHeader, trailer]);
    return { bytes, header: { createdMs, epoch, entries: this.entries } };
  }
}

/** Length of the header region (epoch + sealed header) from the trailer; validates the magic. */
export function headerRegionLength(trailer: Buffer, packSize: number, name: string): number {
  if (trailer.length !== PACK_TRAILER_BYTES || !trailer.subarray(4).equals(PACK_MAGIC)) {
    throw new IntegrityError(`${name}: not a Coffer pack (bad trailer; truncated or damaged)`);
  }
  const len = trailer.readUInt32BE(0);
  if (len < 4 + SEAL_OVERHEAD || len > Limits.maxPackHeaderBytes || len + PACK_TRAILER_BYTES > packSize) {
    throw new IntegrityError(`${name}: pack header length ${len} is impossible for a pack of ${packSize} bytes`);
  }
  return len;
}

/** Decrypts and validates a header region (u32 epoch ‖ sealed header). `blobArea` = bytes before the region. */
export function decodePackHeader(keyring: Keyring, repoId: string, packId: string, region: Buffer, blobArea: number, name: string): PackHeader {
  if (region.length < 4) throw new IntegrityError(`${name}: pack header truncated`);
  const epoch = region.readUInt32BE(0);
  const ad = associatedData({ repoId, type: ObjectType.packHeader, objectId: packId, epoch });
  const plain = open(metadataKeyFor(keyring, epoch, `${name} header`), region.subarray(4), ad, `${name} header`);
  const r = new ByteReader(plain, `${name} header`);
  const version = r.u8();
  if (version !== HEADER_VERSION) throw new IntegrityError(`${name}: unknown pack header version ${version}`);
  const createdMs = r.u64();
  const n = r.count(ENTRY_BYTES);
  const entries: BlobEntry[] = [];
  let expectedOffset = 0;
  for (let i = 0; i < n; i++) {
    const id = r.id();
    const typeCode = r.u8();
    const flags = r.u8();
    const entry: BlobEntry = { id, type: typeCode === 0 ? 'data' : 'tree', compressed: flags === 1, epoch: r.u32(), offset: r.u32(), length: r.u32(), rawLength: r.u32() };
    if (typeCode > 1 || flags > 1) throw new IntegrityError(`${name}: malformed header entry ${i}`);
    if (entry.offset !== expectedOffset || entry.length < SEAL_OVERHEAD) throw new IntegrityError(`${name}: header entry ${i} has an impossible offset or length`);
    expectedOffset += entry.length;
    entries.push(entry);
  }
  r.end();
  if (expectedOffset !== blobArea) throw new IntegrityError(`${name}: header describes ${expectedOffset} bytes of blobs, pack has ${blobArea}`);
  return { createdMs, epoch, entries };
}

/** Parses a whole pack held in memory. */
export function parsePack(keyring: Keyring, repoId: string, packId: string, bytes: Buffer, name: string): PackHeader {
  if (bytes.length < PACK_TRAILER_BYTES) throw new IntegrityError(`${name}: pack truncated (${bytes.length} bytes)`);
  const len = headerRegionLength(bytes.subarray(bytes.length - PACK_TRAILER_BYTES), bytes.length, name);
  const start = bytes.length - PACK_TRAILER_BYTES - len;
  return decodePackHeader(keyring, repoId, packId, bytes.subarray(start, bytes.length - PACK_TRAILER_BYTES), start, name);
}
