/**
 * The storage contract every repository backend implements.
 *
 * Object names are relative, '/'-separated paths made of [A-Za-z0-9._-] segments
 * (e.g. `config`, `keys/<id>`, `data/ab/<id>`, `index/<id>`, `snapshots/<id>`,
 * `locks/<id>`). A segment may not start with '.': that is reserved for the
 * backends' temporary files (and rules out '.' and '..'). An invalid name is
 * refused with BadLocation before any I/O. A backend maps names under its own
 * root/prefix and never lets a name escape it. The repository treats storage as untrusted: backends do not
 * verify content beyond transport checksums; the engine authenticates every byte.
 *
 * Errors: every method throws only the sentinels in ./errors (NotFound,
 * AlreadyExists, InvalidRange, AuthFailed, RetentionLocked, Unsupported,
 * BadLocation, Transient, Unreachable). `retryable` on the error says whether
 * trying again may help: only Transient and Unreachable are retryable;
 * everything else is permanent for the same call. An aborted call rejects with
 * its signal's reason instead. Credentials never appear in messages.
 *
 * Backends do not retry internally (SDK retries are switched off); wrap them in
 * RetryingBackend (./retrying), as openBackend() (./url) does by default.
 * Implementations: ./local ./s3 ./gcs ./azure ./sftp ./memory; docs/storage.md
 * says what each one guarantees.
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
  /**
   * save() refuses an existing name atomically on the server, not by a racy check.
   * false means a documented fallback (check, then write) is in use, which two
   * concurrent writers of the same name can race; content-addressed writers
   * store identical bytes, so only non-content-addressed names (locks) care.
   */
  readonly atomicCreate: boolean;
  /** save() can set a retention lock (known after the backend was opened, e.g. S3 Object Lock on the bucket). */
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
   * With `retainUntil` on a backend without retention: Unsupported, nothing stored.
   * If the call rejects for any other reason (including abort) the object may,
   * rarely, still have been stored whole (a lost response): callers retry, and
   * RetryingBackend turns the resulting AlreadyExists into success when the
   * stored bytes equal ours.
   */
  save(name: string, data: Uint8Array, options?: SaveOptions): Promise<void>;

  /**
   * Returns the object's bytes, or the given range of them. A range past the end
   * is clipped to the end; an offset equal to the size (or a length of 0) gives
   * an empty buffer; an offset beyond the size, or a negative/non-integer offset
   * or length, throws InvalidRange. Throws NotFound if the object does not exist.
   * Whole-object loads are checked against the provider's transport checksum
   * where one is available (GCS CRC32C).
   */
  load(name: string, range?: ByteRange, options?: CallOptions): Promise<Buffer>;

  /** Size of one object. Throws NotFound if it does not exist (directories/prefixes are not objects). */
  stat(name: string, options?: CallOptions): Promise<ObjectInfo>;

  /**
   * Every object whose name starts with `prefix` (use '' for all), following the
   * provider's pagination to the end. Order is unspecified; each name appears
   * once. Objects created or removed during the listing may or may not appear.
   * Temporary files of in-flight saves never appear. `prefix` is a plain string
   * prefix of names ('data/' or 'data/a'), not only a directory.
   */
  list(prefix: string, options?: CallOptions): AsyncIterable<ObjectInfo>;

  /**
   * Deletes one object. Idempotent: removing a missing object succeeds.
   * Throws RetentionLocked if a retention lock forbids deletion (the object is
   * left intact). On versioned S3 buckets the current version is deleted by id,
   * so removal really frees the object instead of hiding it behind a marker.
   */
  remove(name: string, options?: CallOptions): Promise<void>;

  /** Releases connections. The backend is unusable afterwards. */
  close(): Promise<void>;
}
