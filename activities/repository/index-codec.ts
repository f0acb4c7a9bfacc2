/**
 * Index objects (`index/<random id>`, envelope type 'index'): which packs
 * exist and where each chunk lives in them. Binary payload (see
 * docs/design.md): packs first, then entries referring to packs by position.
 */
import { IntegrityError } from '../crypto/errors';
import { ByteReader, ByteWriter } from './bytes';
import type { BlobEntry } from './pack';

const INDEX_VERSION = 1;
const PACK_BYTES = 32 + 4 + 8 + 8;
const ENTRY_BYTES = 32 + 4 + 1 + 1 + 4 + 4 + 4 + 4;

export interface PackInfo {
  readonly id: string;
  /** Epoch of the pack header. */
  readonly epoch: number;
  readonly size: number;
  readonly createdMs: number;
}

export interface IndexedPack extends PackInfo {
  readonly entries: readonly BlobEntry[];
}

export function encodeIndex(packs: readonly IndexedPack[]): Buffer {
  const total = packs.reduce((n, p) => n + p.entries.length, 0);
  const w = new ByteWriter(16 + packs.length * PACK_BYTES + total * ENTRY_BYTES);
  w.u8(INDEX_VERSION).u32(packs.length);
  for (const p of packs) w.id(p.id).u32(p.epoch).u64(p.size).u64(p.createdMs);
  w.u32(total);
  packs.forEach((p, i) => {
    for (const e of p.entries) {
      w.id(e.id).u32(i).u8(e.type === 'data' ? 0 : 1).u8(e.compressed ? 1 : 0).u32(e.epoch).u32(e.offset).u32(e.length).u32(e.rawLength);
    }
  });
  return w.finish();
}

export function decodeIndex(payload: Buffer, what: string): IndexedPack[] {
  const r = new ByteReader(payload, what);
  const version = r.u8();
  if (version !== INDEX_VERSION) throw new IntegrityError(`${what}: unknown index version ${version}`);
  const packCount = r.count(PACK_BYTES);
  const infos: PackInfo[] = [];
  for (let i = 0; i < packCount; i++) infos.push({ id: r.id(), epoch: r.u32(), size: r.u64(), createdMs: r.u64() });
  const entries: BlobEntry[][] = infos.map(() => []);
  const n = r.count(ENTRY_BYTES);
  for (let i = 0; i < n; i++) {
    const id = r.id();
    const packIndex = r.u32();
    const typeCode = r.u8();
    const flags = r.u8();
    const entry: BlobEntry = { id, type: typeCode === 0 ? 'data' : 'tree', compressed: flags === 1, epoch: r.u32(), offset: r.u32(), length: r.u32(), rawLength: r.u32() };
    const list = entries[packIndex];
    if (list === undefined || typeCode > 1 || flags > 1) throw new IntegrityError(`${what}: malformed entry ${i}`);
    if (entry.offset + entry.length > infos[packIndex].size) throw new IntegrityError(`${what}: entry ${i} lies beyond its pack`);
    list.push(entry);
  }
  r.end();
  return infos.map((info, i) => ({ ...info, entries: entries[i] }));
}
