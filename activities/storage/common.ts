import { BadLocation, InvalidRange } from './errors';
import type { ByteRange } from './backend';

/**
 * Helpers every backend shares: object-name validation, range arithmetic and
 * abort handling. Kept here so the five implementations agree to the byte.
 */

const SEGMENT = /^[A-Za-z0-9_-][A-Za-z0-9._-]*$/;

/**
 * Throws BadLocation unless `name` is a valid object name: '/'-separated
 * segments of [A-Za-z0-9._-] that do not start with '.' (a leading dot is
 * reserved for backends' temporary files, and rules out '.' and '..').
 */
export function checkName(name: string): void {
  if (name === '' || name.length > 1024) throw new BadLocation(`invalid object name (length ${name.length})`);
  for (const segment of name.split('/')) {
    if (!SEGMENT.test(segment)) throw new BadLocation(`invalid object name ${JSON.stringify(name)}`);
  }
}

/** A listing prefix: '' or a name prefix (may end in '/' or mid-segment). */
export function checkPrefix(prefix: string): void {
  if (prefix === '') return;
  const trimmed = prefix.endsWith('/') ? prefix.slice(0, -1) : prefix;
  if (trimmed === '') throw new BadLocation('invalid listing prefix "/"');
  for (const segment of trimmed.split('/')) {
    if (segment !== '' && !/^[A-Za-z0-9._-]+$/.test(segment)) {
      throw new BadLocation(`invalid listing prefix ${JSON.stringify(prefix)}`);
    }
    if (segment === '' || segment === '.' || segment === '..') {
      throw new BadLocation(`invalid listing prefix ${JSON.stringify(prefix)}`);
    }
  }
}

/** Normalises a root prefix for key-value stores: '' or 'a/b/' (no leading slash). */
export function normalisePrefix(prefix: string): string {
  const trimmed = prefix.replace(/^\/+/, '').replace(/\/+$/, '');
  if (trimmed === '') return '';
  for (const segment of trimmed.split('/')) {
    if (segment === '' || segment === '.' || segment === '..') {
      throw new BadLocation(`invalid repository prefix ${JSON.stringify(prefix)}`);
    }
  }
  return `${trimmed}/`;
}

/** Half-open byte interval [start, end) resolved against an object's size. */
export interface ResolvedRange {
  readonly start: number;
  readonly end: number;
}

/** Validates the shape of a range before any I/O. */
export function checkRange(range: ByteRange | undefined): void {
  if (range === undefined) return;
  if (!Number.isSafeInteger(range.offset) || range.offset < 0) {
    throw new InvalidRange(`invalid range offset ${range.offset}`);
  }
  if (range.length !== undefined && (!Number.isSafeInteger(range.length) || range.length < 0)) {
    throw new InvalidRange(`invalid range length ${range.length}`);
  }
}

/**
 * Resolves a range against the object size: a range running past the end is
 * clipped; an offset equal to the size gives an empty range; an offset beyond
 * the size throws InvalidRange.
 */
export function resolveRange(name: string, size: number, range: ByteRange | undefined): ResolvedRange {
  checkRange(range);
  if (range === undefined) return { start: 0, end: size };
  if (range.offset > size) {
    throw new InvalidRange(`range offset ${range.offset} is beyond the end of ${name} (${size} bytes)`);
  }
  const end = range.length === undefined ? size : Math.min(size, range.offset + range.length);
  return { start: range.offset, end };
}

/**
 * The read that object stores refuse (HTTP 416) but the contract answers
 * with an empty buffer: a zero-length range, or an offset exactly at the
 * end. Stats the object so an offset beyond the end still throws
 * InvalidRange and a missing object NotFound.
 */
export async function emptyRead(name: string, range: ByteRange, size: () => Promise<number>): Promise<Buffer> {
  resolveRange(name, await size(), range);
  return Buffer.alloc(0);
}

/** Throws the signal's reason if it is already aborted. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted === true) throw abortReason(signal);
}

/** The value a call aborted by `signal` rejects with. */
export function abortReason(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  if (reason instanceof Error) return reason;
  return new DOMException(typeof reason === 'string' ? reason : 'The operation was aborted', 'AbortError');
}

/** True if `err` is the rejection caused by `signal` being aborted. */
export function isAbortFrom(err: unknown, signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true && (err === signal.reason || isAbortError(err));
}

export function isAbortError(err: unknown): boolean {
  return err instanceof Error && (err.name === 'AbortError' || err.name === 'RequestAbortedError');
}

/** Sleeps `ms`, rejecting early with the signal's reason if aborted. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted === true) {
      reject(abortReason(signal));
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(abortReason(signal as AbortSignal));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Random hex suffix for temporary names and block ids. */
export function randomSuffix(bytes = 8): string {
  const buf = new Uint8Array(bytes);
  crypto.getRandomValues(buf);
  return Buffer.from(buf).toString('hex');
}

/** Extracts a short, credential-free description of an unknown error for messages. */
export function describe(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    const text = `${err.name}${typeof code === 'string' || typeof code === 'number' ? ` ${code}` : ''}: ${err.message}`;
    return redact(text).slice(0, 300);
  }
  return redact(String(err)).slice(0, 300);
}

/** Strips query strings (signatures, SAS tokens) and obvious key material from text. */
export function redact(text: string): string {
  return text
    .replace(/(https?:\/\/[^\s?"']+)\?[^\s"']*/g, '$1?<redacted>')
    .replace(/(AccountKey|SharedAccessSignature|sig|X-Amz-Signature|X-Amz-Credential|password|secret)=([^;&\s"']+)/gi, '$1=<redacted>');
}

/** Always a Buffer view of the bytes (no copy when already a Buffer). */
export function asBuffer(data: Uint8Array): Buffer {
  return Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}
