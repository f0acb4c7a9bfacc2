/**
 * prune: forget every snapshot not kept, then free the space only they used.
 *
 * Under an exclusive lock: (1) collect every chunk referenced by a kept
 * snapshot or by a backup plan still in progress; (2) packs with no
 * referenced chunk are deleted, packs with much unused space are repacked
 * (referenced blobs authenticated, then copied verbatim: a blob is bound to
 * its chunk id, not its pack); packs and snapshots younger than the grace
 * period are never touched, so a concurrent backup keeps its chunks;
 * (3) a consolidated index is written before the old index objects and the
 * packs go. A crash at any point leaves a readable repository (at worst
 * duplicate index entries or orphan packs, which the next prune removes).
 */
import { IntegrityError } from '../crypto/errors';
import { NotFound, RetentionLocked } from '../storage/errors';
import { Names, ObjectType, packIdOfName } from '../repository/format';
import type { IndexedPack } from '../repository/index-codec';
import type { BlobEntry } from '../repository/pack';
import { headerRegionLength, decodePackHeader, PACK_TRAILER_BYTES } from '../repository/pack';
import type { PruneReport, PruneRequest, RunOptions, SnapshotSummary } from './api';
import type { RepoCore } from './core';
import { PackPool } from './pack-pool';
import type { BatchDoc } from './backup/plan-doc';

/**
 * Packs whose unreferenced blobs make up more than this share of their size
 * are repacked. The pack's own header does not count as unused: it would make
 * a small pack look wasteful forever, and every prune would repack it again.
 */
const REPACK_UNUSED_RATIO = 0.2;

async function removeQuietly(core: RepoCore, name: string): Promise<boolean> {
  try {
    await core.backend.remove(name);
    return true;
  } catch (err) {
    if (err instanceof RetentionLocked) return false;
    throw err;
  }
}

/** Chunks (data and tree) reachable from the snapshots. Any unreadable tree aborts: never guess. */
export async function referencedChunks(core: RepoCore, snapshots: readonly SnapshotSummary[], signal?: AbortSignal): Promise<Set<string>> {
  const used = new Set<string>();
  for (const snap of snapshots) {
    const stack = [snap.rootTree];
    while (stack.length > 0) {
      signal?.throwIfAborted();
      const id = stack.pop()!;
      if (used.has(id)) continue;
      used.add(id);
      const tree = await core.loadTree(id, signal);
      for (const node of tree.nodes) {
        if (node.subtree !== undefined) stack.push(node.subtree);
        for (const c of node.content ?? []) if ('chunk' in c) used.add(c.chunk);
      }
    }
  }
  return used;
}

/** Chunks recorded by backups in progress (batch results and partial results of live plans). */
async function planChunks(core: RepoCore, used: Set<string>): Promise<void> {
  for await (const obj of core.backend.list(Names.plansPrefix)) {
    const m = /^plans\/([0-9a-f]{64})\/((?:batch|part)-[0-9-]+)$/.exec(obj.name);
    if (m === null) continue;
    let doc: BatchDoc;
    try {
      doc = (await core.loadJson(ObjectType.batch, obj.name, `${m[1]}/${m[2]}`)).value as BatchDoc;
    } catch (err) {
      if (err instanceof NotFound) continue;
      throw err;
    }
    for (const f of doc.files) for (const c of f.node.content ?? []) if ('chunk' in c) used.add(c.chunk);
  }
}

async function packCreatedMs(core: RepoCore, packId: string, size: number): Promise<number | undefined> {
  const name = Names.pack(packId);
  try {
    const trailer = await core.backend.load(name, { offset: size - PACK_TRAILER_BYTES, length: PACK_TRAILER_BYTES });
    const len = headerRegionLength(trailer, size, name);
    const start = size - PACK_TRAILER_BYTES - len;
    const region = await core.backend.load(name, { offset: start, length: len });
    return decodePackHeader(core.keyring, core.repoId, packId, region, start, name).createdMs;
  } catch {
    return undefined;
  }
}

export async function prune(core: RepoCore, request: PruneRequest, options: RunOptions = {}): Promise<PruneReport> {
  const dryRun = request.dryRun === true;
  const graceMs = Math.max(0, request.graceMs);
  return core.withLock('exclusive', 'prune', async () => {
    core.index.clear();
    core.clearCaches();
    await core.refreshIndex();
    const now = Date.now();
    const snapshots = await core.loadSnapshots((name, err) => {
      throw new IntegrityError(`prune stopped: snapshot ${name} is unreadable, so what it references is unknown`, { cause: err });
    });
    const keepIds = new Set(request.keep);
    const kept = snapshots.filter((s) => keepIds.has(s.id) || now - Date.parse(s.time) < graceMs);
    const forgotten = snapshots.filter((s) => !kept.includes(s));

    const used = await referencedChunks(core, kept, options.signal);
    await planChunks(core, used);

    // Usage of every indexed pack (only the index's chosen copy of a chunk counts).
    const usedBytes = new Map<string, number>();
    const liveEntries = new Map<string, BlobEntry[]>();
    for (const [id, loc] of core.index.chunks) {
      if (!used.has(id)) continue;
      usedBytes.set(loc.pack, (usedBytes.get(loc.pack) ?? 0) + loc.length);
      const list = liveEntries.get(loc.pack) ?? [];
      list.push({ id, type: loc.type, compressed: loc.compressed, epoch: loc.epoch, offset: loc.offset, length: loc.length, rawLength: loc.rawLength });
      liveEntries.set(loc.pack, list);
    }
    const old = (createdMs: number): boolean => now - createdMs >= graceMs;
    const toDelete: { id: string; size: number }[] = [];
    const toRepack: { id: string; size: number }[] = [];
    for (const pack of core.index.packs.values()) {
      const u = usedBytes.get(pack.id) ?? 0;
      if (!old(pack.createdMs)) continue;
      if (u === 0) toDelete.push(pack);
      else if ((pack.blobBytes - u) / pack.size > REPACK_UNUSED_RATIO) toRepack.push(pack);
    }
    // Packs no index lists: leftovers of interrupted runs, once past the grace period.
    for await (const obj of core.backend.list(Names.dataPrefix)) {
      const id = packIdOfName(obj.name);
      if (id === undefined || core.index.packs.has(id)) continue;
      const created = await packCreatedMs(core, id, obj.size);
      if (created !== undefined ? old(created) : graceMs === 0) toDelete.push({ id, size: obj.size });
    }

    const report = {
      snapshotsRemoved: forgotten.map((s) => s.id),
      packsDeleted: toDelete.length,
      packsRepacked: toRepack.length,
      bytesFreed: toDelete.reduce((s, p) => s + p.size, 0) + toRepack.reduce((s, p) => s + p.size - (usedBytes.get(p.id) ?? 0), 0),
      dryRun,
    };
    if (dryRun) return report;

    // 1. Forget snapshots (every epoch's copy).
    const objects = await core.listSnapshotObjects();
    const removed: string[] = [];
    for (const s of forgotten) {
      let all = true;
      for (const copy of objects.get(s.id) ?? []) all = (await removeQuietly(core, copy.name)) && all;
      if (all) removed.push(s.id);
    }

    // 2. Repack: authenticate each live blob, then copy it verbatim.
    const pool = new PackPool(core, {
      openPacks: 1,
      packSize: core.config.packSize,
      compressionLevel: core.config.compressionLevel,
      uploadConcurrency: core.options.uploadConcurrency,
      signal: options.signal,
    });
    for (const pack of toRepack) {
      options.signal?.throwIfAborted();
      const name = Names.pack(pack.id);
      const bytes = await core.backend.load(name, undefined, { signal: options.signal });
      for (const e of liveEntries.get(pack.id) ?? []) {
        const sealed = bytes.subarray(e.offset, e.offset + e.length);
        core.decodeBlob(e.id, e, sealed, name);
        await pool.addSealed({ id: e.id, type: e.type, compressed: e.compressed, epoch: e.epoch, rawLength: e.rawLength }, Buffer.from(sealed));
      }
    }
    await pool.drain(true);
    const newPacks = pool.takeUploaded();
    let newBytes = 0;
    for (const p of newPacks) newBytes += p.size;

    // 3. One consolidated index: surviving packs with their chosen entries, plus the new packs.
    const gone = new Set([...toDelete.map((p) => p.id), ...toRepack.map((p) => p.id)]);
    const moved = new Set(newPacks.flatMap((p) => p.entries.map((e) => e.id)));
    const byPack = new Map<string, BlobEntry[]>();
    for (const [id, loc] of core.index.chunks) {
      if (gone.has(loc.pack) || moved.has(id)) continue;
      const list = byPack.get(loc.pack) ?? [];
      list.push({ id, type: loc.type, compressed: loc.compressed, epoch: loc.epoch, offset: loc.offset, length: loc.length, rawLength: loc.rawLength });
      byPack.set(loc.pack, list);
    }
    const consolidated: IndexedPack[] = [...newPacks];
    for (const [packId, entries] of byPack) {
      const info = core.index.packs.get(packId)!;
      consolidated.push({ ...info, entries });
    }
    const oldIndexes = [...core.index.objects.keys()];
    core.index.clear();
    await core.writeIndex(consolidated);
    for (const id of oldIndexes) await removeQuietly(core, Names.index(id));
    let freed = 0;
    for (const p of [...toDelete, ...toRepack]) if (await removeQuietly(core, Names.pack(p.id))) freed += p.size;
    core.index.clear();
    await core.refreshIndex();
    return { ...report, snapshotsRemoved: removed, bytesFreed: Math.max(0, freed - newBytes) };
  });
}
