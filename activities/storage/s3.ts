import { createHash } from 'node:crypto';
import {
  AbortMultipartUploadCommand, CompleteMultipartUploadCommand, CreateMultipartUploadCommand, DeleteObjectCommand,
  GetBucketVersioningCommand, GetObjectCommand, GetObjectLockConfigurationCommand, HeadBucketCommand, HeadObjectCommand,
  ListObjectsV2Command, PutObjectCommand, S3Client, S3ServiceException, UploadPartCommand,
} from '@aws-sdk/client-s3';
import type { CompletedPart } from '@aws-sdk/client-s3';
import type { Backend, BackendCapabilities, ByteRange, CallOptions, ObjectInfo, SaveOptions } from './backend';
import {
  abortReason, asBuffer, checkName, checkPrefix, checkRange, describe, normalisePrefix, emptyRead, throwIfAborted,
} from './common';
import {
  AlreadyExists, AuthFailed, BadLocation, InvalidRange, NotFound, RetentionLocked, Transient, Unreachable, Unsupported,
} from './errors';
import { CofferError } from '../errors';
import { LinkHealth, isStallError, resolveTimeouts } from './timeouts';
import type { ResolvedTimeouts, StorageTimeouts } from './timeouts';

export interface S3Credentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
}

export interface S3BackendOptions {
  readonly bucket: string;
  /** Key prefix of the repository inside the bucket ('' for the bucket root). */
  readonly prefix?: string;
  readonly region?: string;
  /** Custom endpoint (MinIO, Ceph, …); implies path-style addressing unless overridden. */
  readonly endpoint?: string;
  readonly forcePathStyle?: boolean;
  /** Explicit credentials; otherwise the SDK's default provider chain. */
  readonly credentials?: S3Credentials;
  /** Objects larger than this go up as multipart uploads (default 16 MiB). */
  readonly multipartThreshold?: number;
  /** Part size of multipart uploads (default 8 MiB; S3 minimum 5 MiB). */
  readonly partSize?: number;
  /** Parts uploaded in parallel (default 4). */
  readonly partConcurrency?: number;
  /** ListObjectsV2 page size (default 1000; tests use small pages to prove pagination). */
  readonly pageSize?: number;
  /** Object Lock mode used with SaveOptions.retainUntil (default COMPLIANCE). */
  readonly lockMode?: 'COMPLIANCE' | 'GOVERNANCE';
  /**
   * Set false for servers that ignore `If-None-Match: *` (old MinIO, Ceph < Squid, Swift):
   * save() then checks with HEAD before writing, which is racy (capabilities say so).
   */
  readonly conditionalWrites?: boolean;
  /** SDK-level attempts (default 1: retries belong to the RetryingBackend wrapper). */
  readonly maxAttempts?: number;
  /**
   * Connect timeout, socket idle timeout (no byte either way, including while a
   * response body streams) and the dead-link cool-down; defaults in ./timeouts.
   */
  readonly timeouts?: StorageTimeouts;
}

/**
 * Amazon S3 and compatible servers (MinIO) through @aws-sdk/client-s3 v3.
 *
 * save(): PutObject (or a multipart upload above the threshold) with
 * `If-None-Match: *`, so the server refuses an existing key atomically (412 →
 * AlreadyExists); Content-MD5 on every request so corrupted uploads are
 * rejected by the server. Multipart: `If-None-Match: *` on
 * CompleteMultipartUpload; an incomplete multipart upload is never visible
 * and is aborted on failure or cancellation. A single PutObject is atomic.
 *
 * Retention: with SaveOptions.retainUntil, objects get ObjectLockMode +
 * RetainUntilDate (bucket needs Object Lock). On a versioned bucket remove()
 * deletes the current version by id (a plain delete would only hide it
 * behind a delete marker), so a locked object yields RetentionLocked.
 */
export class S3Backend implements Backend {
  readonly location: string;
  private readonly client: S3Client;
  private readonly bucket: string;
  private readonly root: string;
  private readonly threshold: number;
  private readonly partSize: number;
  private readonly partConcurrency: number;
  private readonly pageSize: number;
  private readonly conditional: boolean;
  private lockEnabled = false;
  private versioned = false;
  private readonly timeouts: ResolvedTimeouts;
  private readonly link: LinkHealth;

  constructor(private readonly options: S3BackendOptions) {
    this.bucket = options.bucket;
    this.root = normalisePrefix(options.prefix ?? '');
    this.location = `s3://${options.bucket}/${this.root}`;
    this.threshold = options.multipartThreshold ?? 16 * 1024 * 1024;
    this.partSize = Math.max(5 * 1024 * 1024, options.partSize ?? 8 * 1024 * 1024);
    this.partConcurrency = Math.max(1, options.partConcurrency ?? 4);
    this.pageSize = options.pageSize ?? 1000;
    this.conditional = options.conditionalWrites ?? true;
    this.timeouts = resolveTimeouts(options.timeouts);
    this.link = new LinkHealth(this.timeouts.deadLinkCooldownMs, this.location);
    this.client = new S3Client({
      region: options.region ?? 'us-east-1',
      endpoint: options.endpoint,
      forcePathStyle: options.forcePathStyle ?? options.endpoint !== undefined,
      credentials: options.credentials,
      // Streaming checksums (aws-chunked) break on servers without support; we send Content-MD5 ourselves.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      maxAttempts: options.maxAttempts ?? 1,
      // Without these a dead peer (no FIN, no RST) leaves a request pending forever. socketTimeout is the
      // idle timeout of the socket (send and receive, body included), so large transfers are not cut short.
      requestHandler: {
        connectionTimeout: this.timeouts.connectTimeoutMs,
        socketTimeout: this.timeouts.idleTimeoutMs,
      },
    });
    // Every request passes the link's circuit breaker: fail fast while the link is known to be silent,
    // open it when a request timed out for silence, close it on any answer from the server.
    this.client.middlewareStack.add((next) => async (args) => {
      this.link.check();
      const started = Date.now();
      try {
        const out = await next(args);
        this.link.markAlive();
        return out;
      } catch (err) {
        if (httpStatus(err) !== undefined) {
          this.link.markAlive();
          throw err;
        }
        // The handler's idle timeout destroys the request, and the resulting "socket hang up" (ECONNRESET,
        // which the SDK also names TimeoutError) can win the race against the timeout error itself:
        // a failure without an answer after at least the idle timeout is silence, not a reset.
        if (isStallError(err) || (err instanceof Error && err.name === 'TimeoutError' && Date.now() - started >= this.timeouts.idleTimeoutMs)) {
          this.link.markSilent();
          throw new Transient(`no progress on the connection to ${this.location} for ${Math.round(this.timeouts.idleTimeoutMs / 1000)} s`, { cause: err });
        }
        throw err;
      }
    }, { step: 'finalizeRequest', priority: 'low', name: 'cofferLinkHealth' });
  }

  get capabilities(): BackendCapabilities {
    return { atomicCreate: this.conditional, retention: this.lockEnabled };
  }

  /** Checks the bucket is reachable and learns whether it has Object Lock / versioning. */
  async open(options: CallOptions = {}): Promise<this> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }), { abortSignal: options.signal });
    } catch (err) {
      throw this.mapError(err, '', options.signal, 'bucket');
    }
    try {
      const lock = await this.client.send(new GetObjectLockConfigurationCommand({ Bucket: this.bucket }), { abortSignal: options.signal });
      this.lockEnabled = lock.ObjectLockConfiguration?.ObjectLockEnabled === 'Enabled';
    } catch {
      this.lockEnabled = false; // no lock configuration, or not allowed to read it
    }
    this.versioned = this.lockEnabled;
    if (!this.versioned) {
      try {
        const versioning = await this.client.send(new GetBucketVersioningCommand({ Bucket: this.bucket }), { abortSignal: options.signal });
        this.versioned = versioning.Status === 'Enabled' || versioning.Status === 'Suspended';
      } catch {
        this.versioned = false;
      }
    }
    return this;
  }

  async save(name: string, data: Uint8Array, options: SaveOptions = {}): Promise<void> {
    checkName(name);
    throwIfAborted(options.signal);
    if (options.retainUntil !== undefined && !this.lockEnabled) {
      throw new Unsupported(`bucket ${this.bucket} has no Object Lock: cannot retain ${name}`, {
        hint: 'create the bucket with Object Lock enabled to use retention',
      });
    }
    const body = asBuffer(data);
    const key = this.key(name);
    const lock = options.retainUntil === undefined ? {} : {
      ObjectLockMode: (this.options.lockMode ?? 'COMPLIANCE'),
      ObjectLockRetainUntilDate: options.retainUntil,
    };
    try {
      if (!this.conditional && await this.exists(key, options.signal)) {
        throw new AlreadyExists(`object ${name} already exists`);
      }
      if (body.length <= this.threshold) {
        await this.client.send(new PutObjectCommand({
          Bucket: this.bucket, Key: key, Body: body, ContentLength: body.length, ContentMD5: md5(body),
          ...(this.conditional ? { IfNoneMatch: '*' } : {}), ...lock,
        }), { abortSignal: options.signal });
      } else {
        await this.saveMultipart(key, body, lock, options.signal);
      }
    } catch (err) {
      throw this.mapError(err, name, options.signal, 'save');
    }
  }

  async load(name: string, range?: ByteRange, options: CallOptions = {}): Promise<Buffer> {
    checkName(name);
    checkRange(range);
    throwIfAborted(options.signal);
    if (range !== undefined && range.length === 0) return emptyRead(name, range, async () => (await this.stat(name, options)).size);
    const header = range === undefined
      ? undefined
      : `bytes=${range.offset}-${range.length === undefined ? '' : range.offset + range.length - 1}`;
    try {
      const res = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.key(name), Range: header }), { abortSignal: options.signal });
      if (res.Body === undefined) return Buffer.alloc(0);
      const bytes = await res.Body.transformToByteArray();
      return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    } catch (err) {
      if (range !== undefined && httpStatus(err) === 416) {
        // S3 answers 416 for an offset at the end (incl. empty objects); the contract returns empty there.
        return await emptyRead(name, range, async () => (await this.stat(name, options)).size);
      }
      throw this.mapError(err, name, options.signal, 'load');
    }
  }

  async stat(name: string, options: CallOptions = {}): Promise<ObjectInfo> {
    checkName(name);
    throwIfAborted(options.signal);
    try {
      const res = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.key(name) }), { abortSignal: options.signal });
      return { name, size: res.ContentLength ?? 0 };
    } catch (err) {
      throw this.mapError(err, name, options.signal, 'stat');
    }
  }

  async *list(prefix: string, options: CallOptions = {}): AsyncIterable<ObjectInfo> {
    checkPrefix(prefix);
    let token: string | undefined;
    do {
      throwIfAborted(options.signal);
      let page;
      try {
        page = await this.client.send(new ListObjectsV2Command({
          Bucket: this.bucket, Prefix: this.root + prefix, MaxKeys: this.pageSize, ContinuationToken: token,
        }), { abortSignal: options.signal });
      } catch (err) {
        throw this.mapError(err, prefix, options.signal, 'list');
      }
      for (const object of page.Contents ?? []) {
        if (object.Key === undefined || object.Key.endsWith('/')) continue;
        yield { name: object.Key.slice(this.root.length), size: object.Size ?? 0 };
      }
      token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
  }

  async remove(name: string, options: CallOptions = {}): Promise<void> {
    checkName(name);
    throwIfAborted(options.signal);
    const key = this.key(name);
    try {
      let versionId: string | undefined;
      if (this.versioned) {
        try {
          const head = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }), { abortSignal: options.signal });
          versionId = head.VersionId;
        } catch (err) {
          if (httpStatus(err) === 404) return;
          throw err;
        }
      }
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key, VersionId: versionId }), { abortSignal: options.signal });
    } catch (err) {
      const mapped = this.mapError(err, name, options.signal, 'remove');
      if (mapped instanceof NotFound) return;
      throw mapped;
    }
  }

  async close(): Promise<void> {
    this.client.destroy();
  }

  private key(name: string): string {
    return this.root + name;
  }

  private async exists(key: string, signal: AbortSignal | undefined): Promise<boolean> {
    try {
      await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }), { abortSignal: signal });
      return true;
    } catch (err) {
      if (httpStatus(err) === 404) return false;
      throw err;
    }
  }

  private async saveMultipart(key: string, body: Buffer, lock: object, signal: AbortSignal | undefined): Promise<void> {
    const created = await this.client.send(new CreateMultipartUploadCommand({ Bucket: this.bucket, Key: key, ...lock }), { abortSignal: signal });
    const uploadId = created.UploadId;
    if (uploadId === undefined) throw new Transient('server returned no multipart upload id');
    try {
      const count = Math.ceil(body.length / this.partSize);
      const parts: CompletedPart[] = new Array<CompletedPart>(count);
      let next = 0;
      const worker = async (): Promise<void> => {
        while (next < count) {
          const index = next++;
          const chunk = body.subarray(index * this.partSize, Math.min(body.length, (index + 1) * this.partSize));
          const res = await this.client.send(new UploadPartCommand({
            Bucket: this.bucket, Key: key, UploadId: uploadId, PartNumber: index + 1,
            Body: chunk, ContentLength: chunk.length, ContentMD5: md5(chunk),
          }), { abortSignal: signal });
          parts[index] = { ETag: res.ETag, PartNumber: index + 1 };
        }
      };
      await Promise.all(Array.from({ length: Math.min(this.partConcurrency, count) }, worker));
      throwIfAborted(signal);
      await this.client.send(new CompleteMultipartUploadCommand({
        Bucket: this.bucket, Key: key, UploadId: uploadId, MultipartUpload: { Parts: parts },
        ...(this.conditional ? { IfNoneMatch: '*' } : {}),
      }), { abortSignal: signal });
    } catch (err) {
      // Never leave a paid-for, invisible upload behind; not tied to the (maybe aborted) signal, but bounded:
      // on a dead link this is skipped at once (circuit breaker) or gives up after connect + idle timeouts.
      await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: key, UploadId: uploadId }), {
        abortSignal: AbortSignal.timeout(this.timeouts.connectTimeoutMs + this.timeouts.idleTimeoutMs),
      }).catch(() => undefined);
      throw err;
    }
  }

  private mapError(err: unknown, name: string, signal: AbortSignal | undefined, op: string): unknown {
    if (signal?.aborted === true) return abortReason(signal);
    if (err instanceof CofferError) return err;
    if (isStallError(err)) this.link.markSilent(); // a response body that stopped flowing (outside the middleware)
    return mapS3Error(err, name === '' ? `bucket ${this.bucket}` : `object ${name}`, op, this.location);
  }
}

function md5(data: Buffer): string {
  return createHash('md5').update(data).digest('base64');
}

function httpStatus(err: unknown): number | undefined {
  if (err instanceof S3ServiceException) return err.$metadata.httpStatusCode;
  const meta = (err as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata;
  return meta?.httpStatusCode;
}

/** The connection broke or went quiet mid-request: worth another attempt on a fresh connection. */
const CONNECTION_BROKEN = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED', 'ETIMEDOUT', 'ESOCKETTIMEDOUT']);

const NETWORK_UNREACHABLE = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'CERT_HAS_EXPIRED', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE']);

/** Maps an S3 SDK error onto the storage sentinels. Messages carry no credentials or URLs. */
export function mapS3Error(err: unknown, what: string, op: string, location: string): CofferError {
  const status = httpStatus(err);
  const code = err instanceof Error ? err.name : '';
  const sysCode = (err as { code?: unknown } | undefined)?.code;
  const detail = describe(err);
  const opts = { cause: err };
  if (typeof sysCode === 'string' && NETWORK_UNREACHABLE.has(sysCode)) {
    return new Unreachable(`cannot reach the S3 endpoint of ${location}: ${sysCode}`, opts);
  }
  if (status === undefined && isStallError(err)) {
    return new Transient(`S3 ${op} of ${what} timed out: no progress on the connection to ${location}`, opts);
  }
  if (status === undefined && ((typeof sysCode === 'string' && CONNECTION_BROKEN.has(sysCode)) || /socket hang up|aborted|premature close/i.test(detail))) {
    return new Transient(`S3 ${op} of ${what}: the connection to ${location} broke (${typeof sysCode === 'string' ? sysCode : 'closed'})`, opts);
  }
  if (code === 'NoSuchBucket' || (op === 'bucket' && status === 404)) return new BadLocation(`bucket of ${location} does not exist`, { ...opts, hint: 'create the bucket or fix the repository URL' });
  if (code === 'NoSuchKey' || code === 'NotFound' || (status === 404 && op !== 'bucket')) return new NotFound(`${what} not found`, opts);
  if (status === 404) return new BadLocation(`bucket of ${location} does not exist`, { ...opts, hint: 'create the bucket or fix the repository URL' });
  if (code === 'PreconditionFailed' || status === 412) return new AlreadyExists(`${what} already exists`, opts);
  if (code === 'InvalidRange' || status === 416) return new InvalidRange(`invalid range for ${what}`, opts);
  if (code === 'ConditionalRequestConflict' || (status === 409 && op === 'save')) {
    return new Transient(`concurrent conditional write of ${what}; try again`, opts);
  }
  // AWS answers 403 AccessDenied, MinIO 400 InvalidRequest "Object is WORM protected".
  if (op === 'remove' && (status === 403 || status === 400) && /WORM|retention|lock/i.test(detail)) {
    return new RetentionLocked(`${what} is retention-locked and cannot be removed yet`, opts);
  }
  if (code === 'InvalidRequest' && /object lock|objectlock|retention/i.test(detail)) {
    return new Unsupported(`${location} cannot retain objects: ${detail}`, opts);
  }
  if (['InvalidAccessKeyId', 'SignatureDoesNotMatch', 'AccessDenied', 'ExpiredToken', 'InvalidToken', 'Forbidden', 'CredentialsProviderError'].includes(code)
    || status === 401 || status === 403) {
    return new AuthFailed(`access to ${location} denied (${code || status})`, { ...opts, hint: 'check the S3 credentials (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or profile) and bucket policy' });
  }
  if (code === 'BadDigest' || code === 'InvalidDigest') return new Transient(`upload of ${what} was corrupted in transit`, opts);
  if (status !== undefined && (status >= 500 || status === 429 || status === 408)) return new Transient(`S3 server error on ${what} (${code || status})`, opts);
  if (['SlowDown', 'RequestTimeout', 'RequestTimeTooSkewed', 'TimeoutError', 'InternalError', 'ServiceUnavailable'].includes(code)) {
    return new Transient(`S3 ${code} on ${what}`, opts);
  }
  if (status !== undefined && status >= 400) return new BadLocation(`S3 refused ${op} of ${what}: ${code || status}`, opts);
  return new Transient(`S3 ${op} of ${what} failed: ${detail}`, opts);
}
