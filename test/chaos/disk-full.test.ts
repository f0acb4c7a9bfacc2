/**
 * Scenario 3 — the restore target fills up.
 *
 * A repository (seeded datasets of several MiB) is restored with
 * Repository.restore into a 4 MiB tmpfs. Each run must end in NoSpace
 * (COFFER-E210) with no temp file left and every file at a final path
 * byte-identical to the manifest; after space is made (the tmpfs remounted
 * bigger, or a ballast file deleted) the same restore completes, skips the
 * files the first attempt finished, and the whole tree is byte-identical.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Repository, SnapshotSummary } from '../../activities/engine/api';
import { NoSpace } from '../../activities/engine/restore';
import { LocalBackend } from '../../activities/storage/local';
import { ChaosReport } from './report';
import { PASS, SMALL_REPO, chaosEngine, describeError, manifestDiff, manifestOf, removeDir, tempDir, unverifiedFiles, writeDataset } from './helpers';
import type { Manifest } from './helpers';

const SCENARIO = 'disk-full';
const report = new ChaosReport();
report.declare(SCENARIO);

interface Round {
  readonly seed: number;
  readonly files: number;
  readonly minSize: number;
  readonly maxSize: number;
  /** How space is made after NoSpace. */
  readonly free: 'remount' | 'delete-ballast';
}

const ROUNDS: readonly Round[] = [
  { seed: 301, files: 6, minSize: 900_000, maxSize: 1_600_000, free: 'remount' },
  { seed: 302, files: 120, minSize: 20_000, maxSize: 120_000, free: 'remount' },
  { seed: 303, files: 12, minSize: 1_000, maxSize: 400_000, free: 'delete-ballast' },
];

void describe('chaos: disk full during restore', () => {
  let work: string;
  let repo: Repository;
  const snaps: { snap: SnapshotSummary; manifest: Manifest; root: string }[] = [];
  const mounts: string[] = [];

  before(async () => {
    work = await tempDir('diskfull');
    repo = await chaosEngine().init(new LocalBackend({ root: join(work, 'repo') }), PASS, { ...SMALL_REPO, packSize: 1024 * 1024 });
    for (const r of ROUNDS) {
      const src = join(work, `source-${r.seed}`);
      // Mostly random bytes: compression must not make the data fit.
      const manifest = await writeDataset(src, r.seed, { files: r.files, minSize: r.minSize, maxSize: r.maxSize, dirs: 3, textShare: 0.1 });
      snaps.push({ snap: await repo.backup({ paths: [src], host: 'chaos' }), manifest, root: basename(src) });
    }
  });

  after(async () => {
    await repo.close();
    for (const m of mounts) execFileSync('umount', ['-l', m]);
    await removeDir(work);
  });

  void it(`${ROUNDS.length} restores into a 4 MiB tmpfs: NoSpace, no partial files, resume completes`, { timeout: 10 * 60_000 }, async () => {
    const problems: string[] = [];
    for (const [i, r] of ROUNDS.entries()) {
      const { snap, manifest, root } = snaps[i];
      const mountPoint = join(work, `small-${i}`);
      await mkdir(mountPoint);
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4m,mode=0755', 'tmpfs', mountPoint]);
      mounts.push(mountPoint);
      const ballast = join(mountPoint, 'ballast');
      if (r.free === 'delete-ballast') await writeFile(ballast, Buffer.alloc(3 * 1024 * 1024, 7));
      const target = join(mountPoint, 'target');
      const bad: string[] = [];
      try {
        await repo.restore({ snapshot: snap.id, target });
        bad.push('the first restore fit into 4 MiB (dataset too small?)');
      } catch (err) {
        if (!(err instanceof NoSpace)) bad.push(`expected NoSpace, got ${describeError(err)}`);
        else if (String(err.code) !== 'COFFER-E210') bad.push(`NoSpace has code ${String(err.code)}`);
      }
      const unverified = await unverifiedFiles(join(target, root), manifest);
      if (unverified.length > 0) bad.push(`after NoSpace, files at final paths not byte-identical (or temp files): ${unverified.slice(0, 5).join(', ')}`);
      const partialRoundLost = unverified.length > 0;
      const restoredBefore = manifest.size - manifestDiff(manifest, await manifestOf(join(target, root)).catch(() => new Map<string, string>())).filter((d) => d.startsWith('missing')).length;
      report.count(SCENARIO, 'files-complete-before-nospace', restoredBefore);
      if (r.free === 'remount') execFileSync('mount', ['-o', 'remount,size=64m', mountPoint]);
      else await rm(ballast);
      try {
        const result = await repo.restore({ snapshot: snap.id, target });
        report.count(SCENARIO, 'files-skipped-on-resume', result.skipped);
        if (restoredBefore > 0 && result.skipped === 0) bad.push('the resumed restore skipped none of the completed files');
        const diff = manifestDiff(manifest, await manifestOf(join(target, root)));
        if (diff.length > 0) bad.push(`after resume the restore differs: ${diff.slice(0, 5).join(', ')}`);
      } catch (err) {
        if (r.free === 'delete-ballast' && err instanceof NoSpace) bad.push('still NoSpace after freeing the ballast (dataset larger than the tmpfs?)');
        else bad.push(`resume failed: ${describeError(err)}`);
      }
      const lost = partialRoundLost || bad.some((b) => b.includes('differs'));
      report.run(SCENARIO, bad.length === 0 ? 'ok' : lost ? 'lost' : 'other');
      problems.push(...bad.map((b) => `round ${i} (${r.free}): ${b}`));
      execFileSync('umount', [mountPoint]);
      mounts.splice(mounts.indexOf(mountPoint), 1);
    }
    assert.deepEqual(problems, []);
  });
});
