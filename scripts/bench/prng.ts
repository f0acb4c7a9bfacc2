/**
 * Deterministic randomness for the benchmark dataset: the same seed always
 * yields the same tree, byte for byte, so figures from different runs and
 * machines describe the same data.
 *
 * Two sources: a small xoshiro128** generator for decisions (sizes, names,
 * choices) and an AES-256-CTR keystream for bulk bytes (native, ~GB/s).
 */
import { createCipheriv, createHash } from 'node:crypto';

/** xoshiro128**: fast, 32-bit state words, good enough for shaping test data. */
export class Prng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  constructor(seed: string) {
    const h = createHash('sha256').update(`prng:${seed}`).digest();
    this.s0 = h.readUInt32LE(0) | 1;
    this.s1 = h.readUInt32LE(4);
    this.s2 = h.readUInt32LE(8);
    this.s3 = h.readUInt32LE(12);
  }

  /** Uniform 32-bit unsigned integer. */
  nextU32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** Uniform float in [0, 1). */
  next(): number {
    return this.nextU32() / 4294967296;
  }

  /** Uniform integer in [min, max] (inclusive). */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  /** Log-uniform integer in [min, max]: many small values, a few large ones. */
  logInt(min: number, max: number): number {
    const lo = Math.log(min);
    const hi = Math.log(max);
    return Math.min(max, Math.max(min, Math.round(Math.exp(lo + this.next() * (hi - lo)))));
  }

  pick<T>(items: readonly T[]): T {
    const item = items[Math.floor(this.next() * items.length)];
    if (item === undefined) throw new Error('pick from an empty list');
    return item;
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/**
 * An endless, seeded stream of pseudo-random bytes (AES-256-CTR over zeros).
 * Each label gives an independent stream.
 */
export class KeyStream {
  private readonly cipher;
  private readonly zeros = Buffer.alloc(1 << 20);

  constructor(seed: string, label: string) {
    const key = createHash('sha256').update(`key:${seed}:${label}`).digest();
    const iv = createHash('sha256').update(`iv:${seed}:${label}`).digest().subarray(0, 16);
    this.cipher = createCipheriv('aes-256-ctr', key, iv);
  }

  /** The next `n` bytes of the stream (a fresh buffer). */
  bytes(n: number): Buffer {
    const parts: Buffer[] = [];
    let left = n;
    while (left > 0) {
      const take = Math.min(left, this.zeros.length);
      parts.push(this.cipher.update(this.zeros.subarray(0, take)));
      left -= take;
    }
    return parts.length === 1 ? parts[0] : Buffer.concat(parts);
  }
}
