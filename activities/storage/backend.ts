/**
 * The storage contract every repository backend implements.
 *
 * Object names are relative, '/'-separated paths made of [A-Za-z0-9._-] segments
 * (e.g. `config`, `keys/<id>`, `data/ab/<id>`, `index/<id>`, `snapshots/<id>`,
 * `locks/<id>`). A backend maps them under its own root/prefix and never lets a
 * name escape it. The repository treats storage as untrusted: backends do not
 * verify content beyond transport checksums; the engine authenticates every byte.
 *
 * Errors: every method throws only the sentinels in ./errors (NotFound,
 * AlreadyExists, InvalidRange, AuthFailed, RetentionLocked, Unsupported,
 * BadLocation, Transient, Unreachable). `retryable` on the error says whether
 * trying again may help. Credentials never appear in messages.
 */
export interface ObjectInfo {
  /** Object name relative to the repository root. */
  readonly name: string;
  /** Size in bytes. */
  readonly size: number;
}

export interface ByteRange {
  /** First byte to return. */
  readonly offset: number;
  /** Number of bytes; omitted means "to the end". */
  readonly length?: number;
}

export interface CallOptions {
  /** Aborts the call; the backend rejects with the signal's reason and leaves no visible partial object. */
  readonly signal?: AbortSignal;
}

export interface SaveOptions extends CallOptions {
  /**
   * Retain (WORM) the object until this time where the backend supports it
   * (S3 Object Lock, Azure immutability). Backends without support throw Unsupported.
   */
  readonly retainUntil?: Date;
}

export interface BackendCapabilities {
  /** save() refuses an existing name atomically on the server, not by a racy check. */
  readonly atomicCreate: boolean;
  /** save() can set a retention lock. */
  readonly retention: boolean;
}

export interface Backend {
  /** Human-readable location without credentials, e.g. `s3://bucket/prefix`. */
  readonly location: string;
  readonly capabilities: BackendCapabilities;

  /**
   * Stores `data` under `name` only if no object of that name exists.
   * Atomic: readers see either nothing or the whole object, never a partial one,
   * including when the call is aborted or the process dies midway.
   * Throws AlreadyExists if the name is taken (existing content is untouched).
   */
  save(name: string, data: Uint8Array, options?: SaveOptions): Promise<void>;

  /**
   * Returns the object's bytes, or the given range of them. A range past the end
   * is clipped to the end; an offset beyond the size throws InvalidRange.
   * Throws NotFound if the object does not exist.
   */
  load(name: string, range?: ByteRange, options?: CallOptions): Promise<Buffer>;

  /** Size of one object. Throws NotFound if it does not exist. */
  stat(name: string, options?: CallOptions): Promise<ObjectInfo>;

  /**
   * Every object whose name starts with `prefix` (use '' for all), following the
   * provider's pagination to the end. Order is unspecified. Objects created or
   * removed during the listing may or may not appear.
   */
  list(prefix: string, options?: CallOptions): AsyncIterable<ObjectInfo>;

  /**
   * Deletes one object. Idempotent: removing a missing object succeeds.
   * Throws RetentionLocked if a retention lock forbids deletion.
   */
  remove(name: string, options?: CallOptions): Promise<void>;

  /** Releases connections. The backend is unusable afterwards. */
  close(): Promise<void>;
}
