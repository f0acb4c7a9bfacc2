/**
 * Throughput of the engine's primitives on one core, on 64 MiB of mixed data
 * (random, text-like, semi-compressible): chunking, keyed BLAKE3, zstd 1/3,
 * AEAD native vs libsodium WASM, and the whole per-chunk pipeline.
 *
 *   npx tsx scripts/bench/primitives.ts [MiB]
 *
 * Each figure is the best of three runs (the machine is shared).
 */
import { randomBytes } from 'node:crypto';
import { open, seal } from '../../activities/crypto/aead';
import { chunkId } from '../../activities/crypto/chunk-id';
import { deriveKey, KDF_INTERACTIVE, KDF_MODERATE } from '../../activities/crypto/kdf';
import { loadSodium } from '../../activities/crypto/sodium';
import { Chunker, chunkerParams } from '../../activities/chunking/fastcdc';
import { createCpuPool } from '../../activities/chunking/pipeline-pool';
import { compressChunk, decompressChunk } from '../../activities/compression/zstd';

const MiB = 1024 * 1024;

/** A deterministic-enough mix: a third random, a third text-like, a third semi-compressible. */
function mixedData(total: number): Buffer {
  const out = Buffer.allocUnsafe(total);
  const third = Math.floor(total / 3);
  randomBytes(third).copy(out, 0);
  const words = ['backup ', 'coffer ', 'chunk ', 'temporal ', 'workflow ', 'lorem ', 'ipsum ', '\n', 'dolor ', 'sit ', 'amet '];
  let pos = third;
  let i = 0;
  while (pos < 2 * third) {
    const w = words[(i * 7 + (i >> 3)) % words.length] + (i % 5 === 0 ? String(i) : '');
    pos += out.write(w, pos, Math.min(w.length, 2 * third - pos));
    i++;
  }
  // Semi-compressible: random bytes with a small alphabet and repeated runs.
  const r = randomBytes(total - pos);
  for (let j = 0; j < r.length; j++) out[pos + j] = j % 64 < 32 ? r[j] & 0x0f : 0x20 + (j % 17);
  return out;
}

function report(label: string, bytes: number, seconds: number): number {
  const mbps = bytes / MiB / seconds;
  console.log(`primitives: ${label.padEnd(44)} ${mbps.toFixed(0).padStart(6)} MB/s`);
  return mbps;
}

function best(label: string, bytes: number, fn: () => void): number {
  let bestSeconds = Infinity;
  for (let run = 0; run < 3; run++) {
    const t0 = process.hrtime.bigint();
    fn();
    const s = Number(process.hrtime.bigint() - t0) / 1e9;
    bestSeconds = Math.min(bestSeconds, s);
  }
  return report(label, bytes, bestSeconds);
}

async function main(): Promise<void> {
  const total = Number(process.argv[2] ?? 64) * MiB;
  const data = mixedData(total);
  const seed = randomBytes(32);
  const key = randomBytes(32);
  const ad = Buffer.from('coffer bench associated data');
  console.log(`primitives: ${total / MiB} MiB mixed data, node ${process.version}, 1 MiB average chunks (MB/s = MiB/s)`);

  let chunks: Buffer[] = [];
  best('chunking (FastCDC, 1 MiB pieces)', total, () => {
    const c = new Chunker(chunkerParams(), seed);
    chunks = [];
    for (let off = 0; off < total; off += MiB) chunks.push(...c.push(data.subarray(off, off + MiB)));
    chunks.push(...c.finish());
  });
  console.log(`primitives: ${chunks.length} chunks, mean ${(total / chunks.length / MiB).toFixed(2)} MiB`);

  best('chunk id (keyed BLAKE3, native)', total, () => {
    for (const c of chunks) chunkId(key, c);
  });

  for (const level of [1, 3]) {
    let stored = 0;
    best(`zstd level ${level} compress`, total, () => {
      stored = 0;
      for (const c of chunks) stored += compressChunk(c, level).data.length;
    });
    console.log(`primitives: zstd level ${level} ratio ${(total / stored).toFixed(2)}`);
  }
  const compressed = chunks.map((c) => compressChunk(c, 1));
  best('zstd decompress (level 1 data)', total, () => {
    for (const c of compressed) decompressChunk(c.data, c.compressed);
  });

  best('AEAD seal (native XChaCha20-Poly1305)', total, () => {
    for (const c of chunks) seal(key, c, ad);
  });
  const sealed = chunks.map((c) => seal(key, c, ad));
  best('AEAD open (native XChaCha20-Poly1305)', total, () => {
    for (const s of sealed) open(key, s, ad, 'bench');
  });
  const sodium = await loadSodium();
  best('AEAD seal (libsodium WASM)', total, () => {
    for (const c of chunks) sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(c, ad, null, randomBytes(24), key);
  });

  best('pipeline: chunk+id+zstd1+seal (1 core)', total, () => {
    const c = new Chunker(chunkerParams(), seed);
    const handle = (chunk: Buffer): void => {
      chunkId(key, chunk);
      seal(key, compressChunk(chunk, 1).data, ad);
    };
    for (let off = 0; off < total; off += MiB) for (const chunk of c.push(data.subarray(off, off + MiB))) handle(chunk);
    for (const chunk of c.finish()) handle(chunk);
  });

  // Main thread: chunk + hash; workers: compress + seal (at most 2 jobs per worker in flight).
  for (const size of [1, 2]) {
    const pool = createCpuPool(size);
    let bestSeconds = Infinity;
    for (let run = 0; run < 3; run++) {
      const t0 = process.hrtime.bigint();
      const c = new Chunker(chunkerParams(), seed);
      const inFlight = new Set<Promise<unknown>>();
      const submit = async (chunk: Buffer): Promise<void> => {
        chunkId(key, chunk);
        while (inFlight.size >= 2 * size) await Promise.race(inFlight);
        const p = pool.process({ data: chunk, level: 1, key, ad }).finally(() => inFlight.delete(p));
        inFlight.add(p);
      };
      for (let off = 0; off < total; off += MiB) for (const chunk of c.push(data.subarray(off, off + MiB))) await submit(chunk);
      for (const chunk of c.finish()) await submit(chunk);
      await Promise.all(inFlight);
      bestSeconds = Math.min(bestSeconds, Number(process.hrtime.bigint() - t0) / 1e9);
    }
    await pool.close();
    report(`pipeline: same with ${size} worker thread${size > 1 ? 's' : ''}`, total, bestSeconds);
  }

  for (const [name, params] of [['INTERACTIVE', KDF_INTERACTIVE], ['MODERATE', KDF_MODERATE]] as const) {
    const t0 = process.hrtime.bigint();
    await deriveKey('bench passphrase', randomBytes(16), params);
    console.log(`primitives: Argon2id ${name.padEnd(35)} ${(Number(process.hrtime.bigint() - t0) / 1e9).toFixed(2).padStart(6)} s`);
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
