import type { Backend, BackendCapabilities, ByteRange, CallOptions, ObjectInfo, SaveOptions } from './backend';
import { asBuffer, sleep, throwIfAborted } from './common';
import { AlreadyExists } from './errors';
import { CofferError } from '../errors';

export interface RetryOptions {
  /** Total attempts per call, including the first (default 6). */
  readonly maxAttempts?: number;
  /** Backoff cap before jitter for the first retry (default 100 ms); doubles per retry. */
  readonly baseDelayMs?: number;
  /** Upper bound of any single backoff (default 5 s). */
  readonly maxDelayMs?: number;
  /** Uniform random source in [0, 1); inject a seeded one for reproducible tests. */
  readonly random?: () => number;
  /** Counters updated in place; pass your own object to observe them. */
  readonly stats?: RetryStats;
  /** Called before each retry (for logging; never receives credentials). */
  readonly onRetry?: (info: { method: string; attempt: number; delayMs: number; error: CofferError }) => void;
}

export interface RetryStats {
  /** Calls made to the wrapped backend (first attempts and retries). */
  attempts: number;
  /** Of those, retries after a retryable failure. */
  retries: number;
  /** Calls that failed after exhausting their attempts on retryable errors. */
  exhausted: number;
}

export function newRetryStats(): RetryStats {
  return { attempts: 0, retries: 0, exhausted: 0 };
}

/**
 * Retries short transient failures in-process (seconds), so that longer
 * outages are left to Temporal's retry policy. Only errors whose `retryable`
 * is true (Transient, Unreachable) are retried; everything else — NotFound,
 * AuthFailed, AlreadyExists, aborts — fails on the first attempt.
 *
 * Backoff is "full jitter": delay = random() * min(maxDelay, base * 2^retry),
 * which spreads simultaneous retries of many workers.
 *
 * save() subtlety: an attempt may have stored the object and then failed on
 * the way back (lost response). If a later attempt of the same call gets
 * AlreadyExists, the wrapper loads the object and treats identical bytes as
 * success — the earlier attempt did land.
 */
export class RetryingBackend implements Backend {
  readonly stats: RetryStats;
  private readonly maxAttempts: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly random: () => number;

  constructor(private readonly inner: Backend, private readonly options: RetryOptions = {}) {
    this.maxAttempts = Math.max(1, options.maxAttempts ?? 6);
    this.baseDelayMs = options.baseDelayMs ?? 100;
    this.maxDelayMs = options.maxDelayMs ?? 5000;
    this.random = options.random ?? Math.random;
    this.stats = options.stats ?? newRetryStats();
  }

  get location(): string {
    return this.inner.location;
  }

  get capabilities(): BackendCapabilities {
    return this.inner.capabilities;
  }

  async save(name: string, data: Uint8Array, options: SaveOptions = {}): Promise<void> {
    let failedRetryably = false;
    try {
      await this.run('save', options.signal, async () => {
        try {
          await this.inner.save(name, data, options);
        } catch (err) {
          if (err instanceof CofferError && err.retryable) failedRetryably = true;
          throw err;
        }
      });
    } catch (err) {
      if (err instanceof AlreadyExists && failedRetryably && await this.sameContent(name, data, options.signal)) return;
      throw err;
    }
  }

  load(name: string, range?: ByteRange, options: CallOptions = {}): Promise<Buffer> {
    return this.run('load', options.signal, () => this.inner.load(name, range, options));
  }

  stat(name: string, options: CallOptions = {}): Promise<ObjectInfo> {
    return this.run('stat', options.signal, () => this.inner.stat(name, options));
  }

  /**
   * A listing that fails midway is restarted from the beginning; names already
   * yielded are skipped, so callers see each object at most once.
   */
  async *list(prefix: string, options: CallOptions = {}): AsyncIterable<ObjectInfo> {
    const seen = new Set<string>();
    for (let attempt = 1; ; attempt++) {
      this.stats.attempts++;
      try {
        for await (const info of this.inner.list(prefix, options)) {
          if (seen.has(info.name)) continue;
          seen.add(info.name);
          yield info;
        }
        return;
      } catch (err) {
        await this.backoffOrThrow('list', attempt, err, options.signal);
      }
    }
  }

  remove(name: string, options: CallOptions = {}): Promise<void> {
    return this.run('remove', options.signal, () => this.inner.remove(name, options));
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  private async run<T>(method: string, signal: AbortSignal | undefined, call: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      throwIfAborted(signal);
      this.stats.attempts++;
      try {
        return await call();
      } catch (err) {
        await this.backoffOrThrow(method, attempt, err, signal);
      }
    }
  }

  /** Sleeps before the next attempt, or rethrows if `err` is permanent or attempts are used up. */
  private async backoffOrThrow(method: string, attempt: number, err: unknown, signal: AbortSignal | undefined): Promise<void> {
    if (signal?.aborted === true) throw err;
    if (!(err instanceof CofferError) || !err.retryable) throw err;
    if (attempt >= this.maxAttempts) {
      this.stats.exhausted++;
      throw err;
    }
    const cap = Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** (attempt - 1));
    const delayMs = Math.floor(this.random() * cap);
    this.options.onRetry?.({ method, attempt, delayMs, error: err });
    this.stats.retries++;
    await sleep(delayMs, signal);
  }

  private async sameContent(name: string, data: Uint8Array, signal: AbortSignal | undefined): Promise<boolean> {
    try {
      const stored = await this.load(name, undefined, { signal });
      return stored.equals(asBuffer(data));
    } catch {
      return false;
    }
  }
}
