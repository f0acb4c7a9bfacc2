/**
 * Loader for Coffer's own N-API addon (native/coffer_fs.c): the Linux calls
 * Node lacks (nanosecond utimensat without following symlinks, mknod, l*xattr,
 * SEEK_DATA/SEEK_HOLE, syncfs) and batch calls for restoring small files. Built by `node-gyp rebuild --directory native`.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

import { CofferError } from '../../errors';

export interface CofferFsAddon {
  /** utimensat(AT_FDCWD, path, [atime, mtime], AT_SYMLINK_NOFOLLOW), times in ns since the epoch. */
  lutimens(path: string, atimeNs: bigint, mtimeNs: bigint): void;
  /** mknod(path, typeBits | permissionBits, rdev): FIFOs, sockets, devices. */
  mknod(path: string, mode: number, rdev: number): void;
  llistxattr(path: string): string[];
  /** null when the attribute does not exist. */
  lgetxattr(path: string, name: string): Buffer | null;
  lsetxattr(path: string, name: string, value: Buffer): void;
  lremovexattr(path: string, name: string): void;
  /** Next data offset at or after `offset`, or -1 when only a hole follows. */
  seekData(fd: number, offset: number): number;
  /** Next hole offset at or after `offset` (the file end counts as a hole), or -1 past the end. */
  seekHole(fd: number, offset: number): number;
  /** syncfs(2) of the file system holding `fd`, off the main thread; rejects with a Node-style error (e.g. EIO, ENOSPC). */
  syncfs(fd: number): Promise<void>;
  /**
   * Creates and finishes many small files in one trip to the thread pool (see
   * writeFiles in coffer_fs.c for the layout of `meta`). One result per file:
   * null when done, else a Node-style error naming the failed call; a file
   * that failed has been removed. The buffers must stay unchanged until it settles.
   */
  writeFiles(paths: readonly string[], pieces: readonly Buffer[], pieceOffsets: BigInt64Array, meta: BigInt64Array): Promise<(Error | null)[]>;
  /** rename(2) of each pair in order, off the main thread, stopping at the first failure: [pairs renamed, that failure]. */
  renameAll(from: readonly string[], to: readonly string[]): Promise<[number, Error | null]>;
  /**
   * Opens an XChaCha20-Poly1305 object (nonce ‖ ciphertext ‖ tag, as libsodium
   * seals it) into `out`: the plaintext length, or -1 when it does not
   * authenticate. Throws RangeError for a wrong key length, a sealed object
   * shorter than nonce and tag, or an `out` shorter than the plaintext.
   */
  xchachaOpenInto(key: Uint8Array, sealed: Uint8Array, ad: Uint8Array, out: Uint8Array): number;
}

/** The addon was not built: a setup problem, not a data problem. */
export class NativeAddonMissing extends CofferError {
  readonly code = 'COFFER-E106';
  readonly retryable = false;
}

const ADDON_RELATIVE = join('native', 'build', 'Release', 'coffer_fs.node');

/** Finds native/build/Release/coffer_fs.node above this file (works from the sources and from dist/). */
function findAddon(): string | undefined {
  let dir = __dirname;
  for (;;) {
    const candidate = join(dir, ADDON_RELATIVE);
    if (existsSync(candidate)) return candidate;
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

let loaded: CofferFsAddon | undefined;

export function nativeFs(): CofferFsAddon {
  if (loaded !== undefined) return loaded;
  const path = findAddon();
  if (path === undefined) {
    throw new NativeAddonMissing(`the native file-system addon (${ADDON_RELATIVE}) is not built`, {
      hint: 'run `npm run build:native` (needs gcc, make and python3; the Node headers come from nodedir)',
    });
  }
  const module = { exports: {} as CofferFsAddon };
  try {
    process.dlopen(module, path);
  } catch (err) {
    throw new NativeAddonMissing(`the native file-system addon at ${path} does not load`, {
      cause: err,
      hint: 'rebuild it for this Node version: `npm run build:native`',
    });
  }
  loaded = module.exports;
  return loaded;
}
