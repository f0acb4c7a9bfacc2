import { createHash, createHmac } from 'node:crypto';
import { posix } from 'node:path';
import SftpClient from 'ssh2-sftp-client';
import type { Attributes, SFTPWrapper } from 'ssh2';
import type { Backend, BackendCapabilities, ByteRange, CallOptions, ObjectInfo, SaveOptions } from './backend';
import { abortReason, asBuffer, checkName, checkPrefix, describe, randomSuffix, resolveRange, throwIfAborted } from './common';
import {
  AlreadyExists, AuthFailed, BadLocation, NotFound, Transient, Unreachable, Unsupported,
} from './errors';
import { CofferError } from '../errors';
import { LinkHealth, isStallError, resolveTimeouts, withDeadline } from './timeouts';
import type { ResolvedTimeouts, StorageTimeouts } from './timeouts';

/** SFTP status codes (draft-ietf-secsh-filexfer-02). */
const FX_EOF = 1;
const FX_NO_SUCH_FILE = 2;
const FX_PERMISSION_DENIED = 3;
const FX_OP_UNSUPPORTED = 8;

/** Bytes per SFTP read/write request and how many are in flight at once. */
const IO_CHUNK = 64 * 1024;
const IO_PARALLEL = 16;

export interface HostKeyPin {
  /** OpenSSH known_hosts text (plain or hashed host names). */
  readonly knownHosts?: string;
  /** `SHA256:<base64>` fingerprint as printed by `ssh-keygen -lf`. */
  readonly fingerprint?: string;
}

export interface SftpBackendOptions {
  readonly host: string;
  readonly port?: number;
  readonly username: string;
  /** Directory of the repository on the server (absolute, or relative to the login directory). */
  readonly path: string;
  readonly privateKey?: Buffer | string;
  readonly passphrase?: string;
  readonly password?: string;
  /** Host-key pinning is mandatory: connections to an unpinned or mismatching key are refused. */
  readonly hostKey: HostKeyPin;
  /** SSH handshake timeout; overrides timeouts.connectTimeoutMs (kept for compatibility). */
  readonly readyTimeoutMs?: number;
  /** Connect, idle (no SFTP reply while requests are pending), keepalive and dead-link cool-down; defaults in ./timeouts. */
  readonly timeouts?: StorageTimeouts;
}

/**
 * One SSH connection with its SFTP channel. Every request goes through
 * call(), which tracks what is pending: if requests are pending and no reply
 * has arrived for idleTimeoutMs (or SSH keepalives go unanswered, or the
 * connection drops), the session is killed: the SSH connection is destroyed
 * (no polite end(), which would wait for a dead peer), every pending call
 * rejects with Transient, and later calls on it reject at once. The backend
 * then opens a fresh session for the next call.
 */
class Session {
  private readonly pending = new Set<(err: Error) => void>();
  private lastReply = Date.now();
  private readonly timer: NodeJS.Timeout;
  private deadWith: Error | undefined;

  constructor(
    readonly client: SftpClient,
    readonly sftp: SFTPWrapper,
    private readonly idleMs: number,
    private readonly location: string,
    private readonly onReply: () => void,
    private readonly onDeath: (session: Session, silent: boolean) => void,
  ) {
    this.timer = setInterval(() => this.watch(), Math.max(50, Math.min(1000, Math.floor(idleMs / 4))));
    this.timer.unref();
  }

  get dead(): boolean {
    return this.deadWith !== undefined;
  }

  /** Calls a callback-style SFTP method as a promise, under the session's idle watchdog. */
  call<T>(fn: (cb: (err: Error | null | undefined, value: T) => void) => void): Promise<T> {
    if (this.deadWith !== undefined) return Promise.reject(this.deadWith);
    return new Promise<T>((resolve, reject) => {
      if (this.pending.size === 0) this.lastReply = Date.now(); // the idle clock runs only while work is pending
      const fail = (err: Error): void => {
        this.pending.delete(fail);
        reject(err);
      };
      this.pending.add(fail);
      try {
        fn((err, value) => {
          if (!this.pending.delete(fail)) return; // already failed by kill()
          this.lastReply = Date.now();
          if (this.deadWith === undefined) this.onReply();
          if (err) reject(err);
          else resolve(value);
        });
      } catch (err) {
        fail(err instanceof Error ? err : new Error(String(err)));
      }
    });
  }

  /** Tears the connection down and fails everything pending with `err`. Idempotent. */
  kill(err: Error, silent: boolean): void {
    if (this.deadWith !== undefined) return;
    this.deadWith = err;
    clearInterval(this.timer);
    for (const fail of [...this.pending]) fail(err);
    destroyClient(this.client);
    this.onDeath(this, silent);
  }

  private watch(): void {
    if (this.pending.size > 0 && Date.now() - this.lastReply > this.idleMs) {
      this.kill(new Transient(`no reply from the SFTP server of ${this.location} for ${Math.round(this.idleMs / 1000)} s: connection dropped`), true);
    }
  }
}

/** Destroys the SSH connection at once (ssh2-sftp-client's end() waits for the peer, which may never answer). */
function destroyClient(client: SftpClient): void {
  const ssh = (client as unknown as { client?: { destroy?: () => void } }).client;
  try {
    ssh?.destroy?.();
  } catch {
    // already gone
  }
}

/**
 * A repository in a directory on an SSH server, through ssh2-sftp-client.
 *
 * save(): the bytes are written to `.<name>.tmp-<random>` in the object's
 * directory (created with mkdir -p), fsync'ed (fsync@openssh.com when
 * offered) and then published with `hardlink@openssh.com`, which — like
 * link(2) — fails if the final name exists. So save-if-absent is atomic on the
 * server and no reader ever sees a partial object. Servers without the
 * hard-link extension get SSH_FXP_RENAME, whose protocol-v3 semantics are
 * "fail if the target exists" (OpenSSH implements it with link+unlink;
 * other servers may check-then-rename, which is racy between two writers).
 * posix-rename@openssh.com is deliberately not used: it replaces an existing
 * target, which would break save-if-absent.
 *
 * Host keys are pinned (known_hosts text or SHA256 fingerprint); there is no
 * "accept on first use". Authentication by key (optionally with passphrase)
 * or password. One SSH connection is shared by all calls and re-opened after
 * it drops.
 */
export class SftpBackend implements Backend {
  readonly location: string;
  private readonly root: string;
  private current: Promise<Session> | undefined;
  private readonly knownDirs = new Set<string>();
  /** Temp files of saves whose session died before they could be unlinked; removed after the next connect. */
  private readonly staleTemps = new Set<string>();
  private readonly timeouts: ResolvedTimeouts;
  private readonly link: LinkHealth;
  private hardlink = true;
  private closed = false;

  constructor(private readonly options: SftpBackendOptions) {
    this.root = posix.normalize(options.path).replace(/\/+$/, '') || '/';
    this.location = `sftp://${options.username}@${options.host}:${options.port ?? 22}${this.root.startsWith('/') ? '' : '/~/'}${this.root}`;
    this.timeouts = resolveTimeouts({
      ...options.timeouts,
      ...(options.readyTimeoutMs === undefined ? {} : { connectTimeoutMs: options.readyTimeoutMs }),
    });
    this.link = new LinkHealth(this.timeouts.deadLinkCooldownMs, this.location);
  }

  get capabilities(): BackendCapabilities {
    return { atomicCreate: this.hardlink, retention: false };
  }

  /** Connects (verifying the host key and credentials) and checks the root is reachable. */
  async open(): Promise<this> {
    await this.session();
    return this;
  }

  async save(name: string, data: Uint8Array, options: SaveOptions = {}): Promise<void> {
    checkName(name);
    if (options.retainUntil !== undefined) throw new Unsupported('SFTP storage cannot retention-lock objects');
    throwIfAborted(options.signal);
    const s = await this.session();
    const path = this.pathOf(name);
    const dir = posix.dirname(path);
    const temp = posix.join(dir, `.${posix.basename(path)}.tmp-${randomSuffix()}`);
    let published = false;
    try {
      await this.mkdirs(s, dir);
      // Published (hard-linked to its name) only after every byte was written and fsync'ed: a session torn
      // down midway leaves at most a hidden temp file, never a partial object.
      await writeFile(s, temp, asBuffer(data), options.signal);
      throwIfAborted(options.signal);
      await this.publish(s, temp, path, name);
      published = true;
    } catch (err) {
      throw this.mapError(err, name, options.signal);
    } finally {
      if (!published || this.hardlink) {
        await s.call<void>((cb) => s.sftp.unlink(temp, cb)).catch((err: unknown) => {
          if (statusCode(err) !== FX_NO_SUCH_FILE) this.staleTemps.add(temp); // session gone: sweep after reconnecting
        });
      }
    }
  }

  async load(name: string, range?: ByteRange, options: CallOptions = {}): Promise<Buffer> {
    checkName(name);
    throwIfAborted(options.signal);
    const s = await this.session();
    let handle: Buffer | undefined;
    try {
      handle = await s.call<Buffer>((cb) => s.sftp.open(this.pathOf(name), 'r', cb));
      const h = handle;
      const attrs = await s.call<Attributes>((cb) => s.sftp.fstat(h, cb));
      if ((attrs.mode & 0o170000) !== 0o100000) throw new NotFound(`object ${name} not found`);
      const { start, end } = resolveRange(name, attrs.size, range);
      return await readRange(s, h, start, end, options.signal);
    } catch (err) {
      throw this.mapError(err, name, options.signal);
    } finally {
      if (handle !== undefined) {
        const h = handle;
        await s.call<void>((cb) => s.sftp.close(h, cb)).catch(() => undefined);
      }
    }
  }

  async stat(name: string, options: CallOptions = {}): Promise<ObjectInfo> {
    checkName(name);
    throwIfAborted(options.signal);
    const s = await this.session();
    try {
      const attrs = await s.call<Attributes>((cb) => s.sftp.stat(this.pathOf(name), cb));
      if ((attrs.mode & 0o170000) !== 0o100000) throw new NotFound(`object ${name} not found`);
      return { name, size: attrs.size };
    } catch (err) {
      throw this.mapError(err, name, options.signal);
    }
  }

  async *list(prefix: string, options: CallOptions = {}): AsyncIterable<ObjectInfo> {
    checkPrefix(prefix);
    const s = await this.session();
    const slash = prefix.lastIndexOf('/');
    yield* this.walk(s, slash < 0 ? '' : prefix.slice(0, slash), prefix, options.signal);
  }

  async remove(name: string, options: CallOptions = {}): Promise<void> {
    checkName(name);
    throwIfAborted(options.signal);
    const s = await this.session();
    try {
      await s.call<void>((cb) => s.sftp.unlink(this.pathOf(name), cb));
    } catch (err) {
      if (statusCode(err) === FX_NO_SUCH_FILE) return;
      throw this.mapError(err, name, options.signal);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    const current = this.current;
    this.current = undefined;
    const s = await current?.catch(() => undefined);
    if (s === undefined || s.dead) return;
    // Polite end (flushes, closes the channel) when the server answers; destroyed if it does not.
    const client = s.client;
    await withDeadline(client.end(), 2000, () => new Error('end timed out')).catch(() => undefined);
    s.kill(new BadLocation('backend is closed'), false);
  }

  private async *walk(s: Session, dirRel: string, prefix: string, signal: AbortSignal | undefined): AsyncGenerator<ObjectInfo> {
    throwIfAborted(signal);
    const dirPath = dirRel === '' ? this.root : posix.join(this.root, dirRel);
    let entries;
    try {
      entries = await s.call<Array<{ filename: string; attrs: Attributes }>>((cb) => s.sftp.readdir(dirPath, cb));
    } catch (err) {
      if (statusCode(err) === FX_NO_SUCH_FILE) return;
      throw this.mapError(err, dirRel, signal);
    }
    const subdirs: string[] = [];
    for (const entry of entries) {
      if (entry.filename.startsWith('.')) continue; // temporary files, '.', '..'
      const rel = dirRel === '' ? entry.filename : `${dirRel}/${entry.filename}`;
      const type = entry.attrs.mode & 0o170000;
      if (type === 0o040000) {
        if (`${rel}/`.startsWith(prefix) || prefix.startsWith(`${rel}/`)) subdirs.push(rel);
      } else if (type === 0o100000 && rel.startsWith(prefix)) {
        yield { name: rel, size: entry.attrs.size };
      }
    }
    for (const sub of subdirs) yield* this.walk(s, sub, prefix, signal);
  }

  private pathOf(name: string): string {
    return posix.join(this.root, name);
  }

  /** mkdir -p below the root, remembering directories known to exist. */
  private async mkdirs(s: Session, dir: string): Promise<void> {
    if (this.knownDirs.has(dir)) return;
    const parts: string[] = [];
    let current = dir;
    // Walk up until an existing directory is found, then create downwards.
    while (!this.knownDirs.has(current)) {
      const exists = await s.call<Attributes>((cb) => s.sftp.stat(current, cb)).then(() => true, (err: unknown) => {
        if (statusCode(err) === FX_NO_SUCH_FILE) return false;
        throw err;
      });
      if (exists) break;
      parts.unshift(current);
      const parent = posix.dirname(current);
      if (parent === current) break;
      current = parent;
    }
    for (const part of parts) {
      await s.call<void>((cb) => s.sftp.mkdir(part, cb)).catch(async (err: unknown) => {
        // Another writer may have created it meanwhile.
        const attrs = await s.call<Attributes>((cb) => s.sftp.stat(part, cb)).catch(() => undefined);
        if (attrs === undefined || (attrs.mode & 0o170000) !== 0o040000) throw err;
      });
    }
    this.knownDirs.add(dir);
  }

  private async publish(s: Session, temp: string, path: string, name: string): Promise<void> {
    if (this.hardlink) {
      try {
        await s.call<void>((cb) => s.sftp.ext_openssh_hardlink(temp, path, cb));
        return;
      } catch (err) {
        if (s.dead) throw err; // the session died: whether the link landed is unknown; the caller retries
        if (isUnsupportedExtension(err)) {
          this.hardlink = false;
        } else {
          // SFTP reports EEXIST as a generic failure: tell "taken" from other errors by looking.
          if (await this.existsPath(s, path)) throw new AlreadyExists(`object ${name} already exists`, { cause: err });
          throw err;
        }
      }
    }
    try {
      await s.call<void>((cb) => s.sftp.rename(temp, path, cb));
    } catch (err) {
      if (s.dead) throw err;
      if (await this.existsPath(s, path)) throw new AlreadyExists(`object ${name} already exists`, { cause: err });
      throw err;
    }
  }

  private async existsPath(s: Session, path: string): Promise<boolean> {
    return s.call<Attributes>((cb) => s.sftp.stat(path, cb)).then(() => true, () => false);
  }

  /**
   * The shared SFTP session, connecting on demand. A dead session (dropped,
   * or killed by the idle watchdog) is replaced by a fresh connection on the
   * next call; while the link is known to be silent, calls fail fast instead.
   */
  private async session(): Promise<Session> {
    if (this.closed) throw new BadLocation('backend is closed');
    const existing = this.current;
    if (existing !== undefined) {
      const s = await existing.catch(() => undefined);
      if (s !== undefined && !s.dead) return s;
      if (this.current === existing) this.current = undefined;
      if (this.current !== undefined) return this.session();
    }
    this.link.check();
    const attempt = this.connect();
    this.current = attempt;
    attempt.catch(() => {
      if (this.current === attempt) this.current = undefined;
    });
    const s = await attempt;
    if (this.staleTemps.size > 0) void this.sweepTemps(s);
    return s;
  }

  /** Best effort: removes temp files that a dead session could not unlink. */
  private async sweepTemps(s: Session): Promise<void> {
    for (const temp of [...this.staleTemps]) {
      if (s.dead) return;
      try {
        await s.call<void>((cb) => s.sftp.unlink(temp, cb));
        this.staleTemps.delete(temp);
      } catch (err) {
        if (statusCode(err) === FX_NO_SUCH_FILE) this.staleTemps.delete(temp);
      }
    }
  }

  private async connect(): Promise<Session> {
    const { host, port = 22 } = this.options;
    const { connectTimeoutMs, idleTimeoutMs, keepaliveIntervalMs, keepaliveCountMax } = this.timeouts;
    // Quiet global handlers: the library's defaults print every drop to the console; we handle them below.
    const client = new SftpClient('coffer', { error: () => undefined, end: () => undefined, close: () => undefined });
    let hostKeyRejected = false;
    let lastError: Error | undefined;
    let session: Session | undefined;
    // ssh2 emits 'error' (keepalive timeout, resets) before 'close'; without a listener it would crash the process.
    client.on('error', (err: Error) => {
      lastError = err;
    });
    const onGone = (): void => {
      const cause = lastError;
      session?.kill(new Transient(`the SSH connection to ${this.location} was lost${cause === undefined ? '' : `: ${describe(cause)}`}`, { cause }), cause !== undefined && isStallError(cause));
    };
    client.on('close', onGone);
    client.on('end', onGone);
    const establish = async (): Promise<Session> => {
      const sftp = await client.connect({
        host, port, username: this.options.username,
        privateKey: this.options.privateKey, passphrase: this.options.passphrase, password: this.options.password,
        readyTimeout: connectTimeoutMs,
        keepaliveInterval: keepaliveIntervalMs,
        keepaliveCountMax,
        hostVerifier: (key: Buffer): boolean => {
          const ok = hostKeyMatches(key, host, port, this.options.hostKey);
          hostKeyRejected = !ok;
          return ok;
        },
      });
      const s = new Session(client, sftp, idleTimeoutMs, this.location, () => this.link.markAlive(), (dead, silent) => {
        if (silent) this.link.markSilent();
        void this.current?.then((c) => {
          if (c === dead && this.current !== undefined) this.current = undefined;
        }, () => undefined);
      });
      session = s;
      try {
        const attrs = await s.call<Attributes>((cb) => sftp.stat(this.root, cb));
        if ((attrs.mode & 0o170000) !== 0o040000) throw new BadLocation(`${this.location} is not a directory`);
      } catch (err) {
        if (statusCode(err) !== FX_NO_SUCH_FILE) throw err; // a missing root is created by the first save
      }
      return s;
    };
    let timedOut = false;
    try {
      // The whole connect (TCP, handshake, auth, SFTP subsystem, root check) is bounded, not only the handshake.
      const s = await withDeadline(establish(), connectTimeoutMs + 2000, () => {
        timedOut = true;
        return new Transient(`connecting to the SSH server of ${this.location} timed out after ${Math.round(connectTimeoutMs / 1000)} s`);
      });
      this.link.markAlive();
      return s;
    } catch (err) {
      session?.kill(err instanceof Error ? err : new Error(String(err)), false);
      destroyClient(client);
      if (timedOut || isStallError(err)) this.link.markSilent();
      if (err instanceof CofferError) throw err;
      if (hostKeyRejected) {
        throw new AuthFailed(`host key of ${host}:${port} does not match the pinned key`, {
          hint: 'check COFFER_SFTP_KNOWN_HOSTS / the fingerprint; the server may have been replaced', cause: err,
        });
      }
      throw mapSftpError(err, 'connection', this.location);
    }
  }

  private mapError(err: unknown, name: string, signal: AbortSignal | undefined): unknown {
    if (signal?.aborted === true) return abortReason(signal);
    if (err instanceof CofferError) return err;
    return mapSftpError(err, name === '' ? 'repository root' : `object ${name}`, this.location);
  }
}

function statusCode(err: unknown): number | undefined {
  const code = (err as { code?: unknown } | undefined)?.code;
  return typeof code === 'number' ? code : undefined;
}

function isUnsupportedExtension(err: unknown): boolean {
  return statusCode(err) === FX_OP_UNSUPPORTED || (err instanceof Error && /does not support/i.test(err.message));
}

async function writeFile(s: Session, path: string, data: Buffer, signal: AbortSignal | undefined): Promise<void> {
  // 'wx' = O_CREAT|O_EXCL: never write through an existing (e.g. planted) file.
  const handle = await s.call<Buffer>((cb) => s.sftp.open(path, 'wx', { mode: 0o644 }, cb));
  try {
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < data.length) {
        throwIfAborted(signal);
        const offset = next;
        const length = Math.min(IO_CHUNK, data.length - offset);
        next += length;
        await s.call<void>((cb) => s.sftp.write(handle, data, offset, length, offset, cb));
      }
    };
    await Promise.all(Array.from({ length: IO_PARALLEL }, worker));
    try {
      await s.call<void>((cb) => s.sftp.ext_openssh_fsync(handle, cb));
    } catch (err) {
      if (!isUnsupportedExtension(err)) throw err;
    }
  } finally {
    await s.call<void>((cb) => s.sftp.close(handle, cb)).catch(() => undefined);
  }
}

async function readRange(s: Session, handle: Buffer, start: number, end: number, signal: AbortSignal | undefined): Promise<Buffer> {
  const out = Buffer.allocUnsafe(end - start);
  let next = 0;
  let eof = out.length;
  const worker = async (): Promise<void> => {
    while (next < out.length) {
      throwIfAborted(signal);
      const offset = next;
      const length = Math.min(IO_CHUNK, out.length - offset);
      next += length;
      let done = 0;
      while (done < length) {
        const n = await s.call<number>((cb) => s.sftp.read(handle, out, offset + done, length - done, start + offset + done, cb))
          .catch((err: unknown) => {
            if (statusCode(err) === FX_EOF) return 0;
            throw err;
          });
        if (n === 0) {
          eof = Math.min(eof, offset + done); // file shrank underneath us
          break;
        }
        done += n;
      }
    }
  };
  await Promise.all(Array.from({ length: IO_PARALLEL }, worker));
  return eof === out.length ? out : out.subarray(0, eof);
}

/** True if `key` (the raw SSH host key blob) is pinned for host:port. */
export function hostKeyMatches(key: Buffer, host: string, port: number, pin: HostKeyPin): boolean {
  if (pin.fingerprint !== undefined) {
    const fp = `SHA256:${createHash('sha256').update(key).digest('base64').replace(/=+$/, '')}`;
    if (fp === pin.fingerprint.trim().replace(/=+$/, '')) return true;
  }
  if (pin.knownHosts === undefined) return false;
  const names = port === 22 ? [host] : [`[${host}]:${port}`];
  for (const rawLine of pin.knownHosts.split('\n')) {
    const line = rawLine.trim();
    if (line === '' || line.startsWith('#')) continue;
    const fields = line.split(/\s+/);
    if (fields[0].startsWith('@')) {
      if (fields[0] === '@revoked') continue; // a revoked key is never accepted
      fields.shift(); // @cert-authority entries are not supported; treat as plain
    }
    if (fields.length < 3) continue;
    const [hostsField, , keyB64] = fields;
    if (!hostsFieldMatches(hostsField, names)) continue;
    if (Buffer.from(keyB64, 'base64').equals(key)) return true;
  }
  return false;
}

function hostsFieldMatches(field: string, names: readonly string[]): boolean {
  if (field.startsWith('|1|')) {
    const [, , salt, hash] = field.split('|');
    return names.some((name) => createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest('base64') === hash);
  }
  return field.split(',').some((pattern) => !pattern.startsWith('!') && names.includes(pattern));
}

/** Maps ssh2 / SFTP errors onto the storage sentinels. */
export function mapSftpError(err: unknown, what: string, location: string): CofferError {
  const opts = { cause: err };
  const status = statusCode(err);
  const code = (err as { code?: unknown } | undefined)?.code;
  const detail = describe(err);
  if (status === FX_NO_SUCH_FILE) return new NotFound(`${what} not found`, opts);
  if (status === FX_PERMISSION_DENIED) return new AuthFailed(`permission denied for ${what} on ${location}`, { ...opts, hint: 'check the directory permissions on the server' });
  if (status === FX_OP_UNSUPPORTED) return new Unsupported(`the SFTP server of ${location} does not support this operation`, opts);
  if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'EHOSTUNREACH' || code === 'ENETUNREACH'
    || /refused connection|Address lookup failed|Timed out while waiting for handshake/i.test(detail)) {
    return new Unreachable(`cannot reach the SSH server of ${location}`, opts);
  }
  if (/authentication methods failed|authentication failed|permission denied \(/i.test(detail)) {
    return new AuthFailed(`SSH authentication to ${location} failed`, { ...opts, hint: 'check COFFER_SFTP_KEY_FILE / COFFER_SFTP_PASSWORD and the user name' });
  }
  if (/host key|verification failed|Host denied/i.test(detail)) {
    return new AuthFailed(`host key of ${location} was rejected`, { ...opts, hint: 'check the pinned host key' });
  }
  if (/encrypted private key|passphrase|Cannot parse privateKey/i.test(detail)) {
    return new AuthFailed(`the SSH private key for ${location} could not be used`, { ...opts, hint: 'check the key file and COFFER_SFTP_KEY_PASSPHRASE' });
  }
  return new Transient(`SFTP error on ${what}: ${detail}`, opts);
}
