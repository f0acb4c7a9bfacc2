/**
 * Passphrase → key with Argon2id (libsodium crypto_pwhash). The parameters are
 * stored in each key file; bounds keep a hostile key file from demanding
 * absurd memory or time.
 */
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
/** Fast and weak: for tests only. */
export const KDF_CHEAP_FOR_TESTS: Readonly<KdfParams> = Object.freeze({ opsLimit: 1, memLimitBytes: 8 * 1024 * 1024 });

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

/**
 * Derives 32 bytes with Argon2id. String passphrases are NFC-normalised so the
 * same passphrase typed on systems that compose Unicode differently matches.
 * Note: runs synchronously inside WASM once started (blocks the event loop for
 * the KDF's duration).
 */
export async function deriveKey(passphrase: string | Uint8Array, salt: Uint8Array, params: KdfParams = KDF_MODERATE): Promise<Uint8Array> {
  const problem = kdfParamsProblem(params);
  if (problem !== undefined) throw new RangeError(`deriveKey: ${problem}`);
  if (salt.length !== SALT_BYTES) throw new RangeError(`deriveKey: salt must be ${SALT_BYTES} bytes`);
  const sodium = await loadSodium();
  const password = typeof passphrase === 'string' ? Buffer.from(passphrase.normalize('NFC'), 'utf8') : passphrase;
  return sodium.crypto_pwhash(DERIVED_KEY_BYTES, password, salt, params.opsLimit, params.memLimitBytes, sodium.crypto_pwhash_ALG_ARGON2ID13);
}
