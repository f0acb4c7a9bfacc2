/** Shared fixtures for engine tests: real backends (memory and local disk), cheap KDF, small packs. */
import { mkdtemp, rm, mkdir, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { KDF_CHEAP_FOR_TESTS } from '../../../activities/crypto/kdf';
import { createEngine } from '../../../activities/engine';
import type { EngineOptions } from '../../../activities/engine';
import type { Engine, InitOptions, Repository } from '../../../activities/engine/api';
import type { Backend } from '../../../activities/storage/backend';
import { LocalBackend } from '../../../activities/storage/local';
import { MemoryBackend } from '../../../activities/storage/memory';

export const PASS = { passphrase: 'correct horse battery staple' } as const;

export const SMALL: InitOptions = {
  averageChunkSize: 16 * 1024,
  packSize: 256 * 1024,
  compressionLevel: 1,
  kdf: KDF_CHEAP_FOR_TESTS,
};

export function testEngine(options: EngineOptions = {}): Engine {
  return createEngine({ leaseMs: 10_000, ...options });
}

export interface BackendFixture {
  readonly kind: 'memory' | 'local';
  readonly backend: Backend;
  cleanup(): Promise<void>;
}

export async function makeBackend(kind: 'memory' | 'local'): Promise<BackendFixture> {
  if (kind === 'memory') {
    const backend = new MemoryBackend();
    return { kind, backend, cleanup: async () => backend.close() };
  }
  const dir = await mkdtemp(join(tmpdir(), 'coffer-engine-repo-'));
  const backend = new LocalBackend({ root: dir });
  return { kind, backend, cleanup: async () => { await backend.close(); await rm(dir, { recursive: true, force: true }); } };
}

export const BACKEND_KINDS = ['memory', 'local'] as const;

export async function tempDir(prefix: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `coffer-${prefix}-`));
}

/** Writes files given as relative path → content. */
export async function writeTree(root: string, files: Record<string, string | Buffer>): Promise<void> {
  for (const [rel, content] of Object.entries(files)) {
    const path = join(root, rel);
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, content);
  }
}

/** Deterministic pseudo-random bytes (so tests can recreate content). */
export function pseudoRandom(size: number, seed: number): Buffer {
  const out = Buffer.allocUnsafe(size);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

export function randomContent(size: number): Buffer {
  return randomBytes(size);
}

/** Reads a file's content back from the snapshot tree via loadTree/loadChunk. */
export async function readFromSnapshot(repo: Repository, rootTree: string, path: string): Promise<Buffer> {
  const parts = path.split('/');
  let treeId = rootTree;
  for (let i = 0; i < parts.length; i++) {
    const tree = await repo.loadTree(treeId);
    const node = tree.nodes.find((n) => n.name === parts[i]);
    if (node === undefined) throw new Error(`no ${parts[i]} in snapshot`);
    if (i === parts.length - 1) {
      const pieces: Buffer[] = [];
      for (const c of node.content ?? []) pieces.push('chunk' in c ? await repo.loadChunk(c.chunk) : Buffer.alloc(c.hole));
      return Buffer.concat(pieces);
    }
    treeId = node.subtree!;
  }
  throw new Error('unreachable');
}

export async function cleanupDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

/** Replaces a stored object's bytes (what a hostile storage provider can do). */
export async function replaceObject(backend: Backend, name: string, transform: (bytes: Buffer) => Buffer): Promise<void> {
  const bytes = await backend.load(name);
  await backend.remove(name);
  await backend.save(name, transform(Buffer.from(bytes)));
}

export async function listNames(backend: Backend, prefix: string): Promise<{ name: string; size: number }[]> {
  const out: { name: string; size: number }[] = [];
  for await (const o of backend.list(prefix)) out.push({ name: o.name, size: o.size });
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

export async function totalSize(backend: Backend, prefix: string): Promise<number> {
  return (await listNames(backend, prefix)).reduce((s, o) => s + o.size, 0);
}

/** Paths of the files (anything but directories) under `root`, relative and sorted. */
export async function filesUnder(root: string, rel = ''): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(join(root, rel), { withFileTypes: true })) {
    const path = rel === '' ? entry.name : `${rel}/${entry.name}`;
    if (entry.isDirectory()) out.push(...(await filesUnder(root, path)));
    else out.push(path);
  }
  return out.sort();
}
