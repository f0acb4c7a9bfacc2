/**
 * Scenario 5 — many writers, a pruner and a verifier on one repository.
 *
 * Ten backups of overlapping data run at the same time, each through its own
 * Repository handle (as ten workers would), in the three resumable steps the
 * workflows use (plan, batches, commit); a step refused with RepoLocked is
 * retried after a jittered pause, as Temporal would. Meanwhile a pruner
 * forgets three older snapshots (prune with a grace period, repeatedly) and
 * a verifier runs structure checks. Afterwards a final prune, a read-data
 * verify, and a restore of every new snapshot:
 *   ok    the snapshot restores byte-identical to its source manifest;
 *   lost  it does not (a referenced chunk was deleted or damaged).
 * Verify must be clean at every point, and the forgotten snapshots gone.
 */
import assert from 'node:assert/strict';
import { cp, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Repository, SnapshotSummary } from '../../activities/engine/api';
import type { Backend, CallOptions, ObjectInfo } from '../../activities/storage/backend';
import { RepoLocked } from '../../activities/repository/errors';
import { LocalBackend } from '../../activities/storage/local';
import { ChaosReport } from './report';
import {
  PASS, Prng, SMALL_REPO, chaosEngine, describeError, manifestDiff, manifestOf, removeDir, tempDir, writeDataset,
} from './helpers';
import type { Manifest } from './helpers';

const SCENARIO = 'concurrent';
const HEAVY = process.env.COFFER_CHAOS_HEAVY === '1';
const ROUNDS = HEAVY ? 3 : 1;
const WRITERS = 10;
const report = new ChaosReport();
report.declare(SCENARIO);

void describe('chaos: concurrent backups, prune and verify on one repository', () => {
  let work: string;
  let repoDir: string;
  let base: string;

  before(async () => {
    work = await tempDir('concurrent');
    repoDir = join(work, 'repo');
    base = join(work, 'base');
    await writeDataset(base, 501, { files: 40, minSize: 20_000, maxSize: 400_000, dirs: 4, textShare: 0.4 });
    const repo = await chaosEngine().init(new LocalBackend({ root: repoDir }), PASS, { ...SMALL_REPO, packSize: 512 * 1024 });
    await repo.close();
  });

  after(async () => {
    await removeDir(work);
  });

  // Small batches: each backup takes and releases the shared lock many times, so prune gets in between.
  const open = (): Promise<Repository> => chaosEngine({ batchFiles: 8 }).open(new LocalBackend({ root: repoDir }), PASS);

  /** Retries a step refused because another handle holds a conflicting lock. */
  async function whenUnlocked<T>(rnd: Prng, step: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await step();
      } catch (err) {
        if (!(err instanceof RepoLocked) || attempt > 400) throw err;
        report.count(SCENARIO, 'lock-retries');
        await new Promise((r) => setTimeout(r, 20 + rnd.int(150)));
      }
    }
  }

  /** A backup in the workflow's three steps, each retried on RepoLocked. */
  async function backupInSteps(repo: Repository, path: string, tag: string, rnd: Prng): Promise<SnapshotSummary> {
    const plan = await repo.planBackup({ paths: [path], host: 'chaos', tags: [tag] });
    for (let b = 0; b < plan.batches; b++) await whenUnlocked(rnd, () => repo.backupBatch(plan.planId, b, undefined));
    return whenUnlocked(rnd, () => repo.commitBackup(plan.planId));
  }

  /** A source sharing most data with the base (copied), plus unique and modified files. */
  async function makeSource(name: string, seed: number): Promise<{ path: string; manifest: Manifest }> {
    const path = join(work, name);
    await cp(base, path, { recursive: true });
    await writeDataset(join(path, 'own'), seed, { files: 6, minSize: 5_000, maxSize: 200_000, dirs: 2 });
    const rnd = new Prng(seed);
    // A shifted copy of a shared file: content-defined chunking must still share most chunks.
    await writeFile(join(path, 'shifted.bin'), Buffer.concat([rnd.bytes(1 + rnd.int(5000)), rnd.bytes(300_000)]));
    return { path, manifest: await manifestOf(path) };
  }

  for (let round = 0; round < ROUNDS; round++) {
    void it(`round ${round + 1}: ${WRITERS} concurrent backups + prune (grace) + verify; nothing referenced is lost`, { timeout: 20 * 60_000 }, async () => {
      const problems: string[] = [];
      // Three older snapshots to forget while the new backups run.
      const old: SnapshotSummary[] = [];
      {
        const repo = await open();
        try {
          for (let i = 0; i < 3; i++) {
            const src = await makeSource(`old-${round}-${i}`, 600 + round * 10 + i);
            old.push(await repo.backup({ paths: [src.path], host: 'chaos', tags: ['old'] }));
            await removeDir(src.path);
          }
        } finally {
          await repo.close();
        }
      }
      const sources = await Promise.all(Array.from({ length: WRITERS }, (_, i) => makeSource(`new-${round}-${i}`, 700 + round * 100 + i)));
      const oldIds = new Set(old.map((s) => s.id));
      let writersDone = 0;
      const verifyFindings: string[] = [];
      let prunes = 0;
      let verifies = 0;

      const writers = sources.map(async (src, i) => {
        const rnd = new Prng(900 + round * 100 + i);
        await new Promise((r) => setTimeout(r, rnd.int(400)));
        const repo = await open();
        try {
          return await backupInSteps(repo, src.path, `new-${round}`, rnd);
        } finally {
          writersDone++;
          await repo.close();
        }
      });
      const pruner = (async () => {
        const rnd = new Prng(77 + round);
        const repo = await open();
        try {
          while (writersDone < WRITERS) {
            await new Promise((r) => setTimeout(r, 30 + rnd.int(200)));
            const result = await whenUnlocked(rnd, async () => {
              const keep = (await repo.listSnapshots()).filter((s) => !oldIds.has(s.id)).map((s) => s.id);
              return repo.prune({ keep, graceMs: 1500 });
            });
            prunes++;
            report.count(SCENARIO, 'packs-deleted', result.packsDeleted);
            report.count(SCENARIO, 'packs-repacked', result.packsRepacked);
            report.count(SCENARIO, 'snapshots-forgotten', result.snapshotsRemoved.length);
          }
        } finally {
          await repo.close();
        }
      })();
      const verifier = (async () => {
        const rnd = new Prng(55 + round);
        const repo = await open();
        try {
          while (writersDone < WRITERS) {
            await new Promise((r) => setTimeout(r, 30 + rnd.int(200)));
            const result = await whenUnlocked(rnd, () => repo.verify({ level: 'structure' }));
            verifies++;
            for (const f of result.findings) verifyFindings.push(`during the run: ${f.kind} ${f.object}: ${f.detail}`);
          }
        } finally {
          await repo.close();
        }
      })();

      const settled = await Promise.allSettled([...writers, pruner, verifier]);
      for (const s of settled) if (s.status === 'rejected') problems.push(`a participant failed: ${describeError(s.reason)}`);
      const snaps = settled.slice(0, WRITERS).map((s) => (s.status === 'fulfilled' ? (s.value as SnapshotSummary) : undefined));
      report.count(SCENARIO, 'prunes-during', prunes);
      report.count(SCENARIO, 'verifies-during', verifies);

      // Settle: forget the old snapshots for good, then check everything.
      const repo = await open();
      try {
        const keep = (await repo.listSnapshots()).filter((s) => !oldIds.has(s.id)).map((s) => s.id);
        const final = await whenUnlocked(new Prng(1), () => repo.prune({ keep, graceMs: 0 }));
        report.count(SCENARIO, 'packs-deleted', final.packsDeleted);
        report.count(SCENARIO, 'packs-repacked', final.packsRepacked);
        const listed = await repo.listSnapshots();
        const stillOld = listed.filter((s) => oldIds.has(s.id));
        if (stillOld.length > 0) problems.push(`${stillOld.length} forgotten snapshots are still listed`);
        const verified = await repo.verify({ level: 'read-data' });
        for (const f of verified.findings) verifyFindings.push(`after: ${f.kind} ${f.object}: ${f.detail}`);
        for (const [i, snap] of snaps.entries()) {
          if (snap === undefined) {
            report.run(SCENARIO, 'other');
            continue;
          }
          const target = join(work, `restore-${round}-${i}`);
          try {
            await repo.restore({ snapshot: snap.id, target });
            const diff = manifestDiff(sources[i].manifest, await manifestOf(join(target, `new-${round}-${i}`)));
            if (diff.length > 0) problems.push(`snapshot ${i} restores with differences: ${diff.slice(0, 3).join(', ')}`);
            report.run(SCENARIO, diff.length === 0 ? 'ok' : 'lost');
          } catch (err) {
            problems.push(`snapshot ${i} does not restore: ${describeError(err)}`);
            report.run(SCENARIO, 'lost');
          } finally {
            await removeDir(target);
          }
        }
      } finally {
        await repo.close();
      }
      for (const s of sources) await removeDir(s.path);
      report.detail(SCENARIO, 'verify-findings', verifyFindings.length);
      assert.deepEqual(verifyFindings.slice(0, 10), [], 'verify is clean during and after the run');
      assert.deepEqual(problems, []);
    });
  }
  /** A view of the repository's storage that holds back chosen calls. */
  function gatedBackend(hold: { list?: (prefix: string) => Promise<void>; load?: (name: string) => Promise<void> }): Backend {
    const local = new LocalBackend({ root: repoDir });
    return {
      location: local.location,
      capabilities: local.capabilities,
      save: (n, d, o) => local.save(n, d, o),
      load: async (n, r, o) => {
        await hold.load?.(n);
        return local.load(n, r, o);
      },
      stat: (n, o) => local.stat(n, o),
      remove: (n, o) => local.remove(n, o),
      close: () => local.close(),
      list: (prefix: string, options?: CallOptions): AsyncIterable<ObjectInfo> => ({
        async *[Symbol.asyncIterator]() {
          await hold.list?.(prefix);
          yield* local.list(prefix, options);
        },
      }),
    };
  }

  void it('prune is refused while a shared lock is held, even when that lock is renewed during prune\'s lock check', async () => {
    // Handle A verifies and holds its shared lock for ~5 s (its snapshot listing is slow); its lease
    // (3 s) is renewed every second: write lock N+1, remove lock N. Handle B's prune reads lock objects
    // slowly (1.5 s each), as on a busy bucket: by the time it loads A's lock, A has renewed it.
    const attempt = async (leaseMs: number): Promise<unknown> => {
      let release: () => void = () => undefined;
      const held = new Promise<void>((r) => (release = r));
      const a = await chaosEngine({ leaseMs }).open(gatedBackend({ list: async (p) => (p === 'snapshots/' ? held : undefined) }), PASS);
      const b = await chaosEngine({ leaseMs }).open(gatedBackend({ load: async (n) => (n.startsWith('locks/') ? new Promise((r) => setTimeout(r, 1500)) : undefined) }), PASS);
      try {
        const verifying = a.verify({ level: 'structure' });
        await new Promise((r) => setTimeout(r, 300)); // A holds its shared lock now
        const keep = (await b.listSnapshots()).map((s) => s.id);
        const outcome = await b.prune({ keep, graceMs: 60_000, dryRun: true }).then(() => 'prune ran', (err: unknown) => err);
        release();
        await verifying;
        return outcome;
      } finally {
        release();
        await a.close();
        await b.close();
      }
    };
    // Control: with a long lease (no renewal during the check) the slow checker does see the lock.
    assert.ok((await attempt(60_000)) instanceof RepoLocked, 'control: prune refused while verify holds a long-lease shared lock');
    const outcome = await attempt(3000);
    assert.ok(outcome instanceof RepoLocked, `an exclusive prune ran while verify held a shared lock (${String(outcome)}): lock renewal (write new, remove old) hides the holder from a concurrent conflict check`);
  });
});
