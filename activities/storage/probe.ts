import { createHash, randomBytes } from 'node:crypto';
import type { Backend } from './backend';
import { AlreadyExists, InvalidRange, NotFound, RetentionLocked } from './errors';
import { describe as describeError } from './common';
import { CofferError } from '../errors';

/**
 * The checks behind `coffer storage test <url>`: a short, self-cleaning run of
 * every contract method against a live backend, reporting what works, what
 * the server really supports and how long each step took. Objects go under a
 * fresh `probe-<random>/` prefix and are removed at the end.
 */

export interface ProbeCheck {
  readonly name: string;
  readonly ok: boolean;
  readonly ms: number;
  /** What went wrong (error code and message, never credentials) or a measurement. */
  readonly detail?: string;
}

export interface ProbeResult {
  readonly location: string;
  readonly ok: boolean;
  readonly checks: readonly ProbeCheck[];
  readonly supports: {
    /** Declared by the backend. */
    readonly atomicCreate: boolean;
    /** Observed: a second save of the same name was refused. */
    readonly refusesOverwrite: boolean;
    readonly retention: 'verified' | 'unsupported' | 'not-tested' | 'failed';
  };
  /** Upload / download throughput of the large object, MB/s. */
  readonly throughput?: { readonly upMBps: number; readonly downMBps: number };
}

export interface ProbeOptions {
  /** Size of the large-object check (default 20 MiB: above the multipart thresholds). */
  readonly largeBytes?: number;
  /**
   * Also verify retention by saving an object locked for `retentionSeconds`
   * (default: off). The probe then waits for the lock to end to remove it.
   */
  readonly retentionSeconds?: number;
  readonly signal?: AbortSignal;
}

export async function probeBackend(backend: Backend, options: ProbeOptions = {}): Promise<ProbeResult> {
  const dir = `probe-${randomBytes(6).toString('hex')}`;
  const checks: ProbeCheck[] = [];
  const signal = options.signal;
  const created = new Set<string>();
  let refusesOverwrite = false;
  let retention: ProbeResult['supports']['retention'] = backend.capabilities.retention ? 'not-tested' : 'unsupported';
  let throughput: ProbeResult['throughput'];

  const step = async (name: string, fn: () => Promise<string | void>): Promise<boolean> => {
    const started = performance.now();
    try {
      const detail = await fn();
      checks.push({ name, ok: true, ms: Math.round(performance.now() - started), ...(detail ? { detail } : {}) });
      return true;
    } catch (err) {
      checks.push({ name, ok: false, ms: Math.round(performance.now() - started), detail: explain(err) });
      return false;
    }
  };

  const small = randomBytes(4096);
  const smallName = `${dir}/small`;
  const wrote = await step('write', async () => {
    await backend.save(smallName, small, { signal });
    created.add(smallName);
  });
  if (wrote) {
    await step('read', async () => {
      const back = await backend.load(smallName, undefined, { signal });
      if (!back.equals(small)) throw new Error('read back different bytes');
    });
    await step('range read', async () => {
      const part = await backend.load(smallName, { offset: 100, length: 50 }, { signal });
      if (!part.equals(small.subarray(100, 150))) throw new Error('range returned wrong bytes');
      const clipped = await backend.load(smallName, { offset: 4000, length: 500 }, { signal });
      if (clipped.length !== 96) throw new Error(`range past the end returned ${clipped.length} bytes, expected 96`);
      await expectError(() => backend.load(smallName, { offset: 5000 }, { signal }), InvalidRange, 'offset beyond the end');
    });
    await step('stat', async () => {
      const info = await backend.stat(smallName, { signal });
      if (info.size !== small.length) throw new Error(`stat says ${info.size} bytes, expected ${small.length}`);
      await expectError(() => backend.stat(`${dir}/missing`, { signal }), NotFound, 'missing object');
    });
    await step('save-if-absent', async () => {
      await expectError(() => backend.save(smallName, randomBytes(10), { signal }), AlreadyExists, 'second save of the same name');
      const back = await backend.load(smallName, undefined, { signal });
      if (!back.equals(small)) throw new Error('the refused save changed the stored object');
      refusesOverwrite = true;
    });
  }

  const largeBytes = options.largeBytes ?? 20 * 1024 * 1024;
  const large = randomBytes(largeBytes);
  const largeName = `${dir}/large`;
  await step(`large object (${Math.round(largeBytes / 1024 / 1024)} MiB)`, async () => {
    const t0 = performance.now();
    await backend.save(largeName, large, { signal });
    created.add(largeName);
    const t1 = performance.now();
    const back = await backend.load(largeName, undefined, { signal });
    const t2 = performance.now();
    if (sha256(back) !== sha256(large)) throw new Error('large object read back different bytes');
    const mb = largeBytes / 1e6;
    throughput = { upMBps: round(mb / ((t1 - t0) / 1000)), downMBps: round(mb / ((t2 - t1) / 1000)) };
    return `up ${throughput.upMBps} MB/s, down ${throughput.downMBps} MB/s`;
  });

  await step('list', async () => {
    const names = new Set<string>();
    for await (const info of backend.list(`${dir}/`, { signal })) names.add(info.name);
    for (const name of created) if (!names.has(name)) throw new Error(`listing lacks ${name}`);
    return `${names.size} objects`;
  });

  if (backend.capabilities.retention && options.retentionSeconds !== undefined) {
    const lockedName = `${dir}/locked`;
    const ok = await step('retention', async () => {
      const until = new Date(Date.now() + options.retentionSeconds! * 1000);
      await backend.save(lockedName, randomBytes(16), { retainUntil: until, signal });
      created.add(lockedName);
      await expectError(() => backend.remove(lockedName, { signal }), RetentionLocked, 'removing a locked object');
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, until.getTime() - Date.now()) + 1500));
    });
    retention = ok ? 'verified' : 'failed';
  }

  await step('remove', async () => {
    for (const name of created) await backend.remove(name, { signal });
    for (const name of created) await expectError(() => backend.stat(name, { signal }), NotFound, `stat after removing ${name}`);
    await backend.remove(`${dir}/never-existed`, { signal }); // idempotent
    created.clear();
  });
  // Best effort: leave nothing behind even when a step failed.
  for (const name of created) await backend.remove(name).catch(() => undefined);

  return {
    location: backend.location,
    ok: checks.every((c) => c.ok),
    checks,
    supports: { atomicCreate: backend.capabilities.atomicCreate, refusesOverwrite, retention },
    ...(throughput === undefined ? {} : { throughput }),
  };
}

async function expectError(fn: () => Promise<unknown>, type: new (...args: never[]) => CofferError, what: string): Promise<void> {
  try {
    await fn();
  } catch (err) {
    if (err instanceof type) return;
    throw new Error(`${what}: expected ${type.name}, got ${explain(err)}`);
  }
  throw new Error(`${what}: expected ${type.name}, but it succeeded`);
}

function explain(err: unknown): string {
  if (err instanceof CofferError) return `${err.code} ${err.name}: ${err.message}`;
  return describeError(err);
}

function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

function round(value: number): number {
  return Math.round(value * 10) / 10;
}
