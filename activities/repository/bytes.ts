/**
 * Minimal big-endian binary writer/reader for the format's binary structures
 * (pack headers, index objects). The reader throws IntegrityError on any
 * out-of-bounds read, so a malformed (but authenticated) structure never
 * turns into a RangeError deep inside the engine.
 */
import { IntegrityError } from '../crypto/errors';

export class ByteWriter {
  private buf: Buffer;
  private pos = 0;

  constructor(initial = 4096) {
    this.buf = Buffer.allocUnsafe(initial);
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  u8(v: number): this {
    this.ensure(1);
    this.pos = this.buf.writeUInt8(v, this.pos);
    return this;
  }

  u32(v: number): this {
    this.ensure(4);
    this.pos = this.buf.writeUInt32BE(v, this.pos);
    return this;
  }

  /** Unsigned integer up to 2^53, as u64 big-endian. */
  u64(v: number): this {
    if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`u64: invalid value ${v}`);
    this.ensure(8);
    this.pos = this.buf.writeBigUInt64BE(BigInt(v), this.pos);
    return this;
  }

  bytes(b: Uint8Array): this {
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
    return this;
  }

  /** 32 bytes from a 64-character hex id. */
  id(hex: string): this {
    if (!/^[0-9a-f]{64}$/.test(hex)) throw new RangeError('id must be 64 lowercase hex characters');
    return this.bytes(Buffer.from(hex, 'hex'));
  }

  finish(): Buffer {
    return this.buf.subarray(0, this.pos);
  }
}

export class ByteReader {
  private pos = 0;

  constructor(
    private readonly buf: Buffer,
    private readonly what: string,
  ) {}

  private need(n: number): void {
    if (this.pos + n > this.buf.length) throw new IntegrityError(`${this.what}: structure is truncated`);
  }

  u8(): number {
    this.need(1);
    const v = this.buf.readUInt8(this.pos);
    this.pos += 1;
    return v;
  }

  u32(): number {
    this.need(4);
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  u64(): number {
    this.need(8);
    const v = this.buf.readBigUInt64BE(this.pos);
    this.pos += 8;
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new IntegrityError(`${this.what}: integer out of range`);
    return Number(v);
  }

  bytes(n: number): Buffer {
    this.need(n);
    const v = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }

  id(): string {
    return this.bytes(32).toString('hex');
  }

  get remaining(): number {
    return this.buf.length - this.pos;
  }

  /** A count of records of `recordSize` bytes that must fit in what is left. */
  count(recordSize: number): number {
    const n = this.u32();
    if (n * recordSize > this.remaining) throw new IntegrityError(`${this.what}: record count ${n} exceeds the data`);
    return n;
  }

  end(): void {
    if (this.pos !== this.buf.length) throw new IntegrityError(`${this.what}: ${this.buf.length - this.pos} unexpected trailing bytes`);
  }
}
