/**
 * libsodium (WASM, sumo build: it has Argon2id) loaded once per process.
 * Loaded lazily through require so that CommonJS output and tsx both work.
 */
import type * as SodiumModule from 'libsodium-wrappers-sumo';

export type Sodium = typeof SodiumModule;

let loading: Promise<Sodium> | undefined;

export async function loadSodium(): Promise<Sodium> {
  if (loading === undefined) {
    loading = (async () => {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const sodium = require('libsodium-wrappers-sumo') as Sodium;
      await sodium.ready;
      return sodium;
    })();
  }
  return loading;
}
