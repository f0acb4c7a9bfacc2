/**
 * The benchmark dataset: a deterministic, mixed file tree of a chosen size.
 *
 * Composition (shares of the total size; see docs/benchmarks.md):
 *   small/    12%  thousands of small text files (256 B – 64 KiB, log-uniform),
 *                  half source-code-like, half log-like, ~40 per directory
 *   text/     38%  large semi-compressible log-like files (~2.5–2.7× with zstd -1)
 *   random/   25%  incompressible pseudo-random files (64 KiB – large)
 *   dup/      15%  exact copies: one small-file project plus whole large files
 *   shifted/  10%  copies of large files with 1–64 bytes inserted in the first 4 KiB
 *
 * The same (size, seed) always gives the same bytes, names and mtimes. The tree
 * is cached under .data/bench/dataset-<size>-<seed>/tree with its hash manifest
 * beside it (manifest.json, written last: its presence means "complete").
 */
import { createHash } from 'node:crypto';
import { closeSync, copyFileSync, existsSync, mkdirSync, openSync, readFileSync, readSync, renameSync, rmSync, utimesSync, writeFileSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { ManifestEntry } from './manifest';
import { benchDataDir } from './paths';
import { KeyStream, Prng } from './prng';
import { TextGenerator } from './text';

const MiB = 1 << 20;
const KiB = 1 << 10;
const BLOCK = 4 * MiB;
/** Every file gets a fixed mtime so reruns see identical metadata (2024-01-01T00:00:00Z + i s). */
const MTIME_BASE = Date.UTC(2024, 0, 1) / 1000;

export type Category = 'small' | 'text' | 'random' | 'dup' | 'shifted';

export const SHARES: Readonly<Record<Category, number>> = { small: 0.12, text: 0.38, random: 0.25, dup: 0.15, shifted: 0.10 };

type PlannedFile =
  | { readonly kind: 'code' | 'log' | 'text' | 'random'; readonly path: string; readonly size: number; readonly category: Category }
  | { readonly kind: 'copy'; readonly path: string; readonly source: string; readonly category: Category }
  | { readonly kind: 'shift'; readonly path: string; readonly source: string; readonly offset: number; readonly insert: number; readonly category: Category };

export interface DatasetManifest {
  readonly version: 1;
  readonly sizeMiB: number;
  readonly seed: string;
  readonly bytes: number;
  readonly files: number;
  readonly composition: Record<Category, { files: number; bytes: number }>;
  readonly entries: ManifestEntry[];
}

export interface Dataset {
  /** The directory to back up. */
  readonly root: string;
  readonly manifest: DatasetManifest;
  /** True when this call generated it (false: reused from the cache). */
  readonly generated: boolean;
  readonly generateSeconds: number;
}

export interface DatasetOptions {
  readonly sizeMiB: number;
  readonly seed: string;
  readonly log?: (line: string) => void;
}

export function datasetOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): { sizeMiB: number; seed: string } {
  const raw = env.COFFER_BENCH_SIZE_MIB ?? '1024';
  const sizeMiB = Number(raw);
  if (!Number.isInteger(sizeMiB) || sizeMiB < 16 || sizeMiB > 1_048_576) {
    throw new Error(`COFFER_BENCH_SIZE_MIB must be an integer from 16 to 1048576, got ${JSON.stringify(raw)}`);
  }
  const seed = env.COFFER_BENCH_SEED ?? '1';
  if (!/^[A-Za-z0-9_-]{1,32}$/.test(seed)) throw new Error('COFFER_BENCH_SEED must be 1–32 characters of [A-Za-z0-9_-]');
  return { sizeMiB, seed };
}

/** Returns the cached dataset, generating it first if needed. */
export function ensureDataset(options: DatasetOptions): Dataset {
  const { sizeMiB, seed } = options;
  const log = options.log ?? ((): void => undefined);
  const dir = join(benchDataDir(), `dataset-${sizeMiB}-${seed}`);
  const manifestPath = join(dir, 'manifest.json');
  if (existsSync(manifestPath)) {
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as DatasetManifest;
    return { root: join(dir, 'tree'), manifest, generated: false, generateSeconds: 0 };
  }
  const started = performance.now();
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(tmp, 'tree'), { recursive: true });
  log(`generating dataset ${sizeMiB} MiB (seed ${seed}) in ${dir}`);
  const plan = planDataset(sizeMiB, seed);
  const entries = writePlan(join(tmp, 'tree'), plan, seed, log);
  const manifest = summarize(sizeMiB, seed, plan, entries);
  writeFileSync(join(tmp, 'manifest.json'), JSON.stringify(manifest));
  renameSync(tmp, dir);
  const generateSeconds = (performance.now() - started) / 1000;
  log(`dataset ready: ${manifest.files} files, ${(manifest.bytes / MiB).toFixed(1)} MiB in ${generateSeconds.toFixed(1)} s`);
  return { root: join(dir, 'tree'), manifest, generated: true, generateSeconds };
}

/** Decides every file's name, kind and size from (size, seed) alone. */
export function planDataset(sizeMiB: number, seed: string): PlannedFile[] {
  const total = sizeMiB * MiB;
  const prng = new Prng(`${seed}:plan`);
  const budget = (c: Category): number => Math.floor(total * SHARES[c]);
  const largeMax = Math.min(96 * MiB, Math.max(4 * MiB, Math.floor(total / 10)));
  const plan: PlannedFile[] = [];

  // Small text files, grouped in projects and directories like a source tree or a log spool.
  let left = budget('small');
  let n = 0;
  const smallByProject = new Map<string, PlannedFile[]>();
  while (left > 0) {
    const project = `project-${String(Math.floor(n / 400)).padStart(3, '0')}`;
    const dir = `dir-${String(Math.floor(n / 40) % 10).padStart(2, '0')}`;
    const kind = prng.next() < 0.5 ? 'code' : 'log';
    const size = Math.min(left, prng.logInt(256, 64 * KiB));
    const file: PlannedFile = { kind, path: `small/${project}/${dir}/${kind === 'code' ? `mod_${n}.ts` : `app_${n}.log`}`, size, category: 'small' };
    plan.push(file);
    const list = smallByProject.get(project) ?? [];
    list.push(file);
    smallByProject.set(project, list);
    left -= size;
    n++;
  }

  const large = (category: 'text' | 'random', minSize: number): void => {
    let rest = budget(category);
    let i = 0;
    while (rest > 0) {
      let size = category === 'text' ? prng.int(Math.min(minSize, largeMax), largeMax) : prng.logInt(minSize, largeMax);
      if (rest - size < minSize) size = rest;
      plan.push({ kind: category, path: `${category}/${category === 'text' ? 'service' : 'blob'}-${String(i).padStart(3, '0')}.${category === 'text' ? 'log' : 'bin'}`, size, category });
      rest -= size;
      i++;
    }
  };
  large('text', MiB);
  large('random', 64 * KiB);
  const bigFiles = plan.filter((f): f is Extract<PlannedFile, { size: number }> => (f.kind === 'text' || f.kind === 'random'));

  // Exact duplicates: a whole small-file project (as in a copied checkout), then large files.
  let dupLeft = budget('dup');
  const firstProject = smallByProject.get('project-000') ?? [];
  for (const f of firstProject) {
    if (!('size' in f) || dupLeft - f.size < 0 || dupLeft < budget('dup') * 0.8) break;
    plan.push({ kind: 'copy', path: f.path.replace(/^small\/project-000\//, 'dup/project-000-copy/'), source: f.path, category: 'dup' });
    dupLeft -= f.size;
  }
  let d = 0;
  for (const f of shuffled(prng, bigFiles)) {
    if (dupLeft <= 0) break;
    if (f.size > dupLeft * 1.5 && d > 0) continue;
    plan.push({ kind: 'copy', path: `dup/copy-${String(d++).padStart(3, '0')}-${f.path.replace('/', '-')}`, source: f.path, category: 'dup' });
    dupLeft -= f.size;
  }

  // Shifted copies: same content with a few bytes inserted near the start, which
  // defeats fixed-size blocking but not content-defined chunking.
  let shiftLeft = budget('shifted');
  let s = 0;
  for (const f of shuffled(prng, bigFiles)) {
    if (shiftLeft <= 0) break;
    if (f.size > shiftLeft * 1.5 && s > 0) continue;
    const offset = prng.int(0, Math.min(4096, f.size));
    plan.push({ kind: 'shift', path: `shifted/shift-${String(s++).padStart(3, '0')}-${f.path.replace('/', '-')}`, source: f.path, offset, insert: prng.int(1, 64), category: 'shifted' });
    shiftLeft -= f.size;
  }
  return plan;
}

function shuffled<T>(prng: Prng, items: readonly T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = prng.int(0, i);
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

function writePlan(root: string, plan: readonly PlannedFile[], seed: string, log: (line: string) => void): ManifestEntry[] {
  const entries: ManifestEntry[] = [];
  const bySource = new Map<string, ManifestEntry>();
  const dirs = new Set<string>();
  let written = 0;
  let nextReport = 256 * MiB;
  plan.forEach((file, index) => {
    const path = join(root, file.path);
    const parent = dirname(path);
    if (!dirs.has(parent)) {
      mkdirSync(parent, { recursive: true });
      dirs.add(parent);
    }
    let entry: ManifestEntry;
    if (file.kind === 'copy') {
      copyFileSync(join(root, file.source), path);
      const src = bySource.get(file.source)!;
      entry = { path: file.path, size: src.size, sha256: src.sha256 };
    } else if (file.kind === 'shift') {
      entry = writeShifted(root, file, seed);
    } else {
      entry = writeGenerated(path, file.path, file.kind, file.size, seed);
    }
    utimesSync(path, MTIME_BASE + index, MTIME_BASE + index);
    entries.push(entry);
    bySource.set(file.path, entry);
    written += entry.size;
    if (written >= nextReport) {
      log(`  … ${(written / MiB).toFixed(0)} MiB written`);
      nextReport += 256 * MiB;
    }
  });
  for (const dir of [...dirs].sort((a, b) => b.length - a.length)) utimesSync(dir, MTIME_BASE, MTIME_BASE);
  return entries.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

function writeGenerated(path: string, rel: string, kind: 'code' | 'log' | 'text' | 'random', size: number, seed: string): ManifestEntry {
  // Each file draws from its own stream (labelled by its path), so content
  // does not depend on generation order.
  const text = kind === 'random' ? undefined : new TextGenerator(seed, rel);
  const random = kind === 'random' ? new KeyStream(seed, `random:${rel}`) : undefined;
  const hash = createHash('sha256');
  const fd = openSync(path, 'wx');
  try {
    let left = size;
    let block = 0;
    while (left > 0) {
      const n = Math.min(BLOCK, left);
      let buf: Buffer;
      if (random) buf = random.bytes(n);
      else if (kind === 'code') buf = text!.codeText(n);
      else if (kind === 'log') buf = text!.logText(n, 1, 0);
      // Large text: mostly one hex id per line (~2.7×), every third block two (~2.5×).
      else buf = text!.logText(n, block % 3 === 2 ? 2 : 1, 0);
      writeAll(fd, buf);
      hash.update(buf);
      left -= n;
      block++;
    }
  } finally {
    closeSync(fd);
  }
  return { path: rel, size, sha256: hash.digest('hex') };
}

function writeShifted(root: string, file: Extract<PlannedFile, { kind: 'shift' }>, seed: string): ManifestEntry {
  const insert = new KeyStream(seed, `insert:${file.path}`).bytes(file.insert);
  const hash = createHash('sha256');
  const src = openSync(join(root, file.source), 'r');
  const dst = openSync(join(root, file.path), 'wx');
  let size = 0;
  try {
    const buf = Buffer.allocUnsafe(BLOCK);
    const head = readSync(src, buf, 0, file.offset, 0);
    const emit = (b: Buffer): void => {
      writeAll(dst, b);
      hash.update(b);
      size += b.length;
    };
    emit(buf.subarray(0, head));
    emit(insert);
    let pos = head;
    for (;;) {
      const n = readSync(src, buf, 0, BLOCK, pos);
      if (n === 0) break;
      emit(buf.subarray(0, n));
      pos += n;
    }
  } finally {
    closeSync(src);
    closeSync(dst);
  }
  return { path: file.path, size, sha256: hash.digest('hex') };
}

function writeAll(fd: number, buf: Buffer): void {
  let off = 0;
  while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
}

function summarize(sizeMiB: number, seed: string, plan: readonly PlannedFile[], entries: readonly ManifestEntry[]): DatasetManifest {
  const sizes = new Map(entries.map((e) => [e.path, e.size]));
  const composition: Record<Category, { files: number; bytes: number }> = {
    small: { files: 0, bytes: 0 }, text: { files: 0, bytes: 0 }, random: { files: 0, bytes: 0 }, dup: { files: 0, bytes: 0 }, shifted: { files: 0, bytes: 0 },
  };
  for (const f of plan) {
    composition[f.category].files++;
    composition[f.category].bytes += sizes.get(f.path) ?? 0;
  }
  const bytes = entries.reduce((sum, e) => sum + e.size, 0);
  return { version: 1, sizeMiB, seed, bytes, files: entries.length, composition, entries: [...entries] };
}

// `npx tsx scripts/bench/dataset.ts` generates (or finds) the dataset and prints its composition.
if (require.main === module) {
  const opts = datasetOptionsFromEnv();
  const ds = ensureDataset({ ...opts, log: (l) => console.log(l) });
  console.log(JSON.stringify({ root: ds.root, bytes: ds.manifest.bytes, files: ds.manifest.files, composition: ds.manifest.composition }, null, 2));
}
