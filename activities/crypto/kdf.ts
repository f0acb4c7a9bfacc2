/**
 * Passphrase → key with Argon2id (libsodium crypto_pwhash). The parameters are
 * stored in each key file; bounds keep a hostile key file from demanding
 * absurd memory or time.
 *
 * Derivations that need real memory run in a short-lived worker thread: a
 * WebAssembly memory never shrinks, so running Argon2id over 64–256 MiB in the
 * main thread's libsodium instance would pin that much RSS for the rest of the
 * process. The worker's heap is returned to the system when it exits.
 */
import { Worker } from 'node:worker_threads';
import { loadSodium } from './sodium';

export interface KdfParams {
  opsLimit: number;
  memLimitBytes: number;
}

export const SALT_BYTES = 16;
export const DERIVED_KEY_BYTES = 32;

/** libsodium's MODERATE: 3 passes over 256 MiB, about 1.4 s here. */
export const KDF_MODERATE: Readonly<KdfParams> = Object.freeze({ opsLimit: 3, memLimitBytes: 256 * 1024 * 1024 });
/** libsodium's INTERACTIVE: 2 passes over 64 MiB, about 0.3 s. */
export const KDF_INTERACTIVE: Readonly<KdfParams> = Object.freeze({ opsLimit: 2, memLimitBytes: 64 * 1024 * 1024 });
/**
 * Default for new passphrase key files: INTERACTIVE-class (see docs/design.md,
 * "Key files", for the trade-off). Existing key files keep the parameters they record.
 */
export const KDF_DEFAULT: Readonly<KdfParams> = KDF_INTERACTIVE;
/** Fast and weak: for tests only. */
export const KDF_CHEAP_FOR_TESTS: Readonly<KdfParams> = Object.freeze({ opsLimit: 1, memLimitBytes: 8 * 1024 * 1024 });

/** Below this much memory the derivation runs inline (a worker's start-up would cost more than it saves). */
const WORKER_FROM_BYTES = 32 * 1024 * 1024;

/** Accepted ranges. The WASM heap cannot grow much beyond 1 GiB, so larger would fail anyway. */
export const KDF_LIMITS = Object.freeze({ minOps: 1, maxOps: 32, minMem: 8 * 1024, maxMem: 1024 * 1024 * 1024 });

export function kdfParamsProblem(params: KdfParams): string | undefined {
  const { opsLimit, memLimitBytes } = params;
  if (!Number.isInteger(opsLimit) || opsLimit < KDF_LIMITS.minOps || opsLimit > KDF_LIMITS.maxOps) {
    return `opsLimit must be an integer in [${KDF_LIMITS.minOps}, ${KDF_LIMITS.maxOps}]`;
  }
  if (!Number.isInteger(memLimitBytes) || memLimitBytes < KDF_LIMITS.minMem || memLimitBytes > KDF_LIMITS.maxMem || memLimitBytes % 1024 !== 0) {
    return `memLimitBytes must be a multiple of 1024 in [${KDF_LIMITS.minMem}, ${KDF_LIMITS.maxMem}]`;
  }
  return undefined;
}

// Plain JavaScript (no TypeScript loader needed in the worker); the module path comes from the parent's resolution.
const WORKER_SOURCE = `
const { workerData, parentPort } = require('node:worker_threads');
const sodium = require(workerData.sodiumPath);
sodium.ready.then(() => {
  const { password, salt, opsLimit, memLimitBytes, keyBytes } = workerData;
  try {
    const key = sodium.crypto_pwhash(keyBytes, password, salt, opsLimit, memLimitBytes, sodium.crypto_pwhash_ALG_ARGON2ID13);
    parentPort.postMessage({ key }, [key.buffer]);
  } catch (err) {
    parentPort.postMessage({ error: err instanceof Error ? err.message : String(err) });
  } finally {
    password.fill(0);
  }
});
`;

function deriveInWorker(password: Uint8Array, salt: Uint8Array, params: KdfParams): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: {
        sodiumPath: require.resolve('libsodium-wrappers-sumo'),
        // Copies (structured clone): the caller's buffers stay usable and are not detached.
        password: new Uint8Array(password),
        salt: new Uint8Array(salt),
        opsLimit: params.opsLimit,
        memLimitBytes: params.memLimitBytes,
        keyBytes: DERIVED_KEY_BYTES,
      },
    });
    let settled = false;
    worker.once('message', (msg: { key?: Uint8Array; error?: string }) => {
      settled = true;
      if (msg.key !== undefined) resolve(msg.key);
      else reject(new Error(`key derivation failed: ${msg.error ?? 'unknown error'}`));
      void worker.terminate();
    });
    worker.once('error', (err) => {
      if (!settled) reject(err);
      settled = true;
    });
    worker.once('exit', (code) => {
      if (!settled) reject(new Error(`key derivation worker exited with code ${code}`));
      settled = true;
    });
  });
}

/**
 * Derives 32 bytes with Argon2id. String passphrases are NFC-normalised so the
 * same passphrase typed on systems that compose Unicode differently matches.
 * Costly parameters run in a worker thread (the event loop stays free and the
 * WASM heap is released afterwards); cheap ones inline.
 */
export async function deriveKey(passphrase: string | Uint8Array, salt: Uint8Array, params: KdfParams = KDF_DEFAULT): Promise<Uint8Array> {
  const problem = kdfParamsProblem(params);
  if (problem !== undefined) throw new RangeError(`deriveKey: ${problem}`);
  if (salt.length !== SALT_BYTES) throw new RangeError(`deriveKey: salt must be ${SALT_BYTES} bytes`);
  const password = typeof passphrase === 'string' ? Buffer.from(passphrase.normalize('NFC'), 'utf8') : passphrase;
  try {
    if (params.memLimitBytes >= WORKER_FROM_BYTES) return await deriveInWorker(password, salt, params);
    const sodium = await loadSodium();
    return sodium.crypto_pwhash(DERIVED_KEY_BYTES, password, salt, params.opsLimit, params.memLimitBytes, sodium.crypto_pwhash_ALG_ARGON2ID13);
  } finally {
    // Only our own copy of a string passphrase; a caller's Uint8Array is theirs.
    if (password !== passphrase) password.fill(0);
  }
}
