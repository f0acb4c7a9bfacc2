/**
 * Normalised FastCDC (Xia et al., USENIX ATC 2016 / IEEE TPDS 2020) with a
 * secret gear table, as a streaming chunker with bounded memory.
 *
 * - Gear hash h = (h << 1) + gear[byte] on 32 bits: bit k depends on the last
 *   k+1 bytes, so the masks test the TOP bits (a 32-byte window).
 * - Normalisation level 2: below the average size a cut needs (bits+2) zero
 *   bits (harder), from the average on (bits-2) (easier); chunk sizes cluster
 *   around the average. The first `minSize` bytes of a chunk are skipped.
 * - The gear table comes from the repository's secret chunkerSeed, so the same
 *   file cuts differently in different repositories (boundaries do not leak
 *   across repositories, and fingerprinting by chunk sizes needs the seed).
 */
import { createCipheriv } from 'node:crypto';
import { deriveSubkey } from '../crypto/chunk-id';
import { gearScanner } from './gear-scan';

export interface ChunkerParams {
  minSize: number;
  avgSize: number;
  maxSize: number;
}

export const DEFAULT_AVG_CHUNK_SIZE = 1024 * 1024;
export const MIN_AVG_CHUNK_SIZE = 256;
export const MAX_AVG_CHUNK_SIZE = 64 * 1024 * 1024;

/** min/avg/max = avg/4, avg, avg*4 with avg a power of two. */
export function chunkerParams(avgSize: number = DEFAULT_AVG_CHUNK_SIZE): ChunkerParams {
  return { minSize: avgSize / 4, avgSize, maxSize: avgSize * 4 };
}

export function chunkerParamsProblem(p: ChunkerParams): string | undefined {
  const { minSize, avgSize, maxSize } = p;
  if (!Number.isInteger(avgSize) || avgSize < MIN_AVG_CHUNK_SIZE || avgSize > MAX_AVG_CHUNK_SIZE || (avgSize & (avgSize - 1)) !== 0) {
    return `avgSize must be a power of two in [${MIN_AVG_CHUNK_SIZE}, ${MAX_AVG_CHUNK_SIZE}]`;
  }
  if (!Number.isInteger(minSize) || minSize < 1 || minSize > avgSize) return 'minSize must be an integer in [1, avgSize]';
  if (!Number.isInteger(maxSize) || maxSize < avgSize || maxSize > 4 * MAX_AVG_CHUNK_SIZE) return 'maxSize must be an integer in [avgSize, 256 MiB]';
  return undefined;
}

const GEAR_CONTEXT = 'coffer 2025 fastcdc gear table v1';

/**
 * 256 pseudo-random 32-bit gear values: ChaCha20 keystream under a subkey of
 * the seed (domain-separated with BLAKE3 derive_key).
 */
export function gearTable(seed: Uint8Array): Int32Array {
  if (seed.length !== 32) throw new RangeError('chunker seed must be 32 bytes');
  const key = deriveSubkey(GEAR_CONTEXT, seed);
  try {
    const stream = createCipheriv('chacha20', key, Buffer.alloc(16)).update(Buffer.alloc(1024));
    const table = new Int32Array(256);
    for (let i = 0; i < 256; i++) table[i] = stream.readInt32LE(i * 4);
    stream.fill(0);
    return table;
  } finally {
    key.fill(0);
  }
}

/**
 * Tables by seed object: a backup makes a Chunker per file, and deriving the
 * table each time showed in profiles. Keyed by identity, so no copy of the
 * secret seed is made, and a table goes when its keyring does.
 */
const tableCache = new WeakMap<Uint8Array, Int32Array>();

function cachedGearTable(seed: Uint8Array): Int32Array {
  let table = tableCache.get(seed);
  if (table === undefined) {
    table = gearTable(seed);
    tableCache.set(seed, table);
  }
  return table;
}

function topBitsMask(bits: number): number {
  return bits >= 32 ? -1 : (~0 << (32 - bits)) | 0;
}

/**
 * Streaming chunker. `push` returns the chunks completed so far; `finish`
 * returns the rest. At most `maxSize` bytes are held between calls.
 *
 * Ownership: pushed buffers are kept by reference until their bytes are
 * emitted, and a chunk lying inside one pushed buffer is a view of it. Do not
 * modify or reuse a buffer after pushing it.
 */
export class Chunker {
  private readonly gear: Int32Array;
  private readonly minSize: number;
  private readonly normalSize: number;
  private readonly maxSize: number;
  private readonly maskS: number;
  private readonly maskL: number;
  /** Bytes of the current (incomplete) chunk held from earlier pushes. */
  private pending: Buffer[] = [];
  /** Length of the current chunk so far (pending plus scanned part of the current push). */
  private chunkLen = 0;
  private hash = 0;

  constructor(params: ChunkerParams, seed: Uint8Array) {
    const problem = chunkerParamsProblem(params);
    if (problem !== undefined) throw new RangeError(`invalid chunker parameters: ${problem}`);
    this.gear = cachedGearTable(seed);
    this.minSize = params.minSize;
    this.normalSize = params.avgSize;
    this.maxSize = params.maxSize;
    const bits = Math.round(Math.log2(params.avgSize));
    this.maskS = topBitsMask(bits + 2);
    this.maskL = topBitsMask(bits - 2);
  }

  push(data: Uint8Array): Buffer[] {
    const buf = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    const out: Buffer[] = [];
    const n = buf.length;
    const gear = this.gear;
    const scanner = gearScanner();
    let start = 0; // where the current chunk's bytes begin within buf
    let pos = 0;
    while (pos < n) {
      let len = this.chunkLen;
      // Skip the minimum size: no cut can fall there, and the hash restarts after it.
      if (len < this.minSize) {
        const skip = Math.min(this.minSize - len, n - pos);
        pos += skip;
        this.chunkLen = len + skip;
        continue;
      }
      let cut = -1;
      if (len < this.normalSize) {
        const end = Math.min(n, pos + (this.normalSize - len));
        cut = scanner.scan(buf, pos, end, this.hash, this.maskS, gear);
        this.hash = scanner.hash;
        if (cut < 0) {
          len += end - pos;
          pos = end;
        }
      }
      if (cut < 0 && len >= this.normalSize) {
        const end = Math.min(n, pos + (this.maxSize - len));
        cut = scanner.scan(buf, pos, end, this.hash, this.maskL, gear);
        this.hash = scanner.hash;
        if (cut < 0) {
          len += end - pos;
          pos = end;
          if (len >= this.maxSize) cut = pos;
        }
      }
      if (cut >= 0) {
        out.push(this.take(buf, start, cut));
        start = cut;
        pos = cut;
        this.chunkLen = 0;
        this.hash = 0;
      } else {
        this.chunkLen = len;
      }
    }
    if (start < n) this.pending.push(buf.subarray(start, n));
    return out;
  }

  /** The last chunk (if any bytes remain); the chunker can be reused afterwards. */
  finish(): Buffer[] {
    const rest = this.pending.length === 0 ? [] : [this.pending.length === 1 ? this.pending[0] : Buffer.concat(this.pending)];
    this.pending = [];
    this.chunkLen = 0;
    this.hash = 0;
    return rest;
  }

  private take(buf: Buffer, start: number, end: number): Buffer {
    const tail = buf.subarray(start, end);
    if (this.pending.length === 0) return tail;
    const chunk = Buffer.concat([...this.pending, tail]);
    this.pending = [];
    return chunk;
  }
}

/** Chunks a byte stream (e.g. fs.createReadStream) with bounded memory. */
export async function* chunkStream(readable: AsyncIterable<Uint8Array | string>, params: ChunkerParams, seed: Uint8Array): AsyncIterable<Buffer> {
  const chunker = new Chunker(params, seed);
  for await (const piece of readable) {
    if (typeof piece === 'string') throw new TypeError('chunkStream needs a byte stream, not a string stream');
    if (piece.length === 0) continue;
    yield* chunker.push(piece);
  }
  yield* chunker.finish();
}
