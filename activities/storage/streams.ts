import type { Readable, Writable } from 'node:stream';
import { abortReason } from './common';

/**
 * Stream plumbing for SDKs whose calls take no AbortSignal: the signal
 * destroys the stream, which cancels the underlying request.
 */

/** Collects a readable stream into one Buffer; aborting destroys the stream. */
export function readAll(stream: Readable, signal?: AbortSignal): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted === true) {
      stream.destroy();
      reject(abortReason(signal));
      return;
    }
    const chunks: Buffer[] = [];
    const onAbort = (): void => {
      stream.destroy();
      reject(abortReason(signal as AbortSignal));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.once('error', (err) => {
      signal?.removeEventListener('abort', onAbort);
      reject(err);
    });
    stream.once('end', () => {
      signal?.removeEventListener('abort', onAbort);
      resolve(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks));
    });
  });
}

/**
 * Writes `data` into a writable stream in slices (so an abort can land midway)
 * and resolves when the stream reports it finished (upload committed).
 * `done` is the event the SDK emits on success ('finish' or 'close').
 */
export function writeAll(stream: Writable, data: Buffer, signal?: AbortSignal, slice = 1024 * 1024): Promise<void> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const settle = (err?: Error): void => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      if (err === undefined) resolve();
      else reject(err);
    };
    const onAbort = (): void => {
      const reason = abortReason(signal as AbortSignal);
      stream.destroy(reason);
      settle(reason);
    };
    if (signal?.aborted === true) {
      onAbort();
      return;
    }
    signal?.addEventListener('abort', onAbort, { once: true });
    stream.once('error', (err) => settle(err));
    stream.once('finish', () => settle());
    // The last slice is held back until everything before it was accepted, and
    // the signal is checked right before it: an upload aborted earlier is
    // destroyed with its request still incomplete, so the server never commits it.
    const last = Math.max(0, data.length - slice);
    let offset = 0;
    const pump = (): void => {
      while (offset < last && !settled) {
        const end = Math.min(last, offset + slice);
        const ok = stream.write(data.subarray(offset, end));
        offset = end;
        if (!ok) {
          stream.once('drain', pump);
          return;
        }
      }
      if (settled) return;
      if (signal?.aborted === true) {
        onAbort();
        return;
      }
      if (offset < data.length) stream.write(data.subarray(offset));
      offset = data.length;
      stream.end();
    };
    pump();
  });
}
