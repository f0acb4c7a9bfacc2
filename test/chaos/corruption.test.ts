/**
 * Scenario 1 — storage flips bytes and truncates objects.
 *
 * A real repository on local disk (two snapshots of a seeded dataset, small
 * chunks and packs so the data spreads over many objects) receives 1,000
 * seeded mutations, one at a time: a single-byte XOR or a truncation, spread
 * over data blobs, tree blobs, pack headers, index objects, snapshots, key
 * files and the config. After each mutation a fresh process-like open, a
 * read-data verify, loadChunk of the hit chunk and a restore of every
 * snapshot must show it:
 *   detected  open fails with a typed error, verify reports a finding, or
 *             restore/loadChunk throws IntegrityError — and the finding names
 *             the files that use the damaged chunk;
 *   never     a restore that succeeds with different bytes, or any file at a
 *             final restore path that is not byte-identical to the manifest.
 * The pristine bytes are put back after every check.
 */
import assert from 'node:assert/strict';
import { readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Repository, SnapshotSummary } from '../../activities/engine/api';
import type { CofferRepository } from '../../activities/engine/repository';
import { IntegrityError } from '../../activities/crypto/errors';
import { Names } from '../../activities/repository/format';
import { LocalBackend } from '../../activities/storage/local';
import { ChaosReport } from './report';
import {
  PASS, Prng, SMALL_REPO, chaosEngine, codeOf, describeError, manifestDiff, manifestOf, removeDir, sha256, tmpfsDir, unverifiedFiles, writeDataset,
} from './helpers';
import type { Manifest } from './helpers';

const MUTATIONS = Number(process.env.COFFER_CHAOS_MUTATIONS ?? (process.env.COFFER_CHAOS_HEAVY === '1' ? 5000 : 1000));
const SEED = Number(process.env.COFFER_CHAOS_SEED ?? 20250801);
const SCENARIO = 'corruption';

type Category = 'data-blob' | 'tree-blob' | 'pack-header' | 'index' | 'snapshot' | 'key' | 'config';
const WEIGHTS: readonly [Category, number][] = [
  ['data-blob', 30], ['tree-blob', 15], ['pack-header', 10], ['index', 15], ['snapshot', 10], ['key', 10], ['config', 10],
];

interface Blob {
  readonly chunk: string;
  readonly type: 'data' | 'tree';
  readonly offset: number;
  readonly length: number;
}

interface StoredObject {
  readonly name: string;
  readonly category: 'pack' | 'index' | 'snapshot' | 'key' | 'config';
  readonly bytes: Buffer;
  /** Packs: the blobs in it, by offset. */
  readonly blobs: Blob[];
  /** Packs: where the header region (epoch, sealed header, trailer) starts. */
  readonly headerStart: number;
}

interface Mutation {
  readonly category: Category;
  readonly object: StoredObject;
  readonly kind: 'flip' | 'truncate';
  readonly offset: number;
  readonly xor: number;
  readonly newLength: number;
  /** The blob whose bytes changed (flip inside it, or a truncation cutting into it). */
  readonly hitBlobs: Blob[];
}

const report = new ChaosReport();
report.declare(SCENARIO);

void describe('chaos: corruption of stored objects', () => {
  let work: string;
  let unmount: () => Promise<void>;
  let repoDir: string;
  let src: string;
  let rootName: string;
  const snapshots: SnapshotSummary[] = [];
  const manifests = new Map<string, Manifest>();
  /** chunk id → `<snapshot>:<path>` entries verify should name (files for data chunks, directories for tree chunks). */
  const users = new Map<string, Set<string>>();
  const objects: StoredObject[] = [];

  before(async () => {
    const mounted = await tmpfsDir('corruption');
    work = mounted.dir;
    unmount = () => mounted.cleanup();
    repoDir = join(work, 'repo');
    src = join(work, 'source');
    rootName = basename(src);
    const engine = chaosEngine();
    const repo = await engine.init(new LocalBackend({ root: repoDir }), PASS, SMALL_REPO);
    try {
      await writeDataset(src, SEED, { files: 36, minSize: 0, maxSize: 70_000, dirs: 4 });
      snapshots.push(await repo.backup({ paths: [src], host: 'chaos' }));
      manifests.set(snapshots[0].id, await manifestOf(src));
      // Second snapshot: some files changed, some added; most chunks shared.
      await writeDataset(join(src, 'd2'), SEED + 1, { files: 8, minSize: 1000, maxSize: 50_000, dirs: 1 });
      await writeFile(join(src, 'f-changed.bin'), new Prng(SEED + 2).bytes(40_000));
      snapshots.push(await repo.backup({ paths: [src], host: 'chaos' }));
      manifests.set(snapshots[1].id, await manifestOf(src));
      await collectUsers(repo);
      await collectObjects(repo as CofferRepository);
    } finally {
      await repo.close();
    }
  });

  after(async () => {
    await unmount();
  });

  async function collectUsers(repo: Repository): Promise<void> {
    const use = (chunk: string, entry: string): void => {
      const set = users.get(chunk) ?? new Set<string>();
      set.add(entry);
      users.set(chunk, set);
    };
    for (const snap of snapshots) {
      const stack: { id: string; path: string }[] = [{ id: snap.rootTree, path: '' }];
      while (stack.length > 0) {
        const { id, path } = stack.pop()!;
        use(id, `${snap.id}:${path === '' ? '/' : path}`);
        for (const node of (await repo.loadTree(id)).nodes) {
          const p = path === '' ? node.name : `${path}/${node.name}`;
          if (node.subtree !== undefined) stack.push({ id: node.subtree, path: p });
          for (const c of node.content ?? []) if ('chunk' in c) use(c.chunk, `${snap.id}:${p}`);
        }
      }
    }
  }

  async function collectObjects(repo: CofferRepository): Promise<void> {
    const blobsOfPack = new Map<string, Blob[]>();
    for (const [chunk, loc] of repo.core.index.chunks) {
      const list = blobsOfPack.get(Names.pack(loc.pack)) ?? [];
      list.push({ chunk, type: loc.type, offset: loc.offset, length: loc.length });
      blobsOfPack.set(Names.pack(loc.pack), list);
    }
    const walk = async (rel: string): Promise<void> => {
      for (const entry of await readdir(join(repoDir, rel), { withFileTypes: true })) {
        const name = rel === '' ? entry.name : `${rel}/${entry.name}`;
        if (entry.isDirectory()) {
          await walk(name);
          continue;
        }
        const bytes = await readFile(join(repoDir, name));
        const top = name.split('/')[0];
        const category = top === 'data' ? 'pack' : top === 'index' ? 'index' : top === 'snapshots' ? 'snapshot' : top === 'keys' ? 'key' : name === 'config' ? 'config' : undefined;
        assert.ok(category !== undefined, `unexpected object ${name} in a quiet repository`);
        const blobs = (blobsOfPack.get(name) ?? []).sort((a, b) => a.offset - b.offset);
        const headerStart = blobs.reduce((end, b) => Math.max(end, b.offset + b.length), 0);
        objects.push({ name, category, bytes, blobs, headerStart });
      }
    };
    await walk('');
    objects.sort((a, b) => a.name.localeCompare(b.name));
  }

  function pickMutation(rnd: Prng): Mutation {
    const total = WEIGHTS.reduce((s, [, w]) => s + w, 0);
    let x = rnd.int(total);
    let category: Category = 'data-blob';
    for (const [c, w] of WEIGHTS) {
      if (x < w) {
        category = c;
        break;
      }
      x -= w;
    }
    const storedCategory = category === 'data-blob' || category === 'tree-blob' || category === 'pack-header' ? 'pack' : category;
    let candidates = objects.filter((o) => o.category === storedCategory);
    if (category === 'data-blob' || category === 'tree-blob') {
      const type = category === 'data-blob' ? 'data' : 'tree';
      candidates = candidates.filter((o) => o.blobs.some((b) => b.type === type));
    }
    const object = rnd.pick(candidates);
    const kind = rnd.float() < 0.75 ? 'flip' : 'truncate';
    let offset: number;
    if (category === 'data-blob' || category === 'tree-blob') {
      const blob = rnd.pick(object.blobs.filter((b) => b.type === (category === 'data-blob' ? 'data' : 'tree')));
      offset = blob.offset + rnd.int(blob.length);
    } else if (category === 'pack-header') {
      offset = object.headerStart + rnd.int(object.bytes.length - object.headerStart);
    } else {
      offset = rnd.int(object.bytes.length);
    }
    const newLength = offset; // truncations cut at the chosen byte
    const hitBlobs = kind === 'flip'
      ? object.blobs.filter((b) => offset >= b.offset && offset < b.offset + b.length)
      : object.blobs.filter((b) => b.offset + b.length > newLength);
    return { category, object, kind, offset, xor: 1 + rnd.int(255), newLength, hitBlobs };
  }

  function mutated(m: Mutation): Buffer {
    if (m.kind === 'truncate') return Buffer.from(m.object.bytes.subarray(0, m.newLength));
    const copy = Buffer.from(m.object.bytes);
    copy[m.offset] ^= m.xor;
    return copy;
  }

  /** A key file whose JSON parses to the same document: only whitespace changed. */
  function sameKeyDocument(m: Mutation, bytes: Buffer): boolean {
    if (m.category !== 'key') return false;
    try {
      return JSON.stringify(JSON.parse(bytes.toString('utf8'))) === JSON.stringify(JSON.parse(m.object.bytes.toString('utf8')));
    } catch {
      return false;
    }
  }

  async function putBack(object?: StoredObject): Promise<void> {
    for (const o of object === undefined ? objects : [object]) await writeFile(join(repoDir, o.name), o.bytes);
    // Locks released by verify leave nothing; anything else would be a leak of the check itself.
    for (const dir of ['locks']) {
      for (const entry of await readdir(join(repoDir, dir)).catch(() => [] as string[])) await rm(join(repoDir, dir, entry), { force: true });
    }
  }

  interface Check {
    detectedBy: string[];
    untyped: string[];
    lost: string[];
    named: boolean | undefined;
  }

  async function check(m: Mutation, index: number): Promise<Check> {
    const c: Check = { detectedBy: [], untyped: [], lost: [], named: undefined };
    const typed = (where: string, err: unknown): void => {
      if (codeOf(err) === undefined) c.untyped.push(`${where}: ${describeError(err)}`);
      else c.detectedBy.push(where);
    };
    let repo: Repository;
    try {
      repo = await chaosEngine().open(new LocalBackend({ root: repoDir }), PASS);
    } catch (err) {
      typed('open', err);
      const msg = err instanceof Error ? err.message : '';
      c.named = msg.includes(m.object.name) || (m.category === 'key' && /key file/.test(msg)) || (m.category === 'config' && /config/.test(msg));
      return c;
    }
    try {
      const expectedUsers = new Set<string>();
      for (const b of m.hitBlobs) for (const u of users.get(b.chunk) ?? []) expectedUsers.add(u);
      try {
        const verified = await repo.verify({ level: 'read-data' });
        if (verified.findings.length > 0) {
          c.detectedBy.push('verify');
          if (expectedUsers.size > 0) c.named = verified.findings.some((f) => f.files.some((x) => expectedUsers.has(x)));
          else c.named = verified.findings.some((f) => f.object === m.object.name);
        }
      } catch (err) {
        typed('verify', err);
      }
      for (const blob of m.hitBlobs.filter((b) => b.type === 'data')) {
        try {
          const bytes = await repo.loadChunk(blob.chunk);
          c.lost.push(`loadChunk ${blob.chunk} returned ${bytes.length} bytes from a damaged blob`);
        } catch (err) {
          if (err instanceof IntegrityError) c.detectedBy.push('loadChunk');
          else typed('loadChunk', err);
        }
      }
      // Restore the snapshot that uses the damaged blob (the newest if none does: the damage must not matter then).
      const hitUser = [...expectedUsers][0];
      const snap = snapshots.find((x) => hitUser !== undefined && hitUser.startsWith(`${x.id}:`)) ?? snapshots[snapshots.length - 1];
      {
        const target = join(work, `restore-${index}-${snap.id.slice(0, 8)}`);
        try {
          await repo.restore({ snapshot: snap.id, target });
          const diff = manifestDiff(manifests.get(snap.id)!, await manifestOf(join(target, rootName)));
          if (diff.length > 0) c.lost.push(`restore of ${snap.id.slice(0, 8)} succeeded with wrong content: ${diff.slice(0, 3).join(', ')}`);
        } catch (err) {
          if (err instanceof IntegrityError) c.detectedBy.push('restore');
          else typed('restore', err);
          const bad = await unverifiedFiles(join(target, rootName), manifests.get(snap.id)!);
          if (bad.length > 0) c.lost.push(`after a failed restore, unverified files at final paths: ${bad.slice(0, 3).join(', ')}`);
        } finally {
          await removeDir(target);
        }
      }
    } finally {
      await repo.close();
    }
    return c;
  }

  void it(`detects every one of ${MUTATIONS} seeded byte flips and truncations`, { timeout: 30 * 60_000 }, async () => {
    const rnd = new Prng(SEED);
    const problems: string[] = [];
    const byCategory = new Map<string, number>();
    let benign = 0;
    let unnamed = 0;
    for (let i = 0; i < MUTATIONS; i++) {
      const m = pickMutation(rnd);
      const bytes = mutated(m);
      byCategory.set(`${m.category}-${m.kind}`, (byCategory.get(`${m.category}-${m.kind}`) ?? 0) + 1);
      await writeFile(join(repoDir, m.object.name), bytes);
      let c: Check;
      try {
        c = await check(m, i);
      } finally {
        await putBack(m.object);
      }
      const what = `#${i} ${m.kind} ${m.category} ${m.object.name} @${m.offset}${m.kind === 'flip' ? ` ^0x${m.xor.toString(16)}` : ''}`;
      for (const where of new Set(c.detectedBy)) report.count(SCENARIO, `by-${where}`);
      if (c.lost.length > 0) {
        report.run(SCENARIO, 'lost');
        problems.push(`${what}: LOST ${c.lost.join('; ')}`);
      } else if (c.untyped.length > 0) {
        report.run(SCENARIO, 'other');
        report.count(SCENARIO, 'untyped');
        problems.push(`${what}: untyped error ${c.untyped.join('; ')}`);
      } else if (c.detectedBy.length > 0) {
        if (c.named === false) {
          unnamed++;
          report.run(SCENARIO, 'other');
          problems.push(`${what}: detected by ${c.detectedBy.join(',')} but the affected object/files are not named`);
        } else report.run(SCENARIO, 'ok');
      } else if (sameKeyDocument(m, bytes)) {
        // JSON whitespace of a key file: the parsed document, and so every authenticated field, is unchanged.
        benign++;
        report.run(SCENARIO, 'ok');
      } else {
        report.run(SCENARIO, 'other');
        problems.push(`${what}: UNDETECTED`);
      }
    }
    report.detail(SCENARIO, 'benign-keyfile-whitespace', benign);
    report.detail(SCENARIO, 'unnamed', unnamed);
    report.detail(SCENARIO, 'undetected', problems.filter((p) => p.endsWith('UNDETECTED')).length);
    for (const [k, v] of [...byCategory].sort()) report.detail(SCENARIO, k, v);
    const figures = report.figures(SCENARIO);
    assert.equal(figures.runs, MUTATIONS);
    assert.deepEqual(problems.slice(0, 20), [], `${problems.length} mutations not cleanly detected`);
    assert.equal(figures.lost, 0);
    // The pristine repository is intact again: every snapshot still restores byte-identical.
    const repo = await chaosEngine().open(new LocalBackend({ root: repoDir }), PASS);
    try {
      assert.deepEqual((await repo.verify({ level: 'read-data' })).findings, []);
    } finally {
      await repo.close();
    }
  });

  void it('a damaged snapshot object does not stop restoring another, intact snapshot', async () => {
    const victim = objects.find((o) => o.category === 'snapshot' && o.name.includes(snapshots[1].id))!;
    const bytes = Buffer.from(victim.bytes);
    bytes[bytes.length - 5] ^= 0x40;
    await writeFile(join(repoDir, victim.name), bytes);
    const target = join(work, 'restore-intact');
    const repo = await chaosEngine().open(new LocalBackend({ root: repoDir }), PASS);
    try {
      await repo.restore({ snapshot: snapshots[0].id, target });
      assert.deepEqual(manifestDiff(manifests.get(snapshots[0].id)!, await manifestOf(join(target, rootName))), []);
    } finally {
      await repo.close();
      await removeDir(target);
      await putBack();
    }
  });

  void it('the dataset is what the manifests say (sanity of the harness)', async () => {
    assert.equal(manifests.size, 2);
    for (const m of manifests.values()) assert.ok(m.size > 30);
    assert.ok(objects.filter((o) => o.category === 'pack').length >= 4, 'data spread over several packs');
    assert.ok(objects.some((o) => o.blobs.some((b) => b.type === 'tree')));
    assert.equal(sha256(Buffer.alloc(0)).length, 64);
  });
});
