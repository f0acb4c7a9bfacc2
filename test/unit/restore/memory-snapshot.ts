/**
 * Test helper: captures a real directory into an in-memory "snapshot" (Tree
 * objects + chunk map) with readNodeMetadata and a simple fixed-size splitter
 * (all-zero blocks and SEEK_HOLE holes become hole refs), so restore can be
 * tested without the repository engine.
 */
import { createHash } from 'node:crypto';
import { lstat, open, readdir } from 'node:fs/promises';

import { readNodeMetadata } from '../../../activities/engine/fs';
import { nativeFs } from '../../../activities/engine/fs/native';
import type { ContentRef, Tree, TreeNode } from '../../../activities/repository/tree';

export class MemorySnapshot {
  readonly trees = new Map<string, Tree>();
  readonly chunks = new Map<string, Buffer>();
  chunkLoads = 0;
  /** Called before each chunk is handed out (tests abort from here). */
  beforeChunk: ((loads: number) => void) | undefined;

  addTree(nodes: TreeNode[]): string {
    const sorted = [...nodes].sort((a, b) => Buffer.compare(Buffer.from(a.name), Buffer.from(b.name)));
    const tree: Tree = { nodes: sorted };
    const id = createHash('sha256').update(JSON.stringify(tree)).digest('hex');
    this.trees.set(id, tree);
    return id;
  }

  addChunk(data: Buffer): ContentRef {
    const id = createHash('sha256').update(data).digest('hex');
    this.chunks.set(id, Buffer.from(data));
    return { chunk: id, size: data.length };
  }

  loadTree(id: string): Promise<Tree> {
    const tree = this.trees.get(id);
    return tree === undefined ? Promise.reject(new Error(`no tree ${id}`)) : Promise.resolve(tree);
  }

  loadChunk(id: string, options?: { readonly signal?: AbortSignal }): Promise<Buffer> {
    options?.signal?.throwIfAborted();
    this.chunkLoads++;
    this.beforeChunk?.(this.chunkLoads);
    const chunk = this.chunks.get(id);
    return chunk === undefined ? Promise.reject(new Error(`no chunk ${id}`)) : Promise.resolve(Buffer.from(chunk));
  }
}

function pushHole(content: ContentRef[], size: number): void {
  const last = content[content.length - 1];
  if (last !== undefined && 'hole' in last) content[content.length - 1] = { hole: last.hole + size };
  else content.push({ hole: size });
}

/** Splits a file into fixed-size chunks, skipping holes without reading them. */
export async function captureContent(snapshot: MemorySnapshot, path: string, size: number, chunkSize: number): Promise<ContentRef[]> {
  const content: ContentRef[] = [];
  const handle = await open(path, 'r');
  try {
    const addon = nativeFs();
    let pos = 0;
    while (pos < size) {
      let data = addon.seekData(handle.fd, pos);
      if (data < 0 || data > size) data = size;
      if (data > pos) {
        pushHole(content, data - pos);
        pos = data;
        continue;
      }
      let hole = addon.seekHole(handle.fd, pos);
      if (hole < 0 || hole > size) hole = size;
      while (pos < hole) {
        const length = Math.min(chunkSize, hole - pos);
        const buffer = Buffer.alloc(length);
        const { bytesRead } = await handle.read(buffer, 0, length, pos);
        if (bytesRead !== length) throw new Error(`short read in ${path}`);
        if (buffer.every((byte) => byte === 0)) pushHole(content, length);
        else content.push(snapshot.addChunk(buffer));
        pos += length;
      }
    }
  } finally {
    await handle.close();
  }
  return content;
}

/** Captures directory `dir` (not its own metadata) and returns the root tree id. */
export async function captureDirectory(snapshot: MemorySnapshot, dir: string, chunkSize = 64 * 1024): Promise<string> {
  const nodes: TreeNode[] = [];
  for (const name of await readdir(dir)) {
    const path = `${dir}/${name}`;
    const st = await lstat(path, { bigint: true });
    const meta = await readNodeMetadata(path, name, st);
    if (meta.type === 'dir') nodes.push({ ...meta, subtree: await captureDirectory(snapshot, path, chunkSize) });
    else if (meta.type === 'file') nodes.push({ ...meta, content: await captureContent(snapshot, path, meta.size ?? 0, chunkSize) });
    else nodes.push(meta);
  }
  return snapshot.addTree(nodes);
}

/** A node with plausible defaults, for hand-built (malicious) trees. */
export function makeNode(fields: Partial<TreeNode> & Pick<TreeNode, 'name' | 'type'>): TreeNode {
  return { mode: fields.type === 'dir' ? 0o755 : 0o644, uid: 0, gid: 0, mtimeNs: '1700000000123456789', ...fields };
}

export function fileNode(snapshot: MemorySnapshot, name: string, text: string, extra: Partial<TreeNode> = {}): TreeNode {
  const data = Buffer.from(text);
  return makeNode({ name, type: 'file', size: data.length, content: data.length === 0 ? [] : [snapshot.addChunk(data)], ...extra });
}

export function dirNode(snapshot: MemorySnapshot, name: string, children: TreeNode[], extra: Partial<TreeNode> = {}): TreeNode {
  return makeNode({ name, type: 'dir', subtree: snapshot.addTree(children), ...extra });
}
