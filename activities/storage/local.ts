import { constants as fsConstants } from 'node:fs';
import { link, mkdir, open, opendir, rename, stat, unlink } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import type { Backend, BackendCapabilities, ByteRange, CallOptions, ObjectInfo, SaveOptions } from './backend';
import { abortReason, asBuffer, checkName, checkPrefix, describe, randomSuffix, resolveRange, throwIfAborted } from './common';
import {
  AlreadyExists, AuthFailed, BadLocation, NotFound, Transient, Unsupported,
} from './errors';
import { CofferError } from '../errors';

/** Bytes written per write() call; the abort signal is checked between writes. */
const WRITE_CHUNK = 4 * 1024 * 1024;

export interface LocalBackendOptions {
  /** Absolute or relative directory of the repository. */
  readonly root: string;
}

/**
 * A repository in a local directory (also NFS/SMB mounts).
 *
 * save(): the bytes go to a temporary file in the object's own directory
 * (`.<name>.tmp-<random>`, hidden from list()), which is fsync'ed and then
 * hard-linked to the final name. link() fails with EEXIST when the name is
 * taken, so save-if-absent is decided atomically by the filesystem, also on
 * NFS (where link is the classic atomic create; a lost reply is detected by
 * the temp file's link count reaching 2). The temp name is then unlinked and
 * the directory fsync'ed so the new entry survives a crash. On filesystems
 * without hard links the backend falls back to "stat, then rename", which is
 * racy between two writers of the same name; content-addressed writers store
 * identical bytes, so the race is harmless for data, but capabilities say so.
 */
export class LocalBackend implements Backend {
  readonly location: string;
  private atomic = true;
  private readonly root: string;

  constructor(options: LocalBackendOptions) {
    this.root = resolve(options.root);
    this.location = `local:${this.root}`;
  }

  get capabilities(): BackendCapabilities {
    return { atomicCreate: this.atomic, retention: false };
  }

  async save(name: string, data: Uint8Array, options: SaveOptions = {}): Promise<void> {
    checkName(name);
    if (options.retainUntil !== undefined) {
      throw new Unsupported('local storage cannot retention-lock objects', { hint: 'use S3 Object Lock for immutable backups' });
    }
    throwIfAborted(options.signal);
    const path = this.pathOf(name);
    const dir = dirname(path);
    const temp = join(dir, `.${basename(path)}.tmp-${randomSuffix()}`);
    try {
      await this.makeDirs(dir);
      await writeDurably(temp, asBuffer(data), options.signal);
      throwIfAborted(options.signal);
      await this.publish(temp, path, name);
      await fsyncDir(dir);
    } catch (err) {
      await unlink(temp).catch(() => undefined);
      throw this.mapError(err, name, options.signal);
    }
    await unlink(temp).catch(() => undefined);
  }

  async load(name: string, range?: ByteRange, options: CallOptions = {}): Promise<Buffer> {
    checkName(name);
    throwIfAborted(options.signal);
    let handle: FileHandle | undefined;
    try {
      handle = await open(this.pathOf(name), 'r');
      const info = await handle.stat();
      if (!info.isFile()) throw new NotFound(`object ${name} not found`);
      const { start, end } = resolveRange(name, info.size, range);
      const out = Buffer.allocUnsafe(end - start);
      let done = 0;
      while (done < out.length) {
        throwIfAborted(options.signal);
        const { bytesRead } = await handle.read(out, done, Math.min(out.length - done, WRITE_CHUNK), start + done);
        if (bytesRead === 0) break; // truncated underneath us: return what exists
        done += bytesRead;
      }
      return done === out.length ? out : out.subarray(0, done);
    } catch (err) {
      throw this.mapError(err, name, options.signal);
    } finally {
      await handle?.close().catch(() => undefined);
    }
  }

  async stat(name: string, options: CallOptions = {}): Promise<ObjectInfo> {
    checkName(name);
    throwIfAborted(options.signal);
    try {
      const info = await stat(this.pathOf(name));
      if (!info.isFile()) throw new NotFound(`object ${name} not found`);
      return { name, size: info.size };
    } catch (err) {
      throw this.mapError(err, name, options.signal);
    }
  }

  async *list(prefix: string, options: CallOptions = {}): AsyncIterable<ObjectInfo> {
    checkPrefix(prefix);
    // Start at the deepest directory the prefix names completely.
    const slash = prefix.lastIndexOf('/');
    const startRel = slash < 0 ? '' : prefix.slice(0, slash);
    yield* this.walk(startRel, prefix, options.signal);
  }

  async remove(name: string, options: CallOptions = {}): Promise<void> {
    checkName(name);
    throwIfAborted(options.signal);
    try {
      await unlink(this.pathOf(name));
    } catch (err) {
      const code = errno(err);
      if (code === 'ENOENT' || code === 'ENOTDIR') return;
      throw this.mapError(err, name, options.signal);
    }
  }

  async close(): Promise<void> {
    // Nothing is held open between calls.
  }

  private async *walk(dirRel: string, prefix: string, signal: AbortSignal | undefined): AsyncGenerator<ObjectInfo> {
    throwIfAborted(signal);
    const dirPath = dirRel === '' ? this.root : join(this.root, ...dirRel.split('/'));
    let dir;
    try {
      dir = await opendir(dirPath);
    } catch (err) {
      const code = errno(err);
      if (code === 'ENOENT' || code === 'ENOTDIR') return;
      throw this.mapError(err, dirRel, signal);
    }
    const subdirs: string[] = [];
    try {
      for await (const entry of dir) {
        if (entry.name.startsWith('.')) continue; // temporary files and hidden entries
        const rel = dirRel === '' ? entry.name : `${dirRel}/${entry.name}`;
        if (entry.isDirectory()) {
          // Descend only where names under it can still match the prefix.
          if (`${rel}/`.startsWith(prefix) || prefix.startsWith(`${rel}/`)) subdirs.push(rel);
        } else if (entry.isFile() && rel.startsWith(prefix)) {
          try {
            const info = await stat(join(dirPath, entry.name));
            yield { name: rel, size: info.size };
          } catch (err) {
            if (errno(err) !== 'ENOENT') throw err; // removed while listing: skip
          }
        }
      }
    } catch (err) {
      throw this.mapError(err, dirRel, signal);
    }
    for (const sub of subdirs) yield* this.walk(sub, prefix, signal);
  }

  private pathOf(name: string): string {
    const path = join(this.root, ...name.split('/'));
    const rel = relative(this.root, path);
    if (rel.startsWith('..') || rel.includes(`..${sep}`)) throw new BadLocation(`object name ${name} escapes the repository`);
    return path;
  }

  /** mkdir -p, then fsync the parents of every directory it created. */
  private async makeDirs(dir: string): Promise<void> {
    const first = await mkdir(dir, { recursive: true });
    if (first === undefined) return;
    let current = dir;
    const chain: string[] = [];
    while (current.length >= first.length) {
      chain.push(dirname(current));
      if (current === first) break;
      current = dirname(current);
    }
    for (const d of chain) await fsyncDir(d);
  }

  /** Makes `temp` visible as `path` only if `path` does not exist yet. */
  private async publish(temp: string, path: string, name: string): Promise<void> {
    try {
      await link(temp, path);
      return;
    } catch (err) {
      const code = errno(err);
      if (code === 'EEXIST') throw new AlreadyExists(`object ${name} already exists`);
      if (code === 'EPERM' || code === 'ENOTSUP' || code === 'EOPNOTSUPP' || code === 'ENOSYS') {
        // No hard links on this filesystem: documented, racy fallback.
        this.atomic = false;
        await stat(path).then(
          () => { throw new AlreadyExists(`object ${name} already exists`); },
          (statErr: unknown) => { if (errno(statErr) !== 'ENOENT') throw statErr; },
        );
        await rename(temp, path);
        return;
      }
      // NFS: the link may have succeeded even though the reply was lost.
      const info = await stat(temp).catch(() => undefined);
      if (info !== undefined && info.nlink === 2) return;
      throw err;
    }
  }

  private mapError(err: unknown, name: string, signal: AbortSignal | undefined): unknown {
    if (signal?.aborted === true) return abortReason(signal);
    if (err instanceof CofferError) return err;
    return mapFsError(err, name, this.location);
  }
}

/** Maps a Node fs error onto the storage sentinels. */
export function mapFsError(err: unknown, name: string, location: string): CofferError {
  const code = errno(err);
  const what = name === '' ? location : `object ${name}`;
  switch (code) {
    case 'ENOENT':
    case 'EISDIR':
    case 'ENOTDIR':
      return new NotFound(`${what} not found`, { cause: err });
    case 'EEXIST':
      return new AlreadyExists(`${what} already exists`, { cause: err });
    case 'EACCES':
    case 'EPERM':
      return new AuthFailed(`permission denied for ${what} in ${location}`, { cause: err, hint: 'check the directory permissions' });
    case 'ENOSPC':
    case 'EDQUOT':
      return new BadLocation(`no space left writing ${what} in ${location}`, { cause: err, hint: 'free space or prune old snapshots' });
    case 'EROFS':
      return new BadLocation(`${location} is read-only`, { cause: err });
    case 'EIO':
    case 'ESTALE':
    case 'ETIMEDOUT':
    case 'EAGAIN':
    case 'EBUSY':
    case 'EMFILE':
    case 'ENFILE':
    case 'EINTR':
      return new Transient(`I/O error on ${what}: ${describe(err)}`, { cause: err });
    default:
      return new Transient(`unexpected error on ${what}: ${describe(err)}`, { cause: err });
  }
}

function errno(err: unknown): string | undefined {
  if (err instanceof Error && 'code' in err) {
    const code = (err as { code: unknown }).code;
    return typeof code === 'string' ? code : undefined;
  }
  return undefined;
}

/** Writes `data` to a new file (O_EXCL), fsyncs it and closes it. */
async function writeDurably(path: string, data: Buffer, signal: AbortSignal | undefined): Promise<void> {
  const handle = await open(path, fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL, 0o644);
  try {
    let done = 0;
    while (done < data.length) {
      throwIfAborted(signal);
      const { bytesWritten } = await handle.write(data, done, Math.min(WRITE_CHUNK, data.length - done));
      done += bytesWritten;
    }
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** fsync a directory so a new entry in it is durable; ignored where unsupported. */
async function fsyncDir(dir: string): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(dir, 'r');
    await handle.sync();
  } catch (err) {
    const code = errno(err);
    if (code !== 'EINVAL' && code !== 'EISDIR' && code !== 'EPERM' && code !== 'EBADF') throw err;
  } finally {
    await handle?.close().catch(() => undefined);
  }
}
