/**
 * A small worker_threads pool for the CPU-heavy chunk work (compression
 * dominates a backup's CPU time), so the engine keeps every core busy while the
 * main thread reads, chunks, hashes and uploads.
 *
 *   const pool = createCpuPool(2);
 *   const { sealed, compressed } = await pool.process({ data, level, key, ad });
 *   const plain = await pool.unpack({ sealed, key, ad, compressed, maxSize, what });
 *   await pool.close();
 *
 * Inputs are copied into fresh buffers and transferred (never the whole
 * ArrayBuffer behind a view: a chunk is often a view of a larger read
 * buffer). Jobs go to the least-busy worker; a crashed worker fails only its
 * own jobs and is replaced. size 0 runs jobs inline on the calling thread.
 * Keys cross thread boundaries in memory only; nothing is logged.
 */
import { Worker } from 'node:worker_threads';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { IntegrityError } from '../crypto/errors';
import { runPack, runPackMany, runUnpack, runUnpackRange, runUnpackWrite } from './pipeline-jobs';
import type { PackJob, PackManyJob, PackManyResult, PackResult, RangeItemResult, UnpackJob, UnpackRangeJob, UnpackWriteJob } from './pipeline-jobs';
import type { WorkerReply, WorkerRequest } from './pipeline-worker';

export type { PackJob, PackManyJob, PackManyResult, PackResult, UnpackWriteJob, RangeItem, RangeItemResult, UnpackJob, UnpackRangeJob } from './pipeline-jobs';

export interface UnpackRangeOutput {
  /** The sealed range, handed back (when it was given, the caller's buffer is detached: use this one). */
  readonly sealed: Buffer;
  readonly plain: Buffer;
  readonly items: readonly RangeItemResult[];
}

export interface CpuPool {
  /** Compress (when smaller) and seal one chunk. */
  process(job: PackJob): Promise<PackResult>;
  /**
   * Compress and seal several chunks in one job. `job.data` is handed over:
   * when it is a view of a whole ArrayBuffer that buffer is transferred
   * without a copy (and is unusable afterwards).
   */
  processMany(job: PackManyJob): Promise<PackManyResult>;
  /** Open and decompress one sealed chunk; IntegrityError on any failure. */
  unpack(job: UnpackJob): Promise<Buffer>;
  /**
   * Like unpack, and with `job.idKey` also the plaintext's chunk id computed on
   * the worker. `giveSealed`: the caller hands `job.sealed` over; when it is a
   * view of a whole ArrayBuffer that buffer is transferred without a copy (and
   * is unusable afterwards).
   */
  unpackWithId(job: UnpackJob, options?: { giveSealed?: boolean }): Promise<{ data: Buffer; id?: string }>;
  /**
   * Opens, decompresses and hashes several chunks of one sealed range in one
   * job. Items that fail carry their error message (the caller decides).
   * `giveSealed`: as for unpackWithId; the range comes back in the output.
   */
  unpackRange(job: UnpackRangeJob, options?: { giveSealed?: boolean }): Promise<UnpackRangeOutput>;
  /**
   * Opens, decompresses and checks one chunk (length and id) and writes it at
   * `job.position` of `job.fd`, all on the worker: the plaintext never comes
   * back. IntegrityError before anything is written when the chunk is bad; a
   * write failure keeps its `code` (e.g. ENOSPC). The caller must keep `fd`
   * open until this settles. `giveSealed` as for unpackWithId.
   */
  unpackWrite(job: UnpackWriteJob, options?: { giveSealed?: boolean }): Promise<number>;
  /** Jobs submitted and not yet settled: keep it bounded (e.g. ≤ 2 × size). */
  readonly inFlight: number;
  readonly size: number;
  /** Waits for nothing: pending jobs are rejected; workers are terminated. */
  close(): Promise<void>;
}

export class PoolClosed extends Error {
  constructor() {
    super('the CPU pool is closed');
    this.name = 'PoolClosed';
  }
}

interface Pending {
  resolve(reply: WorkerReply): void;
  reject(err: Error): void;
}

interface Slot {
  worker: Worker;
  pending: Map<number, Pending>;
}

/**
 * Default: one worker per core. In a backup the main thread chunks and the
 * workers seal, but in a restore the main thread is mostly idle while the
 * workers decode: with one worker on two cores a 1 GiB restore took 4.1 s,
 * with two 3.8 s.
 */
export function defaultPoolSize(): number {
  return Math.max(1, availableParallelism());
}

// Under tsx the worker entry is TypeScript: register tsx's CommonJS hooks in the worker first.
const BOOTSTRAP = `
const { workerData } = require('node:worker_threads');
if (workerData.entry.endsWith('.ts')) require('tsx/cjs');
require(workerData.entry);
`;

function workerEntry(): string {
  return join(__dirname, __filename.endsWith('.ts') ? 'pipeline-worker.ts' : 'pipeline-worker.js');
}

function rebuildError(e: { kind: string; message: string; code?: string; syscall?: string }): Error {
  if (e.kind === 'integrity') return new IntegrityError(e.message);
  if (e.kind === 'range') return new RangeError(e.message);
  const err = new Error(e.message);
  return e.code === undefined ? err : Object.assign(err, { code: e.code, syscall: e.syscall });
}

/**
 * An exact-size copy that owns its ArrayBuffer. (Not `b.slice()`: on a Buffer
 * that is a view sharing memory, and transferring it would detach the caller's buffer.)
 */
function fresh(b: Uint8Array): Uint8Array {
  return new Uint8Array(b);
}

/**
 * What to transfer for a buffer the caller hands over (`give`): itself when
 * it is a view of a whole ArrayBuffer (moved, no copy; the caller's copy is
 * detached), otherwise a fresh copy.
 */
function handedOver(b: Uint8Array, give: boolean): Uint8Array {
  return give && b.byteOffset === 0 && b.byteLength === b.buffer.byteLength && b.buffer instanceof ArrayBuffer ? b : fresh(b);
}

/** Jobs a worker holds at once: one running, one ready to start, so it never waits for this thread. */
const JOBS_PER_WORKER = 2;

/**
 * Decoding for readers waiting on the result (a range of small chunks, a
 * single chunk) goes ahead of throughput work (sealing, large chunks written
 * by the worker): behind a queue of large chunks, a restore's small files
 * stalled for tens of milliseconds at every range.
 */
const URGENT_OPS: ReadonlySet<WorkerRequest['op']> = new Set(['unpack', 'unpack-range']);

interface Queued {
  readonly req: WorkerRequest;
  readonly transfer: ArrayBuffer[];
  readonly resolve: (reply: WorkerReply) => void;
  readonly reject: (err: Error) => void;
}

class WorkerPool implements CpuPool {
  private readonly slots: Slot[] = [];
  private nextId = 1;
  private closed = false;
  private count = 0;
  /** Jobs not yet handed to a worker, urgent ones first. */
  private readonly urgent: Queued[] = [];
  private readonly normal: Queued[] = [];

  constructor(readonly size: number) {
    for (let i = 0; i < size; i++) this.slots.push(this.spawn());
  }

  get inFlight(): number {
    return this.count;
  }

  private spawn(): Slot {
    const worker = new Worker(BOOTSTRAP, { eval: true, workerData: { entry: workerEntry() } });
    const slot: Slot = { worker, pending: new Map() };
    worker.on('message', (reply: WorkerReply) => {
      const p = slot.pending.get(reply.id);
      if (p === undefined) return;
      slot.pending.delete(reply.id);
      p.resolve(reply);
      this.dispatch();
    });
    const fail = (err: Error): void => {
      for (const p of slot.pending.values()) p.reject(err);
      slot.pending.clear();
      const index = this.slots.indexOf(slot);
      if (!this.closed && index >= 0) this.slots[index] = this.spawn();
      this.dispatch();
    };
    worker.on('error', (err) => fail(err));
    worker.on('exit', (code) => {
      if (!this.closed) fail(new Error(`CPU pool worker exited with code ${code}`));
    });
    // Idle workers must not keep the process alive.
    worker.unref();
    return slot;
  }

  private submit(req: WorkerRequest, transfer: ArrayBuffer[]): Promise<WorkerReply> {
    if (this.closed) return Promise.reject(new PoolClosed());
    this.count++;
    return new Promise<WorkerReply>((resolve, reject) => {
      const queued: Queued = {
        req,
        transfer,
        resolve: (r) => { this.count--; resolve(r); },
        reject: (e) => { this.count--; reject(e); },
      };
      (URGENT_OPS.has(req.op) ? this.urgent : this.normal).push(queued);
      this.dispatch();
    });
  }

  /** Hands queued jobs to the least busy workers with room. */
  private dispatch(): void {
    while (!this.closed && (this.urgent.length > 0 || this.normal.length > 0)) {
      let slot = this.slots[0];
      for (const s of this.slots) if (s.pending.size < slot.pending.size) slot = s;
      if (slot === undefined || slot.pending.size >= JOBS_PER_WORKER) return;
      const job = (this.urgent.length > 0 ? this.urgent : this.normal).shift() as Queued;
      const target = slot;
      if (target.pending.size === 0) target.worker.ref();
      const settle = (): void => {
        if (target.pending.size === 0) target.worker.unref();
      };
      target.pending.set(job.req.id, {
        resolve: (r) => { settle(); job.resolve(r); },
        reject: (e) => { settle(); job.reject(e); },
      });
      target.worker.postMessage(job.req, job.transfer);
    }
  }

  async process(job: PackJob): Promise<PackResult> {
    const data = fresh(job.data);
    const reply = await this.submit({ id: this.nextId++, op: 'pack', job: { data, level: job.level, key: fresh(job.key), ad: fresh(job.ad) } }, [data.buffer as ArrayBuffer]);
    if (!reply.ok) throw rebuildError(reply.error);
    if (reply.op !== 'pack') throw new Error('CPU pool: mismatched reply');
    const s = reply.sealed;
    return { sealed: Buffer.from(s.buffer, s.byteOffset, s.byteLength), compressed: reply.compressed, plainBytes: reply.plainBytes, packedBytes: reply.packedBytes, cpuMs: reply.cpuMs };
  }

  async processMany(job: PackManyJob): Promise<PackManyResult> {
    const data = handedOver(job.data, true);
    const items = job.items.map((item) => ({ length: item.length, keyIndex: item.keyIndex, ad: fresh(item.ad) }));
    const reply = await this.submit({ id: this.nextId++, op: 'pack-many', job: { data, level: job.level, keys: job.keys.map(fresh), items } }, [data.buffer as ArrayBuffer]);
    if (!reply.ok) throw rebuildError(reply.error);
    if (reply.op !== 'pack-many') throw new Error('CPU pool: mismatched reply');
    const s = reply.sealed;
    return { sealed: Buffer.from(s.buffer, s.byteOffset, s.byteLength), items: reply.items, cpuMs: reply.cpuMs };
  }

  async unpack(job: UnpackJob): Promise<Buffer> {
    return (await this.unpackWithId(job)).data;
  }

  async unpackWithId(job: UnpackJob, options: { giveSealed?: boolean } = {}): Promise<{ data: Buffer; id?: string }> {
    const sealed = handedOver(job.sealed, options.giveSealed === true);
    const idKey = job.idKey === undefined ? {} : { idKey: fresh(job.idKey) };
    const reply = await this.submit(
      { id: this.nextId++, op: 'unpack', job: { sealed, key: fresh(job.key), ad: fresh(job.ad), compressed: job.compressed, maxSize: job.maxSize, what: job.what, ...idKey } },
      [sealed.buffer as ArrayBuffer],
    );
    if (!reply.ok) throw rebuildError(reply.error);
    if (reply.op !== 'unpack') throw new Error('CPU pool: mismatched reply');
    const data = Buffer.from(reply.data.buffer, reply.data.byteOffset, reply.data.byteLength);
    return reply.chunkId === undefined ? { data } : { data, id: reply.chunkId };
  }

  async unpackRange(job: UnpackRangeJob, options: { giveSealed?: boolean } = {}): Promise<UnpackRangeOutput> {
    const sealed = handedOver(job.sealed, options.giveSealed === true);
    const items = job.items.map((item) => ({ ...item, key: fresh(item.key), ad: fresh(item.ad) }));
    const reply = await this.submit({ id: this.nextId++, op: 'unpack-range', job: { sealed, items, idKey: fresh(job.idKey) } }, [sealed.buffer as ArrayBuffer]);
    if (!reply.ok) throw rebuildError(reply.error);
    if (reply.op !== 'unpack-range') throw new Error('CPU pool: mismatched reply');
    return {
      sealed: Buffer.from(reply.sealed.buffer, reply.sealed.byteOffset, reply.sealed.byteLength),
      plain: Buffer.from(reply.plain.buffer, reply.plain.byteOffset, reply.plain.byteLength),
      items: reply.items,
    };
  }

  async unpackWrite(job: UnpackWriteJob, options: { giveSealed?: boolean } = {}): Promise<number> {
    const sealed = handedOver(job.sealed, options.giveSealed === true);
    const reply = await this.submit(
      { id: this.nextId++, op: 'unpack-write', job: { ...job, sealed, key: fresh(job.key), ad: fresh(job.ad), idKey: fresh(job.idKey) } },
      [sealed.buffer as ArrayBuffer],
    );
    if (!reply.ok) throw rebuildError(reply.error);
    if (reply.op !== 'unpack-write') throw new Error('CPU pool: mismatched reply');
    return reply.written;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const slots = this.slots.splice(0);
    for (const job of this.urgent.splice(0).concat(this.normal.splice(0))) job.reject(new PoolClosed());
    // Workers first, then their callers: a caller told "closed" may close a file a worker was still writing to.
    await Promise.all(slots.map((s) => s.worker.terminate()));
    for (const s of slots) {
      for (const p of s.pending.values()) p.reject(new PoolClosed());
      s.pending.clear();
    }
  }
}

/** Runs jobs on the calling thread (size 0): same API, no parallelism. */
class InlinePool implements CpuPool {
  readonly size = 0;
  readonly inFlight = 0;
  private closed = false;

  async process(job: PackJob): Promise<PackResult> {
    if (this.closed) throw new PoolClosed();
    return runPack(job);
  }

  async processMany(job: PackManyJob): Promise<PackManyResult> {
    if (this.closed) throw new PoolClosed();
    return runPackMany(job);
  }

  async unpack(job: UnpackJob): Promise<Buffer> {
    if (this.closed) throw new PoolClosed();
    return runUnpack(job).data;
  }

  async unpackWithId(job: UnpackJob): Promise<{ data: Buffer; id?: string }> {
    if (this.closed) throw new PoolClosed();
    const r = runUnpack(job);
    return r.id === undefined ? { data: r.data } : { data: r.data, id: r.id };
  }

  async unpackRange(job: UnpackRangeJob): Promise<UnpackRangeOutput> {
    if (this.closed) throw new PoolClosed();
    const r = runUnpackRange(job);
    return { sealed: Buffer.from(job.sealed.buffer, job.sealed.byteOffset, job.sealed.byteLength), plain: r.plain, items: r.items };
  }

  async unpackWrite(job: UnpackWriteJob): Promise<number> {
    if (this.closed) throw new PoolClosed();
    return runUnpackWrite(job).written;
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}

export function createCpuPool(size: number = defaultPoolSize()): CpuPool {
  if (!Number.isInteger(size) || size < 0 || size > 64) throw new RangeError(`CPU pool size must be an integer in [0, 64], not ${size}`);
  return size === 0 ? new InlinePool() : new WorkerPool(size);
}
