/**
 * Shared fixtures of the chaos suite: a seeded PRNG, deterministic datasets
 * with a hash manifest, directory walks that compare a restore against that
 * manifest, and fingerprints of directories that must not change.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { KDF_CHEAP_FOR_TESTS } from '../../activities/crypto/kdf';
import { createEngine } from '../../activities/engine';
import type { EngineOptions } from '../../activities/engine';
import type { Engine, InitOptions } from '../../activities/engine/api';
import { seededRandom } from '../../activities/storage/faulty';
import { CofferError } from '../../activities/errors';

export const PASS = { passphrase: 'chaos: correct horse battery staple' } as const;

/** Small chunks and packs so a few MiB spread over many objects; cheap KDF. */
export const SMALL_REPO: InitOptions = {
  averageChunkSize: 16 * 1024,
  packSize: 256 * 1024,
  compressionLevel: 1,
  kdf: KDF_CHEAP_FOR_TESTS,
};

export function chaosEngine(options: EngineOptions = {}): Engine {
  return createEngine({ leaseMs: 10_000, cpuWorkers: 0, ...options });
}

/** A seeded PRNG with helpers (mulberry32 underneath, as the fault wrapper uses). */
export class Prng {
  private readonly next: () => number;
  constructor(seed: number) {
    this.next = seededRandom(seed);
  }
  float(): number {
    return this.next();
  }
  int(maxExclusive: number): number {
    return Math.floor(this.next() * maxExclusive);
  }
  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('pick from an empty list');
    return items[this.int(items.length)];
  }
  bytes(size: number): Buffer {
    const out = Buffer.allocUnsafe(size);
    for (let i = 0; i < size; i += 4) {
      const v = Math.floor(this.next() * 2 ** 32);
      out[i] = v & 0xff;
      if (i + 1 < size) out[i + 1] = (v >>> 8) & 0xff;
      if (i + 2 < size) out[i + 2] = (v >>> 16) & 0xff;
      if (i + 3 < size) out[i + 3] = (v >>> 24) & 0xff;
    }
    return out;
  }
  /** Semi-compressible text-like bytes. */
  text(size: number): Buffer {
    const words = ['coffer', 'backup', 'restore', 'chunk', 'pack', 'index', 'snapshot', 'tree', 'key', 'verify', 'prune', '\n'];
    const parts: string[] = [];
    let len = 0;
    while (len < size) {
      const w = `${this.pick(words)} ${this.int(100000)} `;
      parts.push(w);
      len += w.length;
    }
    return Buffer.from(parts.join('')).subarray(0, size);
  }
}

export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Relative path → sha256 of the content, for every regular file. */
export type Manifest = Map<string, string>;

export interface DatasetSpec {
  readonly files: number;
  /** Sizes are drawn between these bounds (bytes). */
  readonly minSize: number;
  readonly maxSize: number;
  /** Directory depth of the generated tree. */
  readonly dirs?: number;
  /** Share of files with text-like (compressible) content. */
  readonly textShare?: number;
}

/** Writes a deterministic dataset under root and returns its manifest. */
export async function writeDataset(root: string, seed: number, spec: DatasetSpec): Promise<Manifest> {
  const rnd = new Prng(seed);
  const manifest: Manifest = new Map();
  const dirCount = spec.dirs ?? 4;
  for (let i = 0; i < spec.files; i++) {
    const dir = rnd.int(dirCount + 1);
    const rel = dir === 0 ? `f${seed}-${i}.bin` : `d${dir}/${dir % 2 === 0 ? `sub${dir}/` : ''}f${seed}-${i}.bin`;
    const size = spec.minSize + rnd.int(spec.maxSize - spec.minSize + 1);
    const content = rnd.float() < (spec.textShare ?? 0.4) ? rnd.text(size) : rnd.bytes(size);
    await mkdir(dirname(join(root, rel)), { recursive: true });
    await writeFile(join(root, rel), content);
    manifest.set(rel, sha256(content));
  }
  return manifest;
}

/** Manifest of a directory on disk (regular files only; symlinks and others listed by kind). */
export async function manifestOf(root: string): Promise<Manifest> {
  const out: Manifest = new Map();
  const walk = async (rel: string): Promise<void> => {
    for (const name of await readdir(join(root, rel))) {
      const path = rel === '' ? name : `${rel}/${name}`;
      const st = await lstat(join(root, path));
      if (st.isDirectory()) await walk(path);
      else if (st.isFile()) out.set(path, sha256(await readFile(join(root, path))));
      else if (st.isSymbolicLink()) out.set(path, `symlink:${await readlink(join(root, path))}`);
      else out.set(path, `special:${st.mode.toString(8)}`);
    }
  };
  await walk('');
  return out;
}

/** Differences between two manifests, as readable lines (empty when identical). */
export function manifestDiff(expected: Manifest, actual: Manifest): string[] {
  const out: string[] = [];
  for (const [p, h] of expected) {
    const a = actual.get(p);
    if (a === undefined) out.push(`missing ${p}`);
    else if (a !== h) out.push(`differs ${p}`);
  }
  for (const p of actual.keys()) if (!expected.has(p)) out.push(`extra ${p}`);
  return out;
}

/**
 * Files at final paths under `dir` that are not byte-identical to the manifest
 * (a partial or unverified file), plus leftover temp files. Missing files are fine.
 */
export async function unverifiedFiles(dir: string, expected: Manifest): Promise<string[]> {
  let actual: Manifest;
  try {
    actual = await manifestOf(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const bad: string[] = [];
  for (const [p, h] of actual) {
    if (expected.get(p) !== h) bad.push(p);
  }
  return bad;
}

/**
 * Everything observable about a directory tree: type, mode, size, mtime,
 * content hash or link target of every entry. Two equal fingerprints mean
 * nothing was created, changed or removed inside.
 */
export async function fingerprint(root: string, skip: ReadonlySet<string> = new Set()): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const walk = async (rel: string): Promise<void> => {
    for (const name of (await readdir(join(root, rel))).sort()) {
      const path = rel === '' ? name : `${rel}/${name}`;
      if (skip.has(path)) continue;
      const abs = join(root, path);
      const st = await lstat(abs, { bigint: true });
      const base = `mode=${st.mode.toString(8)} uid=${st.uid} nlink=${st.nlink} mtime=${st.mtimeNs}`;
      if (st.isDirectory()) {
        out.set(path, `dir ${base}`);
        await walk(path);
      } else if (st.isFile()) out.set(path, `file ${base} size=${st.size} sha=${sha256(await readFile(abs))}`);
      else if (st.isSymbolicLink()) out.set(path, `symlink ${base} -> ${await readlink(abs)}`);
      else out.set(path, `other ${base}`);
    }
  };
  out.set('.', `root mode=${(await lstat(root)).mode.toString(8)}`);
  await walk('');
  return out;
}

export function fingerprintDiff(before: Map<string, string>, after: Map<string, string>): string[] {
  const out: string[] = [];
  for (const [p, v] of before) {
    const a = after.get(p);
    if (a === undefined) out.push(`removed ${p}`);
    else if (a !== v) out.push(`changed ${p}: ${v} → ${a}`);
  }
  for (const [p, v] of after) if (!before.has(p)) out.push(`created ${p}: ${v}`);
  return out;
}

export async function tempDir(prefix: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `coffer-chaos-${prefix}-`));
}

export async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

/** The error's Coffer code, or undefined for an untyped error. */
export function codeOf(err: unknown): string | undefined {
  return err instanceof CofferError ? err.code : undefined;
}

export function describeError(err: unknown): string {
  if (err instanceof CofferError) return `${err.code} ${err.name}: ${err.message}`;
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}

/** Runs async jobs with bounded concurrency. */
export async function pool<T>(items: readonly T[], concurrency: number, fn: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
}

/**
 * A fresh tmpfs mounted on a temp dir (the suite runs as root): fsync is free
 * there, so thousands of restores measure Coffer's checks, not the disk.
 */
export async function tmpfsDir(prefix: string, size = '512m'): Promise<{ dir: string; cleanup(): Promise<void> }> {
  const dir = await tempDir(prefix);
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0700`, 'tmpfs', dir]);
  return {
    dir,
    cleanup: async () => {
      execFileSync('umount', ['-l', dir]);
      await removeDir(dir);
    },
  };
}
