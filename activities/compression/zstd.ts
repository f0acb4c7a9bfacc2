/**
 * Per-chunk zstd (native zstd-napi). A chunk is stored compressed only when
 * that is smaller. Decompression is bounded: input comes from untrusted
 * storage (even if authenticated, a key holder could be hostile), so a frame
 * that claims or produces more than `maxSize` bytes is rejected without
 * allocating it.
 */
import * as binding from 'zstd-napi/binding';
import { IntegrityError } from '../crypto/errors';

export const DEFAULT_COMPRESSION_LEVEL = 1;
/** Default output cap: the largest chunk the chunker can produce (max avg 64 MiB × 4). */
export const DEFAULT_MAX_DECOMPRESSED_BYTES = 256 * 1024 * 1024;

let cctx: binding.CCtx | undefined;
let dctx: binding.DCtx | undefined;
let streamDctx: binding.DCtx | undefined;
let cctxLevel: number | undefined;

function compressor(level: number): binding.CCtx {
  if (cctx === undefined) cctx = new binding.CCtx();
  if (cctxLevel !== level) {
    cctx.reset(binding.ResetDirective.parameters);
    cctx.setParameter(binding.CParameter.compressionLevel, level);
    cctx.setParameter(binding.CParameter.contentSizeFlag, 1);
    cctx.setParameter(binding.CParameter.checksumFlag, 0);
    cctxLevel = level;
  }
  return cctx;
}

export interface CompressedChunk {
  data: Buffer;
  compressed: boolean;
}

export function compressChunk(data: Uint8Array, level: number = DEFAULT_COMPRESSION_LEVEL): CompressedChunk {
  if (!Number.isInteger(level) || level < binding.minCLevel() || level > binding.maxCLevel()) throw new RangeError(`invalid zstd level ${level}`);
  const input = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  if (input.length === 0) return { data: input, compressed: false };
  const bound = binding.compressBound(input.length);
  const out = Buffer.allocUnsafe(bound);
  const written = compressor(level).compress2(out, input);
  if (written >= input.length) return { data: input, compressed: false };
  // Copy out so the oversized scratch buffer is not kept alive by a view.
  return { data: Buffer.from(out.subarray(0, written)), compressed: true };
}

/**
 * Returns the chunk's plaintext. Any malformed frame, trailing bytes, or
 * output above `maxSize` is an IntegrityError naming `what`.
 */
export function decompressChunk(
  data: Uint8Array,
  compressed: boolean,
  maxSize: number = DEFAULT_MAX_DECOMPRESSED_BYTES,
  what = 'chunk',
  /** Decompress into this buffer when it is large enough (the result is then a view of it). */
  into?: Buffer,
): Buffer {
  const input = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  if (!compressed) {
    if (input.length > maxSize) throw new IntegrityError(`${what}: ${input.length} bytes exceed the limit of ${maxSize}`);
    return input;
  }
  try {
    const frameSize = binding.findFrameCompressedSize(input);
    if (frameSize !== input.length) throw new IntegrityError(`${what}: compressed data is not exactly one zstd frame`);
    const contentSize = binding.getFrameContentSize(input);
    if (dctx === undefined) dctx = new binding.DCtx();
    if (contentSize !== null) {
      if (contentSize > maxSize) throw new IntegrityError(`${what}: frame claims ${contentSize} bytes, above the limit of ${maxSize}`);
      const out = into !== undefined && into.length >= contentSize ? into.subarray(0, contentSize) : Buffer.allocUnsafe(contentSize);
      const written = dctx.decompress(out, input);
      if (written !== contentSize) throw new IntegrityError(`${what}: frame produced ${written} bytes, header said ${contentSize}`);
      return out;
    }
    // A separate context: the window cap set there must not constrain the one-shot path.
    if (streamDctx === undefined) streamDctx = new binding.DCtx();
    return decompressUnknownSize(streamDctx, input, maxSize, what);
  } catch (err) {
    if (err instanceof IntegrityError) throw err;
    throw new IntegrityError(`${what}: invalid zstd data (${err instanceof Error ? err.message : 'unknown error'})`, { cause: err });
  }
}

/** Frames without a content size (not written by Coffer): stream out in pieces, stop past the cap. */
function decompressUnknownSize(ctx: binding.DCtx, input: Buffer, maxSize: number, what: string): Buffer {
  ctx.reset(binding.ResetDirective.sessionOnly);
  // Streaming allocates the frame's declared window: cap it near the output cap
  // so a hostile header cannot make the decoder reserve 128 MiB+ for a tiny chunk.
  ctx.setParameter(binding.DParameter.windowLogMax, Math.max(10, Math.min(27, Math.ceil(Math.log2(Math.max(1, maxSize))))));
  const pieces: Buffer[] = [];
  let total = 0;
  let remaining = input;
  const pieceSize = binding.dStreamOutSize();
  for (;;) {
    const piece = Buffer.allocUnsafe(pieceSize);
    const [ret, produced, consumed] = ctx.decompressStream(piece, remaining);
    total += produced;
    if (total > maxSize) throw new IntegrityError(`${what}: decompressed data exceeds the limit of ${maxSize} bytes`);
    if (produced > 0) pieces.push(piece.subarray(0, produced));
    remaining = remaining.subarray(consumed);
    if (ret === 0) break; // frame complete
    if (remaining.length === 0 && produced < pieceSize) throw new IntegrityError(`${what}: zstd frame is truncated`);
  }
  return Buffer.concat(pieces, total);
}
