/**
 * The CPU-heavy per-chunk work, as plain functions: run inline or inside a
 * worker thread by pipeline-pool.ts.
 *   pack:   plaintext → zstd (if smaller) → XChaCha20-Poly1305 seal
 *   unpack: sealed → open → bounded zstd decompress
 */
import { writeSync } from 'node:fs';
import { openInto, SEAL_OVERHEAD, seal } from '../crypto/aead';
import { IntegrityError } from '../crypto/errors';
import { chunkId } from '../crypto/chunk-id';
import { compressChunk, decompressChunk } from '../compression/zstd';

export interface PackJob {
  data: Uint8Array;
  level: number;
  key: Uint8Array;
  ad: Uint8Array;
}

export interface PackResult {
  sealed: Buffer;
  /** Whether the sealed plaintext is zstd-compressed (record it next to the chunk). */
  compressed: boolean;
  plainBytes: number;
  /** Bytes after compression, before sealing. */
  packedBytes: number;
  /** Time spent on the job in the thread that ran it. */
  cpuMs: number;
}

/** Several small chunks in one job: one message instead of one per chunk. */
export interface PackManyJob {
  /** The plaintexts, one after the other. */
  data: Uint8Array;
  level: number;
  /** Distinct keys; items name theirs by index. */
  keys: Uint8Array[];
  items: { length: number; keyIndex: number; ad: Uint8Array }[];
}

export interface PackManyResult {
  /** The sealed chunks, one after the other. */
  sealed: Buffer;
  items: { sealedLength: number; compressed: boolean; packedBytes: number }[];
  cpuMs: number;
}

export interface UnpackJob {
  sealed: Uint8Array;
  key: Uint8Array;
  ad: Uint8Array;
  compressed: boolean;
  /** Upper bound on the plaintext size (e.g. the length the index records). */
  maxSize: number;
  /** Names the object in error messages. */
  what: string;
  /** When given: also compute the plaintext's chunk id with this key (keyed BLAKE3), off the caller's thread. */
  idKey?: Uint8Array;
}

export interface UnpackResult {
  data: Buffer;
  /** The chunk id of `data`, when the job carried `idKey`. */
  id?: string;
  cpuMs: number;
}

/**
 * Open, decompress and hash one chunk, check it against its id and length,
 * and write it at `position` of the open file `fd`: the plaintext never
 * leaves the thread that made it (no hand-over, no garbage for the caller).
 */
export interface UnpackWriteJob {
  sealed: Uint8Array;
  key: Uint8Array;
  ad: Uint8Array;
  compressed: boolean;
  /** The exact plaintext length (the index's). */
  size: number;
  what: string;
  idKey: Uint8Array;
  expectId: string;
  fd: number;
  position: number;
}

export interface UnpackWriteResult {
  written: number;
  cpuMs: number;
}

/** One chunk inside a sealed range: where it is, and how to open it. */
export interface RangeItem {
  /** Offset and length of the sealed chunk inside the range. */
  start: number;
  length: number;
  key: Uint8Array;
  ad: Uint8Array;
  compressed: boolean;
  maxSize: number;
  what: string;
}

/** Several chunks of one sealed range in one job (one message instead of one per chunk). */
export interface UnpackRangeJob {
  sealed: Uint8Array;
  items: RangeItem[];
  /** Keyed BLAKE3 key: every plaintext's chunk id is computed too. */
  idKey: Uint8Array;
}

/** Per item: where its plaintext is in `plain`, and its chunk id; or why it failed (the caller falls back to its own path). */
export type RangeItemResult = { start: number; length: number; id: string } | { error: string };

export interface UnpackRangeResult {
  /** All plaintexts, one after the other. */
  plain: Buffer;
  items: RangeItemResult[];
  cpuMs: number;
}

export function runPack(job: PackJob): PackResult {
  const t0 = performance.now();
  const packed = compressChunk(job.data, job.level);
  const sealed = seal(job.key, packed.data, job.ad);
  return { sealed, compressed: packed.compressed, plainBytes: job.data.length, packedBytes: packed.data.length, cpuMs: performance.now() - t0 };
}

export function runPackMany(job: PackManyJob): PackManyResult {
  const t0 = performance.now();
  const data = Buffer.from(job.data.buffer, job.data.byteOffset, job.data.byteLength);
  const parts: Buffer[] = [];
  const items: PackManyResult['items'] = [];
  let offset = 0;
  let total = 0;
  for (const item of job.items) {
    if (item.length < 0 || offset + item.length > data.length) throw new RangeError('pack-many: an item lies outside the data');
    const key = job.keys[item.keyIndex];
    if (key === undefined) throw new RangeError('pack-many: an item names a key that is not there');
    const packed = compressChunk(data.subarray(offset, offset + item.length), job.level);
    const sealed = seal(key, packed.data, item.ad);
    parts.push(sealed);
    items.push({ sealedLength: sealed.length, compressed: packed.compressed, packedBytes: packed.data.length });
    offset += item.length;
    total += sealed.length;
  }
  return { sealed: Buffer.concat(parts, total), items, cpuMs: performance.now() - t0 };
}

/**
 * A per-thread buffer reused by every job, its contents consumed before the
 * job returns. Fresh buffers per chunk were most of the memory a restore
 * touched for the first time (1 GiB restore: ~85k of ~138k page faults were
 * in the two CPU-pool workers).
 */
class Scratch {
  /** Larger requests get their own buffer rather than a scratch kept for the thread's lifetime. */
  static readonly MAX = 16 * 1024 * 1024;
  private static readonly MIN = 4 * 1024 * 1024;
  private buf: Buffer | undefined;

  get(size: number): Buffer {
    if (size > Scratch.MAX) return Buffer.allocUnsafe(size);
    if (this.buf === undefined || this.buf.length < size) this.buf = Buffer.allocUnsafe(Math.max(size, Scratch.MIN));
    return this.buf;
  }
}
/** What opening a sealed chunk produces (compressed or not). */
const opened = new Scratch();
/** What decompressing produces, when it is written from here. */
const decompressed = new Scratch();

/** Opens a sealed chunk into this thread's `opened` scratch: a view valid until the next open. */
function openToScratch(key: Uint8Array, sealed: Uint8Array, ad: Uint8Array, what: string): Buffer {
  return openInto(key, sealed, ad, what, opened.get(Math.max(0, sealed.length - SEAL_OVERHEAD)));
}

export function runUnpack(job: UnpackJob): UnpackResult {
  const t0 = performance.now();
  const unpacked = decompressChunk(openToScratch(job.key, job.sealed, job.ad, job.what), job.compressed, job.maxSize, job.what);
  // The result leaves this thread: its own buffer, never a view of the scratch (which it is when stored uncompressed).
  const data = job.compressed ? unpacked : Buffer.from(unpacked);
  const id = job.idKey === undefined ? undefined : chunkId(job.idKey, data);
  return { data, ...(id === undefined ? {} : { id }), cpuMs: performance.now() - t0 };
}

export function runUnpackWrite(job: UnpackWriteJob): UnpackWriteResult {
  const t0 = performance.now();
  const plain = openToScratch(job.key, job.sealed, job.ad, job.what);
  const data = decompressChunk(plain, job.compressed, job.size, job.what, job.compressed ? decompressed.get(job.size) : undefined);
  if (data.length !== job.size) throw new IntegrityError(`${job.what}: decompressed to ${data.length} bytes, index says ${job.size}`);
  if (chunkId(job.idKey, data) !== job.expectId) throw new IntegrityError(`${job.what}: content does not hash to its id`);
  let done = 0;
  while (done < data.length) done += writeSync(job.fd, data, done, data.length - done, job.position + done);
  return { written: done, cpuMs: performance.now() - t0 };
}

export function runUnpackRange(job: UnpackRangeJob): UnpackRangeResult {
  const t0 = performance.now();
  const sealed = Buffer.from(job.sealed.buffer, job.sealed.byteOffset, job.sealed.byteLength);
  // One output for the whole job, sized by the lengths the index promises (bounded by maxSize each).
  let capacity = 0;
  for (const item of job.items) capacity += Math.max(0, item.maxSize);
  const plainOut = Buffer.allocUnsafe(capacity);
  const items: RangeItemResult[] = [];
  let total = 0;
  for (const item of job.items) {
    try {
      if (item.start < 0 || item.start + item.length > sealed.length) throw new RangeError(`${item.what}: outside the range read`);
      const plainOrPacked = openToScratch(item.key, sealed.subarray(item.start, item.start + item.length), item.ad, item.what);
      const room = plainOut.subarray(total, total + Math.max(0, item.maxSize));
      const data = decompressChunk(plainOrPacked, item.compressed, item.maxSize, item.what, room);
      if (data.buffer !== plainOut.buffer || data.byteOffset !== room.byteOffset) room.set(data);
      items.push({ start: total, length: data.length, id: chunkId(job.idKey, data) });
      total += data.length;
    } catch (err) {
      items.push({ error: err instanceof Error ? err.message : String(err) });
    }
  }
  return { plain: plainOut.subarray(0, total), items, cpuMs: performance.now() - t0 };
}
