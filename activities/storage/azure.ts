import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { AnonymousCredential, BlobServiceClient, RestError, StorageSharedKeyCredential } from '@azure/storage-blob';
import type { BlockBlobClient, ContainerClient } from '@azure/storage-blob';
import type { Backend, BackendCapabilities, ByteRange, CallOptions, ObjectInfo, SaveOptions } from './backend';
import {
  abortReason, asBuffer, checkName, checkPrefix, checkRange, describe, normalisePrefix, randomSuffix, emptyRead, throwIfAborted,
} from './common';
import {
  AlreadyExists, AuthFailed, BadLocation, InvalidRange, NotFound, RetentionLocked, Transient, Unreachable, Unsupported,
} from './errors';
import { readAll } from './streams';
import { CofferError } from '../errors';

export type AzureCredentials =
  | { readonly kind: 'shared-key'; readonly accountName: string; readonly accountKey: string }
  /** A SAS token (without the leading '?'), appended to the endpoint URL. */
  | { readonly kind: 'sas'; readonly token: string }
  | { readonly kind: 'connection-string'; readonly connectionString: string };

export interface AzureBackendOptions {
  readonly account: string;
  readonly container: string;
  readonly prefix?: string;
  /** Blob service endpoint; default https://<account>.blob.core.windows.net. */
  readonly endpoint?: string;
  readonly credentials: AzureCredentials;
  /** Objects above this size are staged as blocks and committed (default 16 MiB). */
  readonly singleShotLimit?: number;
  readonly blockSize?: number;
  readonly blockConcurrency?: number;
  readonly pageSize?: number;
}

/**
 * Azure Blob Storage (block blobs) through @azure/storage-blob.
 *
 * save(): small objects are one Put Blob, large ones staged blocks plus one
 * Put Block List; either way the request that makes the blob visible carries
 * `If-None-Match: *`, so the service refuses an existing name atomically
 * (409/412 → AlreadyExists) and a blob appears only whole. Every request
 * carries a transactional Content-MD5. Uncommitted blocks of an abandoned
 * upload are invisible and discarded by the service.
 *
 * Retention: version-level immutability policies (`immutabilityPolicy` with
 * mode Locked) when the container has immutable storage with versioning
 * enabled; otherwise (and on Azurite, which does not implement
 * immutability) save() with retainUntil throws Unsupported.
 */
export class AzureBackend implements Backend {
  readonly location: string;
  private readonly container: ContainerClient;
  private readonly root: string;
  private readonly singleShotLimit: number;
  private readonly blockSize: number;
  private readonly blockConcurrency: number;
  private readonly pageSize: number;
  private immutable = false;

  constructor(options: AzureBackendOptions) {
    this.root = normalisePrefix(options.prefix ?? '');
    this.location = `azure://${options.account}/${options.container}/${this.root}`;
    this.singleShotLimit = options.singleShotLimit ?? 16 * 1024 * 1024;
    this.blockSize = options.blockSize ?? 8 * 1024 * 1024;
    this.blockConcurrency = options.blockConcurrency ?? 4;
    this.pageSize = options.pageSize ?? 1000;
    const endpoint = (options.endpoint ?? `https://${options.account}.blob.core.windows.net`).replace(/\/+$/, '');
    // Retries belong to the RetryingBackend wrapper.
    const pipeline = { retryOptions: { maxTries: 1 } };
    let service: BlobServiceClient;
    const creds = options.credentials;
    if (creds.kind === 'connection-string') {
      service = BlobServiceClient.fromConnectionString(creds.connectionString, pipeline);
    } else if (creds.kind === 'shared-key') {
      service = new BlobServiceClient(endpoint, new StorageSharedKeyCredential(creds.accountName, creds.accountKey), pipeline);
    } else {
      service = new BlobServiceClient(`${endpoint}?${creds.token.replace(/^\?/, '')}`, new AnonymousCredential(), pipeline);
    }
    this.container = service.getContainerClient(options.container);
  }

  get capabilities(): BackendCapabilities {
    return { atomicCreate: true, retention: this.immutable };
  }

  /** Checks that the container exists and learns whether it supports immutability policies. */
  async open(options: CallOptions = {}): Promise<this> {
    try {
      const props = await this.container.getProperties({ abortSignal: options.signal });
      this.immutable = props.isImmutableStorageWithVersioningEnabled === true;
    } catch (err) {
      throw this.mapError(err, '', options.signal, 'open');
    }
    return this;
  }

  async save(name: string, data: Uint8Array, options: SaveOptions = {}): Promise<void> {
    checkName(name);
    throwIfAborted(options.signal);
    if (options.retainUntil !== undefined && !this.immutable) {
      throw new Unsupported(`container of ${this.location} has no version-level immutability: cannot retain ${name}`, {
        hint: 'enable immutable storage with versioning on the container to use retention',
      });
    }
    const body = asBuffer(data);
    const blob = this.blob(name);
    const immutabilityPolicy = options.retainUntil === undefined
      ? undefined
      : { expiriesOn: options.retainUntil, policyMode: 'Locked' as const };
    const conditions = { ifNoneMatch: '*' };
    try {
      let staged = body.length > this.singleShotLimit;
      if (!staged) {
        try {
          await blob.upload(body, body.length, {
            conditions, immutabilityPolicy, transactionalContentMD5: md5(body), abortSignal: options.signal,
          });
        } catch (err) {
          // Uncommitted blocks of an abandoned upload make Put Blob's If-None-Match fail (Azurite) although
          // no blob is visible; Put Block List still decides correctly, so take that path.
          if (!(err instanceof RestError && err.code === 'BlobAlreadyExists' && !await this.exists(blob))) throw err;
          staged = true;
        }
      }
      if (staged) {
        const ids = await this.stageBlocks(blob, body, options.signal);
        try {
          await blob.commitBlockList(ids, { conditions, immutabilityPolicy, abortSignal: options.signal });
        } catch (err) {
          // A concurrent writer's commit discards our uncommitted blocks: that is "already exists".
          if (err instanceof RestError && err.code === 'InvalidBlockList' && await this.exists(blob)) {
            throw new AlreadyExists(`object ${name} already exists`, { cause: err });
          }
          throw err;
        }
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
    try {
      const res = await this.blob(name).download(range?.offset ?? 0, range?.length, { abortSignal: options.signal });
      const stream = res.readableStreamBody;
      if (stream === undefined) return Buffer.alloc(0);
      return await readAll(stream as Readable, options.signal);
    } catch (err) {
      if (range !== undefined && err instanceof RestError && err.statusCode === 416) {
        return await emptyRead(name, range, async () => (await this.stat(name, options)).size);
      }
      throw this.mapError(err, name, options.signal, 'load');
    }
  }

  async stat(name: string, options: CallOptions = {}): Promise<ObjectInfo> {
    checkName(name);
    throwIfAborted(options.signal);
    try {
      const props = await this.blob(name).getProperties({ abortSignal: options.signal });
      return { name, size: props.contentLength ?? 0 };
    } catch (err) {
      throw this.mapError(err, name, options.signal, 'stat');
    }
  }

  async *list(prefix: string, options: CallOptions = {}): AsyncIterable<ObjectInfo> {
    checkPrefix(prefix);
    const pages = this.container
      .listBlobsFlat({ prefix: this.root + prefix, abortSignal: options.signal })
      .byPage({ maxPageSize: this.pageSize });
    try {
      for await (const page of pages) {
        for (const item of page.segment.blobItems) {
          yield { name: item.name.slice(this.root.length), size: item.properties.contentLength ?? 0 };
        }
      }
    } catch (err) {
      throw this.mapError(err, prefix, options.signal, 'list');
    }
  }

  async remove(name: string, options: CallOptions = {}): Promise<void> {
    checkName(name);
    throwIfAborted(options.signal);
    try {
      await this.blob(name).deleteIfExists({ abortSignal: options.signal });
    } catch (err) {
      const mapped = this.mapError(err, name, options.signal, 'remove');
      if (mapped instanceof NotFound) return;
      throw mapped;
    }
  }

  async close(): Promise<void> {
    // HTTP keep-alive sockets are released by the runtime.
  }

  private blob(name: string): BlockBlobClient {
    return this.container.getBlockBlobClient(this.root + name);
  }

  private async exists(blob: BlockBlobClient): Promise<boolean> {
    try {
      return await blob.exists();
    } catch {
      return false;
    }
  }

  private async stageBlocks(blob: BlockBlobClient, body: Buffer, signal: AbortSignal | undefined): Promise<string[]> {
    // Block ids are unique per upload so concurrent writers of one name never mix blocks.
    const upload = randomSuffix(8);
    const count = Math.ceil(body.length / this.blockSize);
    const ids = Array.from({ length: count }, (_, i) => Buffer.from(`${upload}-${String(i).padStart(6, '0')}`).toString('base64'));
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < count) {
        const index = next++;
        const chunk = body.subarray(index * this.blockSize, Math.min(body.length, (index + 1) * this.blockSize));
        await blob.stageBlock(ids[index], chunk, chunk.length, { transactionalContentMD5: md5(chunk), abortSignal: signal });
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.blockConcurrency, count) }, worker));
    return ids;
  }

  private mapError(err: unknown, name: string, signal: AbortSignal | undefined, op: string): unknown {
    if (signal?.aborted === true) return abortReason(signal);
    if (err instanceof CofferError) return err;
    return mapAzureError(err, name === '' ? 'container' : `object ${name}`, op, this.location);
  }
}

function md5(data: Buffer): Uint8Array {
  return createHash('md5').update(data).digest();
}

const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

/** Maps an Azure SDK RestError (or network error) onto the storage sentinels. */
export function mapAzureError(err: unknown, what: string, op: string, location: string): CofferError {
  const opts = { cause: err };
  const status = err instanceof RestError ? err.statusCode : undefined;
  const code = (err as { code?: unknown } | undefined)?.code;
  const errorCode = typeof code === 'string' ? code : '';
  const detail = describe(err);
  if (UNREACHABLE.has(errorCode) || /ECONNREFUSED|ENOTFOUND/.test(detail)) {
    return new Unreachable(`cannot reach the Azure endpoint of ${location}`, opts);
  }
  if (errorCode === 'ContainerNotFound' || (op === 'open' && status === 404)) {
    return new BadLocation(`container of ${location} does not exist`, { ...opts, hint: 'create the container or fix the repository URL' });
  }
  if (errorCode === 'BlobNotFound' || status === 404) return new NotFound(`${what} not found`, opts);
  if (errorCode === 'BlobAlreadyExists' || errorCode === 'ConditionNotMet' || status === 412 || (op === 'save' && status === 409 && !/immutab/i.test(errorCode))) {
    return new AlreadyExists(`${what} already exists`, opts);
  }
  if (errorCode === 'InvalidRange' || status === 416) return new InvalidRange(`invalid range for ${what}`, opts);
  if (/Immutab|LegalHold/i.test(errorCode)) return new RetentionLocked(`${what} is protected by an immutability policy`, opts);
  if (errorCode === 'NotImplemented' || status === 501) return new Unsupported(`${location} does not support this operation (${errorCode || status})`, opts);
  if (status === 401 || status === 403 || /AuthenticationFailed|AuthorizationFailure|AuthorizationPermissionMismatch|InvalidAuthenticationInfo/.test(errorCode)) {
    return new AuthFailed(`access to ${location} denied (${errorCode || status})`, { ...opts, hint: 'check AZURE_STORAGE_KEY, the SAS token or the connection string' });
  }
  if (errorCode === 'Md5Mismatch' || errorCode === 'InvalidMd5') return new Transient(`upload of ${what} was corrupted in transit`, opts);
  if (status !== undefined && (status >= 500 || status === 408 || status === 429)) return new Transient(`Azure server error on ${what} (${errorCode || status})`, opts);
  if (status !== undefined && status >= 400) return new BadLocation(`Azure refused ${op} of ${what} (${errorCode || status}): ${detail}`, opts);
  return new Transient(`Azure ${op} of ${what} failed: ${detail}`, opts);
}
