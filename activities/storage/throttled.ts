import type { Backend, BackendCapabilities, ByteRange, CallOptions, ObjectInfo, SaveOptions } from './backend';
import { sleep } from './common';

export interface BandwidthLimits {
  /** Upload limit in bytes per second; undefined or 0 = unlimited. */
  readonly upBytesPerSecond?: number;
  /** Download limit in bytes per second; undefined or 0 = unlimited. */
  readonly downBytesPerSecond?: number;
  /** Bucket depth in seconds of traffic allowed as a burst (default 1). */
  readonly burstSeconds?: number;
}

/**
 * A token bucket. Callers take what they need at once and the bucket may go
 * into debt; each caller then waits until its share has been refilled. That
 * keeps objects larger than the bucket working and serialises concurrent
 * callers fairly, so the long-run rate never exceeds the limit.
 */
export class TokenBucket {
  private tokens: number;
  private last: number;
  private readonly capacity: number;

  constructor(private readonly ratePerSecond: number, burstSeconds = 1, private readonly now: () => number = () => performance.now()) {
    this.capacity = ratePerSecond * burstSeconds;
    this.tokens = this.capacity;
    this.last = this.now();
  }

  /** Resolves once `amount` tokens are paid for. */
  async take(amount: number, signal?: AbortSignal): Promise<void> {
    const now = this.now();
    this.tokens = Math.min(this.capacity, this.tokens + ((now - this.last) / 1000) * this.ratePerSecond);
    this.last = now;
    this.tokens -= amount;
    if (this.tokens >= 0) return;
    const waitMs = (-this.tokens / this.ratePerSecond) * 1000;
    try {
      await sleep(Math.ceil(waitMs), signal);
    } catch (err) {
      this.tokens += amount; // the transfer did not happen: give the tokens back
      throw err;
    }
  }
}

/**
 * Limits upload and download bandwidth of a backend. The contract passes
 * whole objects, so the limit is applied per call: uploads wait for their
 * tokens before sending, downloads are held back after arriving. Over many
 * objects (a backup's pack files) the average rate holds.
 */
export class ThrottledBackend implements Backend {
  private readonly up: TokenBucket | undefined;
  private readonly down: TokenBucket | undefined;

  constructor(private readonly inner: Backend, limits: BandwidthLimits) {
    const burst = limits.burstSeconds ?? 1;
    this.up = positive(limits.upBytesPerSecond) ? new TokenBucket(limits.upBytesPerSecond, burst) : undefined;
    this.down = positive(limits.downBytesPerSecond) ? new TokenBucket(limits.downBytesPerSecond, burst) : undefined;
  }

  get location(): string {
    return this.inner.location;
  }

  get capabilities(): BackendCapabilities {
    return this.inner.capabilities;
  }

  async save(name: string, data: Uint8Array, options: SaveOptions = {}): Promise<void> {
    await this.up?.take(data.byteLength, options.signal);
    await this.inner.save(name, data, options);
  }

  async load(name: string, range?: ByteRange, options: CallOptions = {}): Promise<Buffer> {
    const data = await this.inner.load(name, range, options);
    await this.down?.take(data.length, options.signal);
    return data;
  }

  stat(name: string, options?: CallOptions): Promise<ObjectInfo> {
    return this.inner.stat(name, options);
  }

  list(prefix: string, options?: CallOptions): AsyncIterable<ObjectInfo> {
    return this.inner.list(prefix, options);
  }

  remove(name: string, options?: CallOptions): Promise<void> {
    return this.inner.remove(name, options);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

function positive(value: number | undefined): value is number {
  return value !== undefined && Number.isFinite(value) && value > 0;
}
