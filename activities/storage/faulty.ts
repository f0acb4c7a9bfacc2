import type { Backend, BackendCapabilities, ByteRange, CallOptions, ObjectInfo, SaveOptions } from './backend';
import { sleep } from './common';
import { Transient } from './errors';

/**
 * A fault-injecting backend for tests: wraps a real backend and, per method,
 * fails, delays, truncates or corrupts calls, chosen by a schedule (the nth
 * call) or a rate drawn from a seeded PRNG so every run is reproducible.
 */

export type FaultMethod = 'save' | 'load' | 'stat' | 'list' | 'remove';

export type Fault =
  /** Reject before reaching the backend (default error: Transient). */
  | { readonly kind: 'fail'; readonly error?: () => Error }
  /** Let the call reach the backend, then reject: a lost response. */
  | { readonly kind: 'fail-after'; readonly error?: () => Error }
  /** Delay the call by `ms` before passing it on. */
  | { readonly kind: 'delay'; readonly ms: number }
  /** load(): return only the first `keep` bytes (default: half). */
  | { readonly kind: 'truncate'; readonly keep?: number }
  /** load(): flip `bits` random bits (default 1) in the returned bytes. */
  | { readonly kind: 'flip'; readonly bits?: number }
  /** save(): abort the real upload `afterMs` into it, as a dropped connection would. */
  | { readonly kind: 'interrupt'; readonly afterMs: number };

export interface FaultRule {
  readonly method: FaultMethod | '*';
  readonly fault: Fault;
  /** Fire on these call numbers of the method (1-based). */
  readonly nth?: readonly number[];
  /** Fire on each call with this probability (0..1), drawn from the seeded PRNG. */
  readonly rate?: number;
  /** Stop firing after this many injections. (A rule with neither nth nor rate fires on every call.) */
  readonly limit?: number;
}

export interface FaultyOptions {
  readonly rules: readonly FaultRule[];
  /** PRNG seed for `rate` rules and bit positions (default 1). */
  readonly seed?: number;
}

export interface FaultStats {
  readonly calls: Record<FaultMethod, number>;
  readonly injected: Record<FaultMethod, number>;
}

/** mulberry32: a small, fast, seedable PRNG, good enough for fault schedules. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class FaultyBackend implements Backend {
  readonly stats: FaultStats = {
    calls: { save: 0, load: 0, stat: 0, list: 0, remove: 0 },
    injected: { save: 0, load: 0, stat: 0, list: 0, remove: 0 },
  };
  private readonly random: () => number;
  private readonly fired = new Map<FaultRule, number>();

  constructor(private readonly inner: Backend, private readonly options: FaultyOptions) {
    this.random = seededRandom(options.seed ?? 1);
  }

  get location(): string {
    return this.inner.location;
  }

  get capabilities(): BackendCapabilities {
    return this.inner.capabilities;
  }

  async save(name: string, data: Uint8Array, options: SaveOptions = {}): Promise<void> {
    const faults = this.pick('save');
    await this.before(faults, `save ${name}`, options.signal);
    const interrupt = faults.find((f): f is Extract<Fault, { kind: 'interrupt' }> => f.kind === 'interrupt');
    if (interrupt === undefined) {
      await this.inner.save(name, data, options);
    } else {
      await this.saveInterrupted(name, data, options, interrupt.afterMs);
    }
    this.after(faults, `save ${name}`);
  }

  async load(name: string, range?: ByteRange, options: CallOptions = {}): Promise<Buffer> {
    const faults = this.pick('load');
    await this.before(faults, `load ${name}`, options.signal);
    let data = await this.inner.load(name, range, options);
    this.after(faults, `load ${name}`);
    for (const fault of faults) {
      if (fault.kind === 'truncate') data = data.subarray(0, Math.min(data.length, fault.keep ?? Math.floor(data.length / 2)));
      if (fault.kind === 'flip' && data.length > 0) {
        data = Buffer.from(data);
        for (let i = 0; i < (fault.bits ?? 1); i++) {
          const bit = Math.floor(this.random() * data.length * 8);
          data[bit >> 3] ^= 1 << (bit & 7);
        }
      }
    }
    return data;
  }

  async stat(name: string, options: CallOptions = {}): Promise<ObjectInfo> {
    const faults = this.pick('stat');
    await this.before(faults, `stat ${name}`, options.signal);
    const info = await this.inner.stat(name, options);
    this.after(faults, `stat ${name}`);
    return info;
  }

  async *list(prefix: string, options: CallOptions = {}): AsyncIterable<ObjectInfo> {
    const faults = this.pick('list');
    await this.before(faults, `list ${prefix}`, options.signal);
    const failMidway = faults.some((f) => f.kind === 'fail-after');
    let count = 0;
    for await (const info of this.inner.list(prefix, options)) {
      yield info;
      // A listing that breaks after some pages, like a dropped connection.
      if (failMidway && ++count === 10) this.after(faults, `list ${prefix}`);
    }
    this.after(faults, `list ${prefix}`);
  }

  async remove(name: string, options: CallOptions = {}): Promise<void> {
    const faults = this.pick('remove');
    await this.before(faults, `remove ${name}`, options.signal);
    await this.inner.remove(name, options);
    this.after(faults, `remove ${name}`);
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  private async saveInterrupted(name: string, data: Uint8Array, options: SaveOptions, afterMs: number): Promise<void> {
    const controller = new AbortController();
    const forward = (): void => controller.abort(options.signal?.reason);
    options.signal?.addEventListener('abort', forward, { once: true });
    const timer = setTimeout(() => controller.abort(new Transient(`injected fault: upload of ${name} interrupted`)), afterMs);
    try {
      await this.inner.save(name, data, { ...options, signal: controller.signal });
    } finally {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', forward);
    }
  }

  /** Decides which rules fire for this call (advances call counters and the PRNG). */
  private pick(method: FaultMethod): Fault[] {
    const call = ++this.stats.calls[method];
    const faults: Fault[] = [];
    for (const rule of this.options.rules) {
      if (rule.method !== '*' && rule.method !== method) continue;
      const used = this.fired.get(rule) ?? 0;
      if (rule.limit !== undefined && used >= rule.limit) continue;
      const bySchedule = rule.nth?.includes(call) ?? false;
      const byRate = rule.rate !== undefined && this.random() < rule.rate;
      const always = rule.nth === undefined && rule.rate === undefined;
      if (!bySchedule && !byRate && !always) continue;
      this.fired.set(rule, used + 1);
      this.stats.injected[method]++;
      faults.push(rule.fault);
    }
    return faults;
  }

  private async before(faults: readonly Fault[], what: string, signal: AbortSignal | undefined): Promise<void> {
    for (const fault of faults) {
      if (fault.kind === 'delay') await sleep(fault.ms, signal);
      if (fault.kind === 'fail') throw fault.error?.() ?? new Transient(`injected fault: ${what} failed`);
    }
  }

  private after(faults: readonly Fault[], what: string): void {
    for (const fault of faults) {
      if (fault.kind === 'fail-after') throw fault.error?.() ?? new Transient(`injected fault: ${what} lost its response`);
    }
  }
}
