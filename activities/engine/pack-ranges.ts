/**
 * Sealed chunk bytes read from packs in ranges larger than one chunk, with a
 * small cache of the ranges recently read.
 *
 * Loading each chunk with its own ranged request costs a round trip per chunk
 * (open/stat/read/close on a local directory, an HTTP request on object
 * storage). When a chunk is requested, the range read extends forward over
 * the chunks that are likely to be wanted next from the same pack:
 *
 * - chunks a caller announced with `expect()` (restore announces every chunk
 *   of the selection before writing anything);
 * - without such a plan, tree chunks after a tree chunk (a tree walk loads
 *   them all, and they were written together).
 *
 * A range never spans more than MAX_RANGE bytes or skips a gap of unwanted
 * bytes wider than MAX_GAP, so a partial restore does not download whole packs
 * for a few chunks. Ranges being loaded are shared by concurrent requests.
 * Nothing here is trusted: every chunk is still authenticated by the caller,
 * and a range that comes back short is simply not used.
 *
 * With a decoder (the repository's CPU pool), the announced data chunks of a
 * new range are opened, decompressed and hashed in a few jobs off the
 * caller's thread (at most DECODE_JOB_BYTES each, so the first plaintexts come
 * back early and both workers share a range), instead of one by one on it;
 * `chunk()` then hands out their verified plaintexts. A chunk the decoder
 * could not verify is simply not handed out that way: the caller decodes its
 * sealed bytes itself and reports what is wrong with it.
 *
 * With announced chunks, the first use of a range starts reading the next
 * range of the same pack that holds announced chunks (when it fits the cache
 * without evicting anything), so a restore of many small files does not stop
 * at every range boundary to wait for a read and its decoding.
 *
 * Each announced chunk is decoded once: a chunk handed out leaves the
 * announcement (a later range does not decode it again for nobody), a chunk
 * being decoded by one range is left to it, and a full cache drops ranges
 * whose plaintexts were all handed out first; a range still holding
 * plaintexts for files not reached yet loses only its sealed bytes while
 * those plaintexts fit the budget. Before, a cache smaller than the ranges in
 * use re-read and re-decoded ranges over and over (16 MiB: a 1 GiB restore
 * took minutes instead of seconds).
 */
import type { Backend } from '../storage/backend';
import type { ChunkLocation, MasterIndex } from '../repository/master-index';
import { Names } from '../repository/format';

/**
 * 2 MiB, not 8: the ranges in use at once (4 packs filled side by side at
 * backup, each read ahead, two walks) then take ~16 MiB of the cache instead of
 * ~64, and decoded plaintexts wait less for their files (1 GiB restore: peak
 * RSS ~530 -> ~430 MiB, page faults ~154k -> ~126k).
 */
const MAX_RANGE = 2 * 1024 * 1024;
/**
 * Chunks this large are read on their own: one request per chunk is already
 * cheap relative to its size, and an exact buffer can be handed to a worker
 * thread without a copy.
 */
export const OWN_READ_FROM = 128 * 1024;
const MAX_GAP = 256 * 1024;
const DEFAULT_BUDGET = 64 * 1024 * 1024;

interface Entry {
  readonly id: string;
  readonly offset: number;
  readonly length: number;
  readonly tree: boolean;
}

interface Decoded {
  readonly range: Range;
  readonly plain: Promise<Buffer | undefined>;
  /** Its plaintext length (the index's). */
  readonly bytes: number;
}

interface Range {
  readonly pack: string;
  readonly start: number;
  readonly end: number;
  /** Resolves to the bytes [start, end) or undefined when the load failed or came back short (or the range was dropped). */
  bytes: Promise<Buffer | undefined>;
  /** Chunk ids whose plaintexts are being decoded from this range (forgotten with the range). */
  readonly decoding?: readonly string[];
  /** Set once the range was first used and the next one of its pack was started. */
  readAhead?: boolean;
  /** Decoded plaintexts of this range not yet handed out. */
  pending: number;
}

/** A chunk inside a range, for the decoder. */
export interface RangeChunk {
  readonly id: string;
  readonly loc: ChunkLocation;
  /** Offset of its sealed bytes inside the range. */
  readonly start: number;
}

/**
 * Opens several chunks of one sealed range at once. Returns the plaintexts it
 * verified completely (authenticated, decompressed, length and chunk id
 * checked) and the range's bytes (handed back: the decoder may have moved the
 * buffer it was given to another thread). Rejecting is allowed: the chunks
 * are then read and decoded one by one.
 */
export type RangeDecoder = (sealed: Buffer, chunks: readonly RangeChunk[], pack: string) => Promise<{ sealed: Buffer; plain: ReadonlyMap<string, Buffer> }>;

/** A range with fewer announced chunks than this is not worth a decoder job. */
const DECODE_AT_LEAST = 2;
/** Sealed bytes per decoder job: one 8 MiB job kept a worker (and every file waiting on it) busy for 150-300 ms. */
const DECODE_JOB_BYTES = 512 * 1024;

/** The bytes of a range no longer cached. */
const NOT_CACHED: Promise<Buffer | undefined> = Promise.resolve(undefined);

export type ChunkBytes = { readonly plain: Buffer } | { readonly sealed: Buffer };

export class PackRanges {
  /** Pack id → its chunks sorted by offset; rebuilt when the index changed size. */
  private byPack = new Map<string, Entry[]>();
  private builtForSize = -1;
  /** Cached and loading ranges, least recently used first. */
  private readonly ranges = new Map<Range, number>();
  private readonly rangesOfPack = new Map<string, Set<Range>>();
  private cachedBytes = 0;
  private expected: Set<string> | undefined;
  /** Chunk id → its plaintext being decoded with a range (undefined: not verified, decode it yourself). Taken once. */
  private readonly decoded = new Map<string, Decoded>();
  /** Plaintext bytes in `decoded`, waiting to be handed out. */
  private pendingBytes = 0;
  private readonly budget: number;
  private readonly decoder: RangeDecoder | undefined;

  constructor(
    private readonly backend: Backend,
    private readonly index: MasterIndex,
    options: { readonly budget?: number; readonly decoder?: RangeDecoder } = {},
  ) {
    this.budget = options.budget ?? DEFAULT_BUDGET;
    this.decoder = options.decoder;
  }

  /**
   * Announces chunks about to be read (replaces an earlier announcement);
   * undefined forgets it, and the plaintexts decoded for it and not handed out
   * (a restore that failed or was cancelled half-way) with it.
   */
  expect(ids: Iterable<string> | undefined): void {
    this.expected = ids === undefined ? undefined : new Set(ids);
    if (ids === undefined) for (const [id, entry] of this.decoded) this.take(id, entry);
  }

  /** Decoded plaintext bytes waiting to be handed out (for tests and diagnostics). */
  get bytesPending(): number {
    return this.pendingBytes;
  }

  clear(): void {
    this.decoded.clear();
    this.pendingBytes = 0;
    this.ranges.clear();
    this.rangesOfPack.clear();
    this.cachedBytes = 0;
    this.byPack = new Map();
    this.builtForSize = -1;
    this.expected = undefined;
  }

  private packEntries(pack: string): Entry[] | undefined {
    if (this.builtForSize !== this.index.chunks.size) {
      const byPack = new Map<string, Entry[]>();
      for (const [id, loc] of this.index.chunks) {
        let list = byPack.get(loc.pack);
        if (list === undefined) byPack.set(loc.pack, (list = []));
        list.push({ id, offset: loc.offset, length: loc.length, tree: loc.type === 'tree' });
      }
      for (const list of byPack.values()) list.sort((a, b) => a.offset - b.offset);
      this.byPack = byPack;
      this.builtForSize = this.index.chunks.size;
    }
    return this.byPack.get(pack);
  }

  /** End of the range to read for a chunk at `loc`: the chunk itself, extended over wanted successors. */
  private rangeEnd(loc: ChunkLocation): number {
    const start = loc.offset;
    let end = start + loc.length;
    const expected = this.expected;
    if (loc.length >= OWN_READ_FROM || (expected === undefined && loc.type !== 'tree')) return end;
    const entries = this.packEntries(loc.pack);
    if (entries === undefined) return end;
    let lo = 0;
    let hi = entries.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (entries[mid].offset < start) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo + 1; i < entries.length; i++) {
      const e = entries[i];
      if (e.offset - end > MAX_GAP || e.offset + e.length - start > MAX_RANGE) break;
      const wanted = e.length < OWN_READ_FROM && (expected !== undefined ? expected.has(e.id) : e.tree);
      if (wanted) end = e.offset + e.length;
    }
    return end;
  }

  private touch(range: Range): void {
    this.ranges.delete(range);
    this.ranges.set(range, range.end - range.start);
  }

  private add(range: Range): void {
    this.ranges.set(range, range.end - range.start);
    let set = this.rangesOfPack.get(range.pack);
    if (set === undefined) this.rangesOfPack.set(range.pack, (set = new Set()));
    set.add(range);
    this.cachedBytes += range.end - range.start;
    // Ranges whose decoded chunks were all handed out go first. A range whose plaintexts still
    // wait for files not reached yet loses only its sealed bytes while the waiting plaintexts fit
    // the budget: throwing them away meant reading and decoding them again, and when ranges did
    // not fit the cache, again and again (a 16 MiB cache made a 1 GiB restore take minutes).
    for (const spentOnly of [true, false]) {
      for (const [old] of this.ranges) {
        if (this.cachedBytes <= this.budget) return;
        if (old === range) break;
        if (!spentOnly || old.pending === 0) this.drop(old, this.pendingBytes <= this.budget);
      }
    }
  }

  /** Hands out a decoded plaintext (once). */
  private take(id: string, entry: Decoded): void {
    if (this.decoded.get(id) !== entry) return;
    this.decoded.delete(id);
    entry.range.pending--;
    this.pendingBytes -= entry.bytes;
  }

  private drop(range: Range, keepDecoded = false): void {
    const size = this.ranges.get(range);
    if (size === undefined) return;
    if (!keepDecoded) {
      for (const id of range.decoding ?? []) {
        const entry = this.decoded.get(id);
        if (entry?.range === range) this.take(id, entry);
      }
    }
    // Decoded entries kept refer to the range: they must not keep its sealed bytes alive.
    range.bytes = NOT_CACHED;
    this.ranges.delete(range);
    const set = this.rangesOfPack.get(range.pack);
    set?.delete(range);
    if (set?.size === 0) this.rangesOfPack.delete(range.pack);
    this.cachedBytes -= size;
  }

  /** Announced small data chunks lying wholly inside [from, end) of `pack`, not being decoded yet. */
  private chunksIn(pack: string, from: number, end: number, expected: ReadonlySet<string>): RangeChunk[] {
    const out: RangeChunk[] = [];
    for (const e of this.packEntries(pack) ?? []) {
      // A chunk another range is decoding already is left to that one.
      if (e.offset < from || e.tree || e.length >= OWN_READ_FROM || !expected.has(e.id) || this.decoded.has(e.id)) continue;
      if (e.offset + e.length > end) break;
      const loc = this.index.get(e.id);
      if (loc !== undefined && loc.pack === pack && loc.offset === e.offset) out.push({ id: e.id, loc, start: e.offset - from });
    }
    return out;
  }

  /** Starts reading the range that serves `loc` (and, with a decoder, decoding its announced chunks); undefined: read it on its own. */
  private startRange(loc: ChunkLocation, end = this.rangeEnd(loc)): Range | undefined {
    const from = loc.offset;
    if (end === from + loc.length) return undefined;
    const name = Names.pack(loc.pack);
    // The range belongs to no single request, so no caller's signal may abort it; failures fall back to exact reads.
    const loaded = this.backend.load(name, { offset: from, length: end - from }).then(
      (b) => (b.length === end - from ? b : undefined),
      () => undefined,
    );
    const decoder = this.decoder;
    const chunks = decoder === undefined || this.expected === undefined ? [] : this.chunksIn(loc.pack, from, end, this.expected);
    if (decoder === undefined || chunks.length < DECODE_AT_LEAST) {
      const range: Range = { pack: loc.pack, start: from, end, bytes: loaded, pending: 0 };
      this.add(range);
      return range;
    }
    const range: Range = { pack: loc.pack, start: from, end, bytes: loaded, decoding: chunks.map((c) => c.id), pending: chunks.length };
    for (const job of decodeJobs(chunks)) {
      const jobStart = job[0].start;
      const jobEnd = job[job.length - 1].start + job[job.length - 1].loc.length;
      const relative = job.map((c) => ({ ...c, start: c.start - jobStart }));
      // A copy per job: the decoder may move its buffer to a worker, and the range keeps the original for exact reads.
      const decoding = loaded.then((b) => (b === undefined ? undefined : decoder(Buffer.from(b.subarray(jobStart, jobEnd)), relative, name).catch(() => undefined)));
      for (const c of job) {
        this.decoded.set(c.id, { range, plain: decoding.then((r) => r?.plain.get(c.id)), bytes: c.loc.rawLength });
        this.pendingBytes += c.loc.rawLength;
      }
    }
    this.add(range);
    return range;
  }

  /** On a range's first use: starts the next range of its pack holding announced chunks not yet covered. */
  private readAheadAfter(range: Range): void {
    if (range.readAhead === true) return;
    range.readAhead = true;
    const expected = this.expected;
    if (expected === undefined) return;
    const entries = this.packEntries(range.pack) ?? [];
    let lo = 0;
    let hi = entries.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (entries[mid].offset < range.end) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo; i < entries.length; i++) {
      const e = entries[i];
      if (e.tree || e.length >= OWN_READ_FROM || !expected.has(e.id)) continue;
      if (this.covering(range.pack, e.offset, e.offset + e.length) !== undefined) return;
      const loc = this.index.get(e.id);
      if (loc === undefined || loc.pack !== range.pack || loc.offset !== e.offset) return;
      // Only into free room: evicting a range whose decoded chunks still wait for their files,
      // to make room for chunks wanted later, threw that work away and did it again.
      const end = this.rangeEnd(loc);
      if (this.cachedBytes + (end - loc.offset) <= this.budget) this.startRange(loc, end);
      return;
    }
  }

  private covering(pack: string, from: number, to: number): Range | undefined {
    for (const r of this.rangesOfPack.get(pack) ?? []) if (r.start <= from && r.end >= to) return r;
    return undefined;
  }

  /**
   * The chunk `id` at `loc`: its verified plaintext when a decoder job had it,
   * else its stored (sealed) bytes, possibly read as part of a larger range.
   * Errors of the backend (NotFound, …) are the caller's to map.
   */
  async chunk(id: string, loc: ChunkLocation, signal?: AbortSignal): Promise<ChunkBytes> {
    const from = loc.offset;
    const to = loc.offset + loc.length;
    let decoded = this.decoded.get(id);
    let range = this.covering(loc.pack, from, to);
    if (range !== undefined) this.touch(range);
    else if (decoded === undefined) {
      range = this.startRange(loc);
      decoded = this.decoded.get(id);
    }
    // (Decoded already and its range gone: its sealed bytes were let go, the plaintext kept.)
    if (range !== undefined) this.readAheadAfter(range);
    // Loaded now: a range read later for its neighbours must not read and decode it again for nobody
    // (once ranges were evicted, that re-read whole ranges chunk after chunk). A second use is served
    // from a cached range or read on its own.
    this.expected?.delete(id);
    if (decoded !== undefined) {
      this.take(id, decoded);
      const plain = await decoded.plain;
      if (plain !== undefined) return { plain };
    }
    if (range !== undefined) {
      const bytes = await range.bytes;
      if (bytes !== undefined) return { sealed: bytes.subarray(from - range.start, to - range.start) };
      this.drop(range);
    }
    return { sealed: await this.backend.load(Names.pack(loc.pack), { offset: from, length: loc.length }, { signal }) };
  }
}

/** Splits a range's chunks (in offset order) into decoder jobs of at most DECODE_JOB_BYTES sealed bytes each. */
function decodeJobs(chunks: readonly RangeChunk[]): RangeChunk[][] {
  const jobs: RangeChunk[][] = [];
  let job: RangeChunk[] = [];
  let bytes = 0;
  for (const c of chunks) {
    if (job.length > 0 && bytes + c.loc.length > DECODE_JOB_BYTES) {
      jobs.push(job);
      job = [];
      bytes = 0;
    }
    job.push(c);
    bytes += c.loc.length;
  }
  if (job.length > 0) jobs.push(job);
  return jobs;
}
