/**
 * The FastCDC hot loop, in WebAssembly. The same loop in JavaScript runs at
 * ~600 MB/s here and was the largest single cost of a first backup on the
 * main thread; compiled to WASM it runs at ~1.4 GB/s including the copy of
 * the bytes into the module's memory.
 *
 * The module is ~100 bytes, so it is assembled here from its opcodes instead
 * of shipping a binary nobody can review. Its one function is exactly:
 *
 *   scan(pos, end, h, mask) -> i32
 *     for (; pos < end; pos++) {
 *       h = (h << 1) + gear[mem[pos]]       // i32 arithmetic, wraps
 *       if ((h & mask) == 0) { hash = h; return pos + 1 }
 *     }
 *     hash = h; return -1
 *
 * with the gear table at memory[0..1024) (256 little-endian i32) and the bytes
 * at memory[1024..). `scanReference` below is the JavaScript definition the
 * tests hold it to.
 */

/** Bytes copied into the module per call: small enough that an early cut wastes little copying. */
const WINDOW = 256 * 1024;
const GEAR_BYTES = 1024;
const PAGE = 65536;

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

function section(id: number, bytes: number[]): number[] {
  return [id, ...uleb(bytes.length), ...bytes];
}

function ascii(s: string): number[] {
  return [s.length, ...Buffer.from(s, 'ascii')];
}

const op = {
  block: 0x02, loop: 0x03, if: 0x04, end: 0x0b, br: 0x0c, brIf: 0x0d, return: 0x0f,
  localGet: 0x20, localSet: 0x21, localTee: 0x22, globalSet: 0x24,
  i32Load: 0x28, i32Load8u: 0x2d, i32Const: 0x41, i32Eqz: 0x45, i32GeU: 0x4f,
  i32Add: 0x6a, i32And: 0x71, i32Shl: 0x74,
  void: 0x40, i32: 0x7f,
} as const;

// Locals: 0 pos, 1 end, 2 h, 3 mask.
const POS = 0, END = 1, H = 2, MASK = 3;

function scanBody(): number[] {
  const code = [
    0x00, // no locals beyond the parameters
    op.block, op.void,
    op.loop, op.void,
    op.localGet, POS, op.localGet, END, op.i32GeU, op.brIf, 1, // pos >= end: leave the block
    op.localGet, H, op.i32Const, 1, op.i32Shl, // h << 1
    op.localGet, POS, op.i32Load8u, 0, 0, // mem[pos]
    op.i32Const, 2, op.i32Shl, op.i32Load, 2, 0, // gear[byte]
    op.i32Add, op.localTee, H,
    op.localGet, MASK, op.i32And, op.i32Eqz,
    op.if, op.void,
    op.localGet, H, op.globalSet, 0,
    op.localGet, POS, op.i32Const, 1, op.i32Add, op.return,
    op.end,
    op.localGet, POS, op.i32Const, 1, op.i32Add, op.localSet, POS,
    op.br, 0,
    op.end, // loop
    op.end, // block
    op.localGet, H, op.globalSet, 0,
    op.i32Const, 0x7f, // -1 (signed LEB128)
    op.end,
  ];
  return [...uleb(code.length), ...code];
}

function moduleBytes(): Uint8Array {
  const pages = Math.ceil((GEAR_BYTES + WINDOW) / PAGE);
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, [1, 0x60, 4, op.i32, op.i32, op.i32, op.i32, 1, op.i32]), // type: (i32 ×4) -> i32
    ...section(3, [1, 0]), // one function of type 0
    ...section(5, [1, 0x00, ...uleb(pages)]), // its own memory, fixed size
    ...section(6, [1, op.i32, 1, op.i32Const, 0, op.end]), // mutable i32 global: the hash
    ...section(7, [3, ...ascii('scan'), 0x00, 0, ...ascii('hash'), 0x03, 0, ...ascii('memory'), 0x02, 0]),
    ...section(10, [1, ...scanBody()]),
  ]);
}

interface ScanExports {
  scan(pos: number, end: number, h: number, mask: number): number;
  hash: { value: number };
  memory: { buffer: ArrayBuffer };
}

/** The part of the WebAssembly global used here (this project's TypeScript libs do not declare it). */
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: unknown };
}

const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

let compiled: object | undefined;

/**
 * One scanner per thread is enough (calls are synchronous); it holds whichever
 * gear table was used last and reloads it when another one is passed.
 */
export class GearScanner {
  private readonly exports: ScanExports;
  private readonly bytes: Uint8Array;
  private loaded: Int32Array | undefined;
  /** The hash after the last `scan` (a second return value without allocating). */
  hash = 0;

  constructor() {
    compiled ??= new wasm.Module(moduleBytes());
    this.exports = new wasm.Instance(compiled, {}).exports as ScanExports;
    this.bytes = new Uint8Array(this.exports.memory.buffer);
  }

  /** Returns the index just past the first cut in buf[pos..end), or -1; `hash` holds the rolled hash. */
  scan(buf: Uint8Array, pos: number, end: number, hash: number, mask: number, gear: Int32Array): number {
    if (this.loaded !== gear) {
      // The module reads the table as little-endian i32; typed arrays use the platform's order.
      const view = new DataView(this.exports.memory.buffer, 0, GEAR_BYTES);
      for (let i = 0; i < 256; i++) view.setInt32(i * 4, gear[i], true);
      this.loaded = gear;
    }
    let h = hash;
    for (let at = pos; at < end; at += WINDOW) {
      const n = Math.min(WINDOW, end - at);
      this.bytes.set(buf.subarray(at, at + n), GEAR_BYTES);
      const cut = this.exports.scan(GEAR_BYTES, GEAR_BYTES + n, h, mask);
      h = this.exports.hash.value;
      if (cut >= 0) {
        this.hash = h;
        return at + cut - GEAR_BYTES;
      }
    }
    this.hash = h;
    return -1;
  }
}

/** The definition `GearScanner.scan` must match (used by the tests, and as the documentation of the loop). */
export function scanReference(buf: Uint8Array, pos: number, end: number, hash: number, mask: number, gear: Int32Array): { cut: number; hash: number } {
  let h = hash;
  for (let i = pos; i < end; i++) {
    h = ((h << 1) + gear[buf[i]]) | 0;
    if ((h & mask) === 0) return { cut: i + 1, hash: h };
  }
  return { cut: -1, hash: h };
}

let shared: GearScanner | undefined;

/** This thread's scanner. */
export function gearScanner(): GearScanner {
  shared ??= new GearScanner();
  return shared;
}
