/**
 * Worker-thread side of the CPU pool: runs pack/unpack jobs and posts results
 * back, transferring result buffers (no copy). Errors travel as plain data and
 * are rebuilt as the same error classes by the pool.
 */
import { parentPort } from 'node:worker_threads';
import { IntegrityError } from '../crypto/errors';
import { runPack, runPackMany, runUnpack, runUnpackRange, runUnpackWrite } from './pipeline-jobs';
import type { PackJob, PackManyJob, PackManyResult, RangeItemResult, UnpackJob, UnpackRangeJob, UnpackWriteJob } from './pipeline-jobs';

export type WorkerRequest =
  | { id: number; op: 'pack'; job: PackJob }
  | { id: number; op: 'pack-many'; job: PackManyJob }
  | { id: number; op: 'unpack'; job: UnpackJob }
  | { id: number; op: 'unpack-range'; job: UnpackRangeJob }
  | { id: number; op: 'unpack-write'; job: UnpackWriteJob };

export type WorkerReply =
  | { id: number; ok: true; op: 'pack'; sealed: Uint8Array; compressed: boolean; plainBytes: number; packedBytes: number; cpuMs: number }
  | { id: number; ok: true; op: 'pack-many'; sealed: Uint8Array; items: PackManyResult['items']; cpuMs: number }
  | { id: number; ok: true; op: 'unpack'; data: Uint8Array; chunkId?: string; cpuMs: number }
  /** `sealed`: the range handed over, handed back (transferred both ways, never copied). */
  | { id: number; ok: true; op: 'unpack-range'; sealed: Uint8Array; plain: Uint8Array; items: RangeItemResult[]; cpuMs: number }
  | { id: number; ok: true; op: 'unpack-write'; written: number; cpuMs: number }
  /** `code`/`syscall`: a file-system error's (e.g. ENOSPC from a write), so the caller can tell it apart. */
  | { id: number; ok: false; error: { kind: 'integrity' | 'range' | 'other'; message: string; code?: string; syscall?: string } };

/** A Uint8Array that owns its whole ArrayBuffer, so transferring it moves exactly its bytes. */
function owning(b: Uint8Array): Uint8Array {
  return b.byteOffset === 0 && b.byteLength === b.buffer.byteLength ? b : new Uint8Array(b);
}

function handle(req: WorkerRequest): { reply: WorkerReply; transfer: ArrayBuffer[] } {
  try {
    if (req.op === 'pack') {
      const r = runPack(req.job);
      const sealed = owning(r.sealed);
      return { reply: { id: req.id, ok: true, op: 'pack', sealed, compressed: r.compressed, plainBytes: r.plainBytes, packedBytes: r.packedBytes, cpuMs: r.cpuMs }, transfer: [sealed.buffer as ArrayBuffer] };
    }
    if (req.op === 'pack-many') {
      const r = runPackMany(req.job);
      const sealed = owning(r.sealed);
      return { reply: { id: req.id, ok: true, op: 'pack-many', sealed, items: r.items, cpuMs: r.cpuMs }, transfer: [sealed.buffer as ArrayBuffer] };
    }
    if (req.op === 'unpack-write') {
      const r = runUnpackWrite(req.job);
      return { reply: { id: req.id, ok: true, op: 'unpack-write', written: r.written, cpuMs: r.cpuMs }, transfer: [] };
    }
    if (req.op === 'unpack-range') {
      const r = runUnpackRange(req.job);
      const plain = owning(r.plain);
      const sealed = req.job.sealed;
      const transfer = [plain.buffer as ArrayBuffer];
      if (sealed.byteOffset === 0 && sealed.byteLength === sealed.buffer.byteLength) transfer.push(sealed.buffer as ArrayBuffer);
      return { reply: { id: req.id, ok: true, op: 'unpack-range', sealed, plain, items: r.items, cpuMs: r.cpuMs }, transfer };
    }
    const r = runUnpack(req.job);
    const data = owning(r.data);
    return { reply: { id: req.id, ok: true, op: 'unpack', data, ...(r.id === undefined ? {} : { chunkId: r.id }), cpuMs: r.cpuMs }, transfer: [data.buffer as ArrayBuffer] };
  } catch (err) {
    const kind = err instanceof IntegrityError ? 'integrity' : err instanceof RangeError ? 'range' : 'other';
    const { code, syscall } = err as NodeJS.ErrnoException;
    const fsDetail = typeof code === 'string' && typeof syscall === 'string' ? { code, syscall } : {};
    return { reply: { id: req.id, ok: false, error: { kind, message: err instanceof Error ? err.message : String(err), ...fsDetail } }, transfer: [] };
  }
}

if (parentPort !== null) {
  const port = parentPort;
  port.on('message', (req: WorkerRequest) => {
    const { reply, transfer } = handle(req);
    port.postMessage(reply, transfer);
  });
}
