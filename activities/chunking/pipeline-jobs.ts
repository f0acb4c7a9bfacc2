/**
 * The CPU-heavy per-chunk work, as plain functions: run inline or inside a
 * worker thread by pipeline-pool.ts.
 *   pack:   plaintext → zstd (if smaller) → XChaCha20-Poly1305 seal
 *   unpack: sealed → open → bounded zstd decompress
 */
import { open, seal } from '../crypto/aead';
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

export function runPack(job: PackJob): PackResult {
  const t0 = performance.now();
  const packed = compressChunk(job.data, job.level);
  const sealed = seal(job.key, packed.data, job.ad);
  return { sealed, compressed: packed.compressed, plainBytes: job.data.length, packedBytes: packed.data.length, cpuMs: performance.now() - t0 };
}

export function runUnpack(job: UnpackJob): UnpackResult {
  const t0 = performance.now();
  const plain = open(job.key, job.sealed, job.ad, job.what);
  const data = decompressChunk(plain, job.compressed, job.maxSize, job.what);
  const id = job.idKey === undefined ? undefined : chunkId(job.idKey, data);
  return { data, ...(id === undefined ? {} : { id }), cpuMs: performance.now() - t0 };
}
