import type { Backend, BackendCapabilities, ByteRange, CallOptions, ObjectInfo, SaveOptions } from './backend';
import { asBuffer, checkName, checkPrefix, resolveRange, throwIfAborted } from './common';
import { AlreadyExists, BadLocation, NotFound, RetentionLocked } from './errors';

interface StoredObject {
  readonly data: Buffer;
  readonly retainUntil: Date | undefined;
}

export interface MemoryBackendOptions {
  /** Clock used for retention checks; tests can move time forward. */
  readonly now?: () => Date;
  readonly location?: string;
}

/**
 * An in-process backend for unit tests of everything above storage. It keeps
 * the full contract, including retention (so prune logic can be tested) and
 * copy-on-save/copy-on-load so callers cannot mutate stored bytes.
 */
export class MemoryBackend implements Backend {
  readonly location: string;
  readonly capabilities: BackendCapabilities = { atomicCreate: true, retention: true };
  private readonly objects = new Map<string, StoredObject>();
  private readonly now: () => Date;
  private closed = false;

  constructor(options: MemoryBackendOptions = {}) {
    this.location = options.location ?? 'memory:';
    this.now = options.now ?? (() => new Date());
  }

  async save(name: string, data: Uint8Array, options: SaveOptions = {}): Promise<void> {
    this.checkOpen();
    checkName(name);
    throwIfAborted(options.signal);
    if (this.objects.has(name)) throw new AlreadyExists(`object ${name} already exists`);
    this.objects.set(name, { data: Buffer.from(asBuffer(data)), retainUntil: options.retainUntil });
  }

  async load(name: string, range?: ByteRange, options: CallOptions = {}): Promise<Buffer> {
    this.checkOpen();
    checkName(name);
    throwIfAborted(options.signal);
    const object = this.get(name);
    const { start, end } = resolveRange(name, object.data.length, range);
    return Buffer.from(object.data.subarray(start, end));
  }

  async stat(name: string, options: CallOptions = {}): Promise<ObjectInfo> {
    this.checkOpen();
    checkName(name);
    throwIfAborted(options.signal);
    return { name, size: this.get(name).data.length };
  }

  async *list(prefix: string, options: CallOptions = {}): AsyncIterable<ObjectInfo> {
    this.checkOpen();
    checkPrefix(prefix);
    // Snapshot the keys so concurrent saves/removes cannot break iteration.
    for (const name of [...this.objects.keys()]) {
      throwIfAborted(options.signal);
      const object = this.objects.get(name);
      if (object !== undefined && name.startsWith(prefix)) yield { name, size: object.data.length };
    }
  }

  async remove(name: string, options: CallOptions = {}): Promise<void> {
    this.checkOpen();
    checkName(name);
    throwIfAborted(options.signal);
    const object = this.objects.get(name);
    if (object?.retainUntil !== undefined && object.retainUntil > this.now()) {
      throw new RetentionLocked(`object ${name} is retained until ${object.retainUntil.toISOString()}`);
    }
    this.objects.delete(name);
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  /** Number of stored objects (for tests). */
  get size(): number {
    return this.objects.size;
  }

  private get(name: string): StoredObject {
    const object = this.objects.get(name);
    if (object === undefined) throw new NotFound(`object ${name} not found`);
    return object;
  }

  private checkOpen(): void {
    if (this.closed) throw new BadLocation('backend is closed');
  }
}
