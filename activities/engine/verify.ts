/**
 * verify: structure (every index, snapshot and tree object authenticates,
 * every referenced chunk is indexed, every indexed pack exists with its
 * recorded size) and read-data (every chunk of the selected packs
 * authenticates, decompresses and hashes to its id). Problems are returned
 * as findings naming the object, the snapshots and the files affected.
 */
import { InvalidInput } from '../errors';
import { NotFound } from '../storage/errors';
import { lastSegment, Names, packIdOfName } from '../repository/format';
import { parsePack } from '../repository/pack';
import type { Tree } from '../repository/tree';
import type { Finding, RunOptions, SnapshotSummary, VerifyReport, VerifyRequest } from './api';
import type { RepoCore } from './core';

const MAX_FILES_PER_FINDING = 20;

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Pack ids are random, so their first 32 bits split packs evenly and deterministically into t parts. */
export function packInSubset(packId: string, subset: { n: number; t: number } | undefined): boolean {
  if (subset === undefined) return true;
  return Number.parseInt(packId.slice(0, 8), 16) % subset.t === subset.n - 1;
}

interface MutableFinding {
  kind: string;
  object: string;
  detail: string;
  snapshots: Set<string>;
  files: string[];
  /** Chunks whose users should be listed as affected. */
  chunks: Set<string>;
}

/** Walks every tree of the snapshots once per (snapshot, directory), calling back for files. */
async function walkSnapshots(
  core: RepoCore,
  snapshots: readonly SnapshotSummary[],
  onTreeError: (snapshot: SnapshotSummary, path: string, treeId: string, err: unknown) => void,
  onFile: (snapshot: SnapshotSummary, path: string, chunks: readonly string[]) => void,
  signal: AbortSignal | undefined,
): Promise<void> {
  // Trees are reported as "files" of their directory path, so findings about tree chunks name them too.
  for (const snap of snapshots) {
    const stack: { id: string; path: string }[] = [{ id: snap.rootTree, path: '' }];
    const seen = new Set<string>();
    while (stack.length > 0) {
      signal?.throwIfAborted();
      const { id, path } = stack.pop()!;
      if (seen.has(id)) continue;
      seen.add(id);
      onFile(snap, path === '' ? '/' : path, [id]);
      let tree: Tree;
      try {
        tree = await core.loadTree(id, signal);
      } catch (err) {
        onTreeError(snap, path === '' ? '/' : path, id, err);
        continue;
      }
      for (const node of tree.nodes) {
        const p = path === '' ? node.name : `${path}/${node.name}`;
        if (node.subtree !== undefined) stack.push({ id: node.subtree, path: p });
        if (node.content !== undefined) onFile(snap, p, node.content.flatMap((c) => ('chunk' in c ? [c.chunk] : [])));
      }
    }
  }
}

export async function verify(core: RepoCore, request: VerifyRequest, options: RunOptions = {}): Promise<VerifyReport> {
  const subset = request.subset;
  if (subset !== undefined && (!Number.isInteger(subset.t) || subset.t < 1 || !Number.isInteger(subset.n) || subset.n < 1 || subset.n > subset.t)) {
    throw new InvalidInput(`invalid verify subset ${subset.n}/${subset.t} (need 1 <= n <= t)`);
  }
  if (request.level !== 'structure' && request.level !== 'read-data') throw new InvalidInput(`unknown verify level ${String(request.level)}`);
  const signal = options.signal;
  return core.withLock('shared', 'verify', async () => {
    const findings: MutableFinding[] = [];
    const add = (kind: string, object: string, detail: string, chunks: Iterable<string> = [], snapshots: Iterable<string> = []): MutableFinding => {
      const f = { kind, object, detail, snapshots: new Set(snapshots), files: [], chunks: new Set(chunks) };
      findings.push(f);
      return f;
    };

    // Snapshots first, then the index: backups write packs -> index -> snapshot,
    // so every snapshot seen here has its index objects stored already, and a
    // backup committing while verify runs cannot look like missing data.
    const snapshots = await core.loadSnapshots((name, err) => add('snapshot-unreadable', name, message(err)));

    // Index objects, loaded afresh so every one of them is authenticated now.
    core.index.clear();
    core.clearCaches();
    const indexNames: string[] = [];
    for await (const obj of core.backend.list(Names.indexPrefix)) indexNames.push(obj.name);
    for (const name of indexNames) {
      const id = lastSegment(name);
      try {
        core.index.addObject(id, (await core.loadIndexObject(id)).packs);
      } catch (err) {
        if (!(err instanceof NotFound)) add('index-unreadable', name, message(err));
      }
    }

    // Packs: present, right size.
    const stored = new Map<string, number>();
    for await (const obj of core.backend.list(Names.dataPrefix)) {
      const id = packIdOfName(obj.name);
      if (id !== undefined) stored.set(id, obj.size);
    }
    const chunksOfPack = new Map<string, string[]>();
    for (const [chunk, loc] of core.index.chunks) {
      const list = chunksOfPack.get(loc.pack);
      if (list === undefined) chunksOfPack.set(loc.pack, [chunk]);
      else list.push(chunk);
    }
    const badPacks = new Set<string>();
    let packsChecked = 0;
    for (const pack of core.index.packs.values()) {
      if (!packInSubset(pack.id, subset)) continue;
      packsChecked++;
      const size = stored.get(pack.id);
      if (size === undefined) {
        add('missing-pack', Names.pack(pack.id), `indexed pack is missing from storage`, chunksOfPack.get(pack.id) ?? []);
        badPacks.add(pack.id);
      } else if (size !== pack.size) {
        add('pack-size', Names.pack(pack.id), `pack has ${size} bytes, index says ${pack.size}`, chunksOfPack.get(pack.id) ?? []);
        badPacks.add(pack.id);
      }
    }

    // Snapshots and trees; referenced chunks must be indexed.
    const unindexed = new Map<string, MutableFinding>();
    await walkSnapshots(
      core,
      snapshots,
      (snap, path, treeId, err) => {
        const loc = core.index.get(treeId);
        const f = add('tree-unreadable', loc === undefined ? `tree ${treeId}` : Names.pack(loc.pack), `tree ${treeId} at ${path}: ${message(err)}`, [], [snap.id]);
        f.files.push(`${snap.id}:${path}`);
      },
      (snap, path, chunks) => {
        for (const c of chunks) {
          if (core.index.has(c)) continue;
          let f = unindexed.get(c);
          if (f === undefined) {
            f = add('unindexed-chunk', `chunk ${c}`, `chunk ${c} is referenced but not in any index`, []);
            unindexed.set(c, f);
          }
          f.snapshots.add(snap.id);
          if (f.files.length < MAX_FILES_PER_FINDING) f.files.push(`${snap.id}:${path}`);
        }
      },
      signal,
    );

    // Read data: authenticate every chunk of the selected packs.
    let chunksChecked = 0;
    let bytesRead = 0;
    if (request.level === 'read-data') {
      for (const pack of core.index.packs.values()) {
        if (!packInSubset(pack.id, subset) || badPacks.has(pack.id)) continue;
        signal?.throwIfAborted();
        const name = Names.pack(pack.id);
        let bytes: Buffer;
        try {
          bytes = await core.backend.load(name, undefined, { signal });
        } catch (err) {
          if (!(err instanceof NotFound)) throw err;
          add('missing-pack', name, 'pack vanished during verification', chunksOfPack.get(pack.id) ?? []);
          continue;
        }
        bytesRead += bytes.length;
        try {
          const header = parsePack(core.keyring, core.repoId, pack.id, bytes, name);
          const inHeader = new Set(header.entries.map((e) => e.id));
          const notInHeader = (chunksOfPack.get(pack.id) ?? []).filter((c) => !inHeader.has(c));
          if (notInHeader.length > 0) add('pack-header', name, `${notInHeader.length} indexed chunks are not listed in the pack header`, notInHeader);
        } catch (err) {
          add('pack-header', name, message(err));
        }
        for (const chunk of chunksOfPack.get(pack.id) ?? []) {
          const loc = core.index.get(chunk)!;
          chunksChecked++;
          try {
            if (loc.offset + loc.length > bytes.length) throw new Error(`chunk lies beyond the end of the pack`);
            core.decodeBlob(chunk, loc, bytes.subarray(loc.offset, loc.offset + loc.length), name);
          } catch (err) {
            add('chunk-integrity', name, `chunk ${chunk}: ${message(err)}`, [chunk]);
          }
        }
        options.onProgress?.({ filesDone: packsChecked, bytesDone: bytesRead });
      }
    }

    // Name the snapshots and files behind pack-level findings.
    const wanted = new Map<string, MutableFinding[]>();
    for (const f of findings) {
      if (f.kind === 'unindexed-chunk') continue;
      for (const c of f.chunks) {
        const list = wanted.get(c);
        if (list === undefined) wanted.set(c, [f]);
        else list.push(f);
      }
    }
    if (wanted.size > 0) {
      await walkSnapshots(core, snapshots, () => undefined, (snap, path, chunks) => {
        for (const c of chunks) {
          for (const f of wanted.get(c) ?? []) {
            f.snapshots.add(snap.id);
            const entry = `${snap.id}:${path}`;
            if (f.files.length < MAX_FILES_PER_FINDING && !f.files.includes(entry)) f.files.push(entry);
          }
        }
      }, signal);
    }

    return {
      level: request.level,
      snapshotsChecked: snapshots.length,
      packsChecked,
      chunksChecked,
      bytesRead,
      findings: findings.map((f): Finding => ({ kind: f.kind, object: f.object, detail: f.detail, snapshots: [...f.snapshots].sort(), files: f.files })),
    };
  });
}
