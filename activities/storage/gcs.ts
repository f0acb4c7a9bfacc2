import { Storage } from '@google-cloud/storage';
import type { Bucket, StorageOptions } from '@google-cloud/storage';
import type { Backend, BackendCapabilities, ByteRange, CallOptions, ObjectInfo, SaveOptions } from './backend';
import {
  abortReason, asBuffer, checkName, checkPrefix, checkRange, describe, normalisePrefix, randomSuffix, emptyRead, throwIfAborted,
} from './common';
import {
  AlreadyExists, AuthFailed, BadLocation, InvalidRange, NotFound, RetentionLocked, Transient, Unreachable, Unsupported,
} from './errors';
import { crc32cBase64 } from './crc32c';
import { readAll, writeAll } from './streams';
import { CofferError } from '../errors';

export interface GcsBackendOptions {
  readonly bucket: string;
  readonly prefix?: string;
  /** Custom API endpoint (fake-gcs-server); requests then go unauthenticated unless the server needs auth. */
  readonly endpoint?: string;
  readonly projectId?: string;
  /** Service-account JSON key file; otherwise Application Default Credentials. */
  readonly keyFilename?: string;
  /** Objects above this size use a resumable upload session (default 256 MiB; below it one multipart request, which a cancelled upload can never commit). */
  readonly resumableThreshold?: number;
  /** Page size of object listings (default 1000). */
  readonly pageSize?: number;
}

/**
 * Google Cloud Storage through @google-cloud/storage.
 *
 * save(): one upload with precondition `ifGenerationMatch: 0` ("only if no
 * live object has this name"), decided atomically by the server (412 →
 * AlreadyExists). The client computes CRC32C while uploading and compares it
 * with the server's; small objects use a single multipart request, large
 * ones a resumable session. An upload that does not complete never creates a
 * visible object. The SDK's own retries are off: retries belong to the
 * RetryingBackend wrapper.
 *
 * Retention: unsupported here (object retention on GCS needs a bucket with
 * `objectRetention` enabled, which the emulator lacks); save() with
 * retainUntil throws Unsupported. Bucket-level retention policies still apply
 * on the server, and a refused delete maps to RetentionLocked.
 */
export class GcsBackend implements Backend {
  readonly location: string;
  readonly capabilities: BackendCapabilities = { atomicCreate: true, retention: false };
  private readonly storage: Storage;
  private readonly bucket: Bucket;
  private readonly root: string;
  private readonly resumableThreshold: number;
  private readonly pageSize: number;
  private readonly bucketName: string;
  private readonly apiBase: string;
  private readonly emulator: boolean;

  constructor(options: GcsBackendOptions) {
    this.root = normalisePrefix(options.prefix ?? '');
    this.location = `gs://${options.bucket}/${this.root}`;
    this.resumableThreshold = options.resumableThreshold ?? 256 * 1024 * 1024;
    this.pageSize = options.pageSize ?? 1000;
    this.bucketName = options.bucket;
    this.emulator = options.endpoint !== undefined && options.keyFilename === undefined;
    this.apiBase = (options.endpoint ?? 'https://storage.googleapis.com').replace(/\/+$/, '');
    const storageOptions: StorageOptions = {
      projectId: options.projectId,
      keyFilename: options.keyFilename,
      retryOptions: { autoRetry: false },
      ...(options.endpoint === undefined ? {} : { apiEndpoint: options.endpoint }),
    };
    this.storage = new Storage(storageOptions);
    this.bucket = this.storage.bucket(options.bucket);
  }

  /** Checks that the bucket exists and the credentials may read it. */
  async open(): Promise<this> {
    try {
      await this.bucket.getMetadata();
    } catch (err) {
      throw mapGcsError(err, 'bucket', 'open', this.location);
    }
    return this;
  }

  async save(name: string, data: Uint8Array, options: SaveOptions = {}): Promise<void> {
    checkName(name);
    if (options.retainUntil !== undefined) {
      throw new Unsupported(`${this.location} cannot retention-lock objects`, { hint: 'use an S3 bucket with Object Lock for immutable backups' });
    }
    throwIfAborted(options.signal);
    const body = asBuffer(data);
    try {
      if (body.length > this.resumableThreshold) {
        await this.saveResumable(name, body, options.signal);
      } else {
        await this.saveMultipart(name, body, options.signal);
      }
    } catch (err) {
      throw this.mapError(err, name, options.signal, 'save');
    }
  }

  /**
   * One `uploadType=multipart` request carrying the object's CRC32C in its
   * metadata (the server checks it) with `ifGenerationMatch=0`. Sent with
   * fetch so an AbortSignal really cuts the request: a truncated multipart
   * body is never committed.
   */
  private async saveMultipart(name: string, body: Buffer, signal: AbortSignal | undefined): Promise<void> {
    const checksum = crc32cBase64(body);
    const boundary = `coffer-${randomSuffix(12)}`;
    const meta = JSON.stringify({ name: this.root + name, crc32c: checksum, contentType: 'application/octet-stream' });
    const payload = Buffer.concat([
      Buffer.from(`--${boundary}\r\nContent-Type: application/json; charset=UTF-8\r\n\r\n${meta}\r\n--${boundary}\r\nContent-Type: application/octet-stream\r\n\r\n`),
      body,
      Buffer.from(`\r\n--${boundary}--\r\n`),
    ]);
    const url = `${this.apiBase}/upload/storage/v1/b/${encodeURIComponent(this.bucketName)}/o?uploadType=multipart&ifGenerationMatch=0`;
    const headers: Record<string, string> = { 'Content-Type': `multipart/related; boundary=${boundary}` };
    if (!this.emulator) Object.assign(headers, await this.storage.authClient.getRequestHeaders());
    const res = await fetch(url, { method: 'POST', body: payload, headers, signal });
    const text = await res.text();
    if (!res.ok) throw Object.assign(new Error(`HTTP ${res.status}: ${text.slice(0, 200)}`), { code: res.status });
    const stored = JSON.parse(text) as { crc32c?: string; generation?: string };
    if (stored.crc32c !== undefined && stored.crc32c !== checksum) {
      // Corrupted in transit and not caught by the server: remove exactly that generation.
      await this.bucket.file(this.root + name, { generation: stored.generation }).delete().catch(() => undefined);
      throw new Transient(`upload of ${name} failed its CRC32C check`);
    }
  }

  /** Very large objects: the SDK's resumable session (cancellation is best effort). */
  private async saveResumable(name: string, body: Buffer, signal: AbortSignal | undefined): Promise<void> {
    const stream = this.bucket.file(this.root + name).createWriteStream({
      resumable: true,
      validation: 'crc32c',
      preconditionOpts: { ifGenerationMatch: 0 },
      contentType: 'application/octet-stream',
    });
    await writeAll(stream, body, signal);
  }

  async load(name: string, range?: ByteRange, options: CallOptions = {}): Promise<Buffer> {
    checkName(name);
    checkRange(range);
    throwIfAborted(options.signal);
    if (range !== undefined && range.length === 0) return emptyRead(name, range, async () => (await this.stat(name, options)).size);
    const file = this.bucket.file(this.root + name);
    try {
      if (range === undefined) {
        // Validate the whole object against the CRC32C the server reports (x-goog-hash).
        const stream = file.createReadStream({ validation: false });
        let reported: string | undefined;
        stream.on('response', (res: { headers?: unknown }) => { reported = googHashCrc(res.headers); });
        const data = await readAll(stream, options.signal);
        if (reported !== undefined && reported !== crc32cBase64(data)) {
          throw new Transient(`download of ${name} failed its CRC32C check`);
        }
        return data;
      }
      const stream = file.createReadStream({
          start: range.offset,
          ...(range.length === undefined ? {} : { end: range.offset + range.length - 1 }),
          validation: false,
        });
      return await readAll(stream, options.signal);
    } catch (err) {
      if (range !== undefined && statusOf(err) === 416) {
        // 416 also for an offset exactly at the end; the contract returns empty there.
        return await emptyRead(name, range, async () => (await this.stat(name, options)).size);
      }
      throw this.mapError(err, name, options.signal, 'load');
    }
  }

  async stat(name: string, options: CallOptions = {}): Promise<ObjectInfo> {
    checkName(name);
    throwIfAborted(options.signal);
    try {
      const [meta] = await this.bucket.file(this.root + name).getMetadata();
      return { name, size: Number(meta.size ?? 0) };
    } catch (err) {
      throw this.mapError(err, name, options.signal, 'stat');
    }
  }

  async *list(prefix: string, options: CallOptions = {}): AsyncIterable<ObjectInfo> {
    checkPrefix(prefix);
    let pageToken: string | undefined;
    do {
      throwIfAborted(options.signal);
      let files;
      let next: { pageToken?: string } | null | undefined;
      try {
        [files, next] = await this.bucket.getFiles({
          prefix: this.root + prefix, maxResults: this.pageSize, autoPaginate: false, pageToken,
        }) as unknown as [Array<{ name: string; metadata: { size?: string | number } }>, { pageToken?: string } | null];
      } catch (err) {
        throw this.mapError(err, prefix, options.signal, 'list');
      }
      for (const file of files) {
        if (file.name.endsWith('/')) continue;
        yield { name: file.name.slice(this.root.length), size: Number(file.metadata.size ?? 0) };
      }
      pageToken = next?.pageToken;
    } while (pageToken !== undefined && pageToken !== '');
  }

  async remove(name: string, options: CallOptions = {}): Promise<void> {
    checkName(name);
    throwIfAborted(options.signal);
    try {
      await this.bucket.file(this.root + name).delete({ ignoreNotFound: true });
    } catch (err) {
      const mapped = this.mapError(err, name, options.signal, 'remove');
      if (mapped instanceof NotFound) return;
      throw mapped;
    }
  }

  async close(): Promise<void> {
    // The SDK keeps no persistent connections that need closing.
  }

  private mapError(err: unknown, name: string, signal: AbortSignal | undefined, op: string): unknown {
    if (signal?.aborted === true) return abortReason(signal);
    if (err instanceof CofferError) return err;
    return mapGcsError(err, `object ${name}`, op, this.location);
  }
}

/** The crc32c value of an `x-goog-hash: crc32c=…,md5=…` header, from a plain or Headers object. */
function googHashCrc(headers: unknown): string | undefined {
  let value: unknown;
  if (headers instanceof Headers) value = headers.get('x-goog-hash');
  else if (typeof headers === 'object' && headers !== null) value = (headers as Record<string, unknown>)['x-goog-hash'];
  const text = Array.isArray(value) ? value.join(',') : typeof value === 'string' ? value : '';
  return /crc32c=([A-Za-z0-9+/=]+)/.exec(text)?.[1];
}

function statusOf(err: unknown): number | undefined {
  const code = (err as { code?: unknown } | undefined)?.code;
  if (typeof code === 'number') return code;
  const status = (err as { response?: { status?: unknown } } | undefined)?.response?.status;
  return typeof status === 'number' ? status : undefined;
}

const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);
const TRANSIENT = new Set(['ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ESOCKETTIMEDOUT', 'ECONNABORTED', 'ERR_STREAM_PREMATURE_CLOSE']);

/** Maps a GCS SDK (ApiError / gaxios / network) error onto the storage sentinels. */
export function mapGcsError(err: unknown, what: string, op: string, location: string): CofferError {
  const status = statusOf(err);
  const code = (err as { code?: unknown } | undefined)?.code;
  const detail = describe(err);
  const opts = { cause: err };
  if (typeof code === 'string' && UNREACHABLE.has(code)) return new Unreachable(`cannot reach the GCS endpoint of ${location}: ${code}`, opts);
  if (typeof code === 'string' && TRANSIENT.has(code)) return new Transient(`connection to GCS failed on ${what}: ${code}`, opts);
  if (/FAILED_TO_CONNECT|ECONNREFUSED/.test(detail)) return new Unreachable(`cannot reach the GCS endpoint of ${location}`, opts);
  if (typeof code === 'string' && code === 'CONTENT_DOWNLOAD_MISMATCH') return new Transient(`download of ${what} failed its CRC32C check`, opts);
  if (/FILE_NO_UPLOAD|crc32c|checksum|mismatch/i.test(detail) && op === 'save') return new Transient(`upload of ${what} failed its CRC32C check`, opts);
  switch (status) {
    case 404:
      if (op === 'open' || /bucket/i.test(detail)) return new BadLocation(`bucket of ${location} does not exist`, { ...opts, hint: 'create the bucket or fix the repository URL' });
      return new NotFound(`${what} not found`, opts);
    case 412:
      return new AlreadyExists(`${what} already exists`, opts);
    case 416:
      return new InvalidRange(`invalid range for ${what}`, opts);
    case 401:
      return new AuthFailed(`access to ${location} denied (401)`, { ...opts, hint: 'check GOOGLE_APPLICATION_CREDENTIALS or the service account' });
    case 403:
      if (op === 'remove' && /retention|hold/i.test(detail)) return new RetentionLocked(`${what} is under a retention policy or hold`, opts);
      return new AuthFailed(`access to ${location} denied (403)`, { ...opts, hint: 'check the service account\'s permissions on the bucket' });
    case 408:
    case 429:
      return new Transient(`GCS throttled or timed out on ${what} (${status})`, opts);
    default:
      break;
  }
  if (status !== undefined && status >= 500) return new Transient(`GCS server error on ${what} (${status})`, opts);
  if (status !== undefined && status >= 400) return new BadLocation(`GCS refused ${op} of ${what} (${status}): ${detail}`, opts);
  if (/Could not load the default credentials|invalid_grant|unauthorized_client/i.test(detail)) {
    return new AuthFailed(`no usable Google credentials for ${location}`, { ...opts, hint: 'set GOOGLE_APPLICATION_CREDENTIALS to a service-account key file' });
  }
  return new Transient(`GCS ${op} of ${what} failed: ${detail}`, opts);
}
