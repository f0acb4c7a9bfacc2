import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { basename } from 'node:path';
import type { Repository, SnapshotSummary } from '../../../activities/engine/api';
import type { CofferRepository } from '../../../activities/engine/repository';
import { Names } from '../../../activities/repository/format';
import type { Backend } from '../../../activities/storage/backend';
import { BACKEND_KINDS, PASS, SMALL, cleanupDir, listNames, makeBackend, pseudoRandom, readFromSnapshot, replaceObject, tempDir, testEngine, writeTree } from './helpers';
import type { BackendFixture } from './helpers';

const INTEGRITY = { code: 'COFFER-E205' };

interface Fixture {
  fx: BackendFixture;
  backend: Backend;
  repo: CofferRepository;
  snaps: SnapshotSummary[];
  root: string;
  src: string;
  cleanup(): Promise<void>;
}

/** A repository with two snapshots; f1/f2 are single same-sized incompressible chunks. */
async function setup(kind: 'memory' | 'local'): Promise<Fixture> {
  const fx = await makeBackend(kind);
  const src = await tempDir('src');
  await writeTree(src, { 'f1.bin': pseudoRandom(3000, 1), 'f2.bin': pseudoRandom(3000, 2), 'big.bin': pseudoRandom(200_000, 3) });
  const engine = testEngine();
  const repo = (await engine.init(fx.backend, PASS, SMALL)) as CofferRepository;
  const s1 = await repo.backup({ paths: [src], host: 'h' });
  await writeTree(src, { 'f3.txt': 'third' });
  const s2 = await repo.backup({ paths: [src], host: 'h' });
  return { fx, backend: fx.backend, repo, snaps: [s1, s2], root: basename(src), src, cleanup: async () => { await cleanupDir(src); await fx.cleanup(); } };
}

async function fresh(f: Fixture): Promise<Repository> {
  return testEngine().open(f.backend, PASS);
}

function chunkOf(repo: CofferRepository, id: string): { pack: string; offset: number; length: number } {
  const loc = repo.core.index.get(id);
  assert.ok(loc !== undefined);
  return { pack: Names.pack(loc.pack), offset: loc.offset, length: loc.length };
}

async function fileChunks(repo: Repository, rootTree: string, root: string, name: string): Promise<string[]> {
  const top = await repo.loadTree(rootTree);
  const dir = await repo.loadTree(top.nodes.find((n) => n.name === root)!.subtree!);
  return dir.nodes.find((n) => n.name === name)!.content!.flatMap((c) => ('chunk' in c ? [c.chunk] : []));
}

for (const kind of BACKEND_KINDS) {
  void describe(`tamper detection on ${kind} storage`, () => {
    void it('a flipped byte in a data blob: loadChunk names pack and chunk; verify names the snapshots and files', async () => {
      const f = await setup(kind);
      try {
        const [chunk] = await fileChunks(f.repo, f.snaps[0].rootTree, f.root, 'f1.bin');
        const loc = chunkOf(f.repo, chunk);
        await replaceObject(f.backend, loc.pack, (b) => {
          b[loc.offset + 30] ^= 0x04;
          return b;
        });
        const repo = await fresh(f);
        await assert.rejects(repo.loadChunk(chunk), (err: Error) => {
          assert.equal((err as { code?: string }).code, 'COFFER-E205');
          assert.ok(err.message.includes(chunk) && err.message.includes(loc.pack), err.message);
          return true;
        });
        const structure = await repo.verify({ level: 'structure' });
        assert.deepEqual(structure.findings, [], 'structure cannot see inside blobs');
        const report = await repo.verify({ level: 'read-data' });
        assert.equal(report.findings.length, 1);
        const finding = report.findings[0];
        assert.equal(finding.kind, 'chunk-integrity');
        assert.equal(finding.object, loc.pack);
        assert.deepEqual([...finding.snapshots].sort(), f.snaps.map((s) => s.id).sort());
        assert.ok(finding.files.includes(`${f.snaps[0].id}:${f.root}/f1.bin`), JSON.stringify(finding.files));
      } finally {
        await f.cleanup();
      }
    });

    void it('two blobs of the same size swapped inside a pack (a chunk moved to another id) fail to open', async () => {
      const f = await setup(kind);
      try {
        const [c1] = await fileChunks(f.repo, f.snaps[0].rootTree, f.root, 'f1.bin');
        const [c2] = await fileChunks(f.repo, f.snaps[0].rootTree, f.root, 'f2.bin');
        const l1 = chunkOf(f.repo, c1);
        const l2 = chunkOf(f.repo, c2);
        assert.equal(l1.length, l2.length);
        if (l1.pack === l2.pack) {
          await replaceObject(f.backend, l1.pack, (b) => {
            const a = Buffer.from(b.subarray(l1.offset, l1.offset + l1.length));
            b.copy(b, l1.offset, l2.offset, l2.offset + l2.length);
            a.copy(b, l2.offset);
            return b;
          });
        } else {
          const b1 = await f.backend.load(l1.pack, { offset: l1.offset, length: l1.length });
          const b2 = await f.backend.load(l2.pack, { offset: l2.offset, length: l2.length });
          await replaceObject(f.backend, l1.pack, (b) => (b2.copy(b, l1.offset), b));
          await replaceObject(f.backend, l2.pack, (b) => (b1.copy(b, l2.offset), b));
        }
        const repo = await fresh(f);
        await assert.rejects(repo.loadChunk(c1), INTEGRITY);
        await assert.rejects(repo.loadChunk(c2), INTEGRITY);
        const report = await repo.verify({ level: 'read-data' });
        assert.equal(report.findings.filter((x) => x.kind === 'chunk-integrity').length, 2);
      } finally {
        await f.cleanup();
      }
    });

    void it('a truncated, a deleted and a renamed pack are found by structure verify', async () => {
      const f = await setup(kind);
      try {
        const packs = await listNames(f.backend, 'data/');
        assert.ok(packs.length >= 3);
        await replaceObject(f.backend, packs[0].name, (b) => b.subarray(0, b.length - 10));
        await f.backend.remove(packs[1].name);
        // Pack 2's bytes under pack 3's name (pack 3's content gone): the header is bound to its pack id.
        const p2 = await f.backend.load(packs[2].name);
        if (packs[3] !== undefined) {
          await f.backend.remove(packs[3].name);
          await f.backend.save(packs[3].name, p2);
        }
        const repo = await fresh(f);
        const report = await repo.verify({ level: 'read-data' });
        const kinds = report.findings.map((x) => `${x.kind} ${x.object}`);
        assert.ok(kinds.includes(`pack-size ${packs[0].name}`), kinds.join('\n'));
        assert.ok(kinds.includes(`missing-pack ${packs[1].name}`), kinds.join('\n'));
        if (packs[3] !== undefined) assert.ok(report.findings.some((x) => x.object === packs[3].name && (x.kind === 'pack-size' || x.kind === 'pack-header')), kinds.join('\n'));
        // Affected snapshots are named unless a damaged tree hid what lies below it.
        const walkComplete = !report.findings.some((x) => x.kind === 'tree-unreadable');
        for (const x of report.findings) assert.ok(x.snapshots.length > 0 || x.kind === 'pack-header' || !walkComplete, `${x.kind} names snapshots: ${JSON.stringify(report.findings)}`);
      } finally {
        await f.cleanup();
      }
    });

    void it('a flipped or truncated index object stops open with an error naming it, and verify reports it', async () => {
      const f = await setup(kind);
      try {
        const [index] = await listNames(f.backend, 'index/');
        await replaceObject(f.backend, index.name, (b) => {
          b[b.length - 20] ^= 1;
          return b;
        });
        await assert.rejects(fresh(f), (err: Error) => (err as { code?: string }).code === 'COFFER-E205' && err.message.includes(index.name));
        await replaceObject(f.backend, index.name, (b) => b.subarray(0, 9));
        await assert.rejects(fresh(f), INTEGRITY);
        const report = await f.repo.verify({ level: 'structure' });
        assert.ok(report.findings.some((x) => x.kind === 'index-unreadable' && x.object === index.name));
      } finally {
        await f.cleanup();
      }
    });

    void it('a flipped snapshot and two swapped snapshots are detected', async () => {
      const f = await setup(kind);
      try {
        const names = (await listNames(f.backend, 'snapshots/')).map((o) => o.name);
        assert.equal(names.length, 2);
        const a = await f.backend.load(names[0]);
        const b = await f.backend.load(names[1]);
        await f.backend.remove(names[0]);
        await f.backend.remove(names[1]);
        await f.backend.save(names[0], b);
        await f.backend.save(names[1], a);
        const repo = await fresh(f);
        await assert.rejects(repo.listSnapshots(), INTEGRITY);
        const report = await repo.verify({ level: 'structure' });
        assert.deepEqual(report.findings.map((x) => x.kind).sort(), ['snapshot-unreadable', 'snapshot-unreadable']);
        await f.backend.remove(names[0]);
        await f.backend.save(names[0], a);
        await f.backend.remove(names[1]);
        await f.backend.save(names[1], b);
        assert.equal((await repo.listSnapshots()).length, 2);
        await replaceObject(f.backend, names[1], (x) => {
          x[12] ^= 0x10;
          return x;
        });
        await assert.rejects(repo.listSnapshots(), (err: Error) => err.message.includes(names[1]));
      } finally {
        await f.cleanup();
      }
    });

    void it('a damaged tree fails to load; verify names the snapshot and path', async () => {
      const f = await setup(kind);
      try {
        const top = await f.repo.loadTree(f.snaps[1].rootTree);
        const dirId = top.nodes[0].subtree!;
        const loc = chunkOf(f.repo, dirId);
        await replaceObject(f.backend, loc.pack, (b) => {
          b[loc.offset + loc.length - 1] ^= 0x01;
          return b;
        });
        const repo = await fresh(f);
        await assert.rejects(repo.loadTree(dirId), INTEGRITY);
        await assert.rejects(readFromSnapshot(repo, f.snaps[1].rootTree, `${f.root}/f3.txt`), INTEGRITY);
        const report = await repo.verify({ level: 'structure' });
        const finding = report.findings.find((x) => x.kind === 'tree-unreadable');
        assert.ok(finding !== undefined);
        assert.equal(finding.object, loc.pack);
        assert.ok(finding.files.includes(`${f.snaps[1].id}:${f.root}`), JSON.stringify(finding));
      } finally {
        await f.cleanup();
      }
    });

    void it('a damaged key file is KeyFileCorrupt, not a wrong passphrase', async () => {
      const f = await setup(kind);
      try {
        const [key] = await listNames(f.backend, 'keys/');
        await replaceObject(f.backend, key.name, (b) => {
          b[200] ^= 0x01;
          return b;
        });
        await assert.rejects(fresh(f), { code: 'COFFER-E202' });
      } finally {
        await f.cleanup();
      }
    });
  });
}
