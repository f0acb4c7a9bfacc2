/**
 * Scenario 2 — a malicious snapshot made with a VALID key.
 *
 * 30 hostile snapshots are written into a real repository through the
 * engine's own format code (craft.ts) and restored with Repository.restore.
 * Beside the target lies a sentinel directory ("outside": a victim file, a
 * secret directory); every directory from the work dir up to / is searched
 * for the cases' unique marker names. A case is
 *   ok    nothing outside the target changed or appeared, and the restore
 *         either refused with UnsafePath (cases marked 'unsafe' must) or
 *         completed inside the target;
 *   lost  the sentinel changed or a marker appeared outside the target.
 * Refused single-step cases must also leave the target empty: validation
 * runs before anything is written.
 */
import assert from 'node:assert/strict';
import { lstat, mkdir, readdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { UnsafePath } from '../../activities/engine/restore';
import { CofferRepository } from '../../activities/engine/repository';
import { LocalBackend } from '../../activities/storage/local';
import { writeCraftedSnapshot } from './craft';
import type { CraftNode } from './craft';
import { ChaosReport } from './report';
import { PASS, SMALL_REPO, chaosEngine, codeOf, describeError, fingerprint, fingerprintDiff, removeDir, tempDir } from './helpers';

const SCENARIO = 'malicious-snapshots';
const report = new ChaosReport();
report.declare(SCENARIO);

interface Ctx {
  /** Absolute path of the sentinel directory next to the target. */
  readonly outside: string;
  readonly victim: string;
  readonly victimSize: number;
  readonly victimMtimeNs: string;
  /** Unique marker for file names this case tries to plant. */
  readonly tag: string;
}

interface Case {
  readonly name: string;
  /** 'unsafe': must be refused with UnsafePath; 'either': refusal (typed) or a restore inside the target. */
  readonly expect: 'unsafe' | 'either';
  /** Restored first, into the same target (must succeed): plants something for `tree` to trip over. */
  readonly first?: (c: Ctx) => CraftNode[];
  readonly tree: (c: Ctx) => CraftNode[];
  readonly include?: readonly string[];
}

const file = (name: string, data: string | Buffer = 'owned\n', extra: Partial<CraftNode> = {}): CraftNode => ({ name, type: 'file', data, ...extra });
const dir = (name: string, children: CraftNode[], extra: Partial<CraftNode> = {}): CraftNode => ({ name, type: 'dir', children, ...extra });
const symlink = (name: string, linkTarget: string, extra: Partial<CraftNode> = {}): CraftNode => ({ name, type: 'symlink', linkTarget, ...extra });

const CASES: readonly Case[] = [
  { name: 'dotdot-file', expect: 'unsafe', tree: (c) => [file('..', `pwn-${c.tag}`)] },
  { name: 'dotdot-dir', expect: 'unsafe', tree: (c) => [dir('..', [file(`pwn-${c.tag}`)])] },
  { name: 'dotdot-nested', expect: 'unsafe', tree: (c) => [dir('a', [dir('..', [dir('..', [dir('..', [file(`pwn-${c.tag}`)])])])])] },
  { name: 'slash-in-name', expect: 'unsafe', tree: (c) => [file(`a/pwn-${c.tag}`)] },
  { name: 'dotdot-slash-name', expect: 'unsafe', tree: (c) => [file(`../../pwn-${c.tag}`)] },
  { name: 'absolute-name', expect: 'unsafe', tree: (c) => [file(`/tmp/pwn-${c.tag}`)] },
  { name: 'absolute-into-sentinel', expect: 'unsafe', tree: (c) => [file(c.victim)] },
  { name: 'dot-dir', expect: 'unsafe', tree: (c) => [dir('.', [file(`pwn-${c.tag}`)])] },
  { name: 'empty-name', expect: 'unsafe', tree: () => [file('')] },
  { name: 'nul-in-name', expect: 'unsafe', tree: (c) => [file(`a\0/../pwn-${c.tag}`)] },
  { name: 'symlink-then-dir-same-name', expect: 'unsafe', tree: (c) => [symlink('x', c.outside), dir('x', [file('victim.txt')])] },
  { name: 'dir-then-symlink-same-name', expect: 'unsafe', tree: (c) => [dir('x', [file('victim.txt')]), symlink('x', c.outside)] },
  { name: 'symlink-then-file-same-name', expect: 'unsafe', tree: (c) => [symlink('victim.txt', c.victim), file('victim.txt')] },
  { name: 'symlink-dotdot-then-dir', expect: 'unsafe', tree: (c) => [symlink('up', '..'), dir('up', [file(`pwn-${c.tag}`)])] },
  {
    name: 'planted-symlink-then-dir', expect: 'unsafe',
    first: (c) => [symlink('x', c.outside)],
    tree: () => [dir('x', [file('victim.txt')])],
  },
  {
    name: 'planted-relative-symlink-then-dir', expect: 'unsafe',
    first: () => [symlink('x', '../../outside')],
    tree: () => [dir('x', [file('victim.txt'), dir('secret', [file('key')])])],
  },
  {
    name: 'planted-symlink-then-file', expect: 'either',
    first: (c) => [symlink('f', c.victim)],
    tree: () => [file('f', 'owned through a symlink?\n', { mode: 0o4777 })],
  },
  {
    // The file looks complete (victim's size and mtime through the link): resume must not trust a symlink.
    name: 'planted-symlink-resume-trick', expect: 'either',
    first: (c) => [symlink('f', c.victim)],
    tree: (c) => [file('f', Buffer.alloc(c.victimSize, 0x41), { mtimeNs: c.victimMtimeNs, mode: 0o4777 })],
  },
  {
    name: 'planted-symlink-hardlink-escape', expect: 'either',
    first: (c) => [symlink('f', c.victim)],
    tree: (c) => [
      file('f', Buffer.alloc(c.victimSize, 0x41), { mtimeNs: c.victimMtimeNs, hardlinkKey: 'K', mode: 0o4777 }),
      file('g', Buffer.alloc(c.victimSize, 0x41), { mtimeNs: c.victimMtimeNs, hardlinkKey: 'K', mode: 0o4777 }),
    ],
  },
  {
    name: 'hardlink-key-on-symlink', expect: 'either',
    tree: (c) => [symlink('s', c.victim, { hardlinkKey: 'K' }), file('t', 'owned\n', { hardlinkKey: 'K', mode: 0o4777 })],
  },
  {
    name: 'hardlink-key-on-directory', expect: 'either',
    tree: () => [dir('d', [file('inner')], { hardlinkKey: 'K' }), file('f', 'owned\n', { hardlinkKey: 'K' })],
  },
  {
    name: 'hardlink-first-excluded', expect: 'either', include: ['b'],
    tree: () => [file('a', 'first\n', { hardlinkKey: 'K' }), file('b', 'first\n', { hardlinkKey: 'K' })],
  },
  { name: 'nfc-nfd-files', expect: 'either', tree: () => [file('caf\u00e9', 'nfc\n'), file('cafe\u0301', 'nfd\n')] },
  { name: 'nfc-symlink-nfd-dir', expect: 'either', tree: (c) => [symlink('caf\u00e9', c.outside), dir('cafe\u0301', [file('victim.txt')])] },
  { name: 'case-collision-files', expect: 'either', tree: () => [file('README', 'upper\n'), file('readme', 'lower\n')] },
  { name: 'case-symlink-then-dir', expect: 'either', tree: (c) => [symlink('Docs', c.outside), dir('docs', [file('victim.txt')])] },
  { name: 'duplicate-files', expect: 'unsafe', tree: () => [file('a', 'one\n'), file('a', 'two\n')] },
  { name: 'duplicate-dirs', expect: 'unsafe', tree: () => [dir('a', [file('x')]), dir('a', [file('y')])] },
  { name: 'dir-without-subtree', expect: 'either', tree: () => [{ name: 'd', type: 'dir' }] },
  { name: 'temp-name-lookalike', expect: 'either', tree: () => [file('.coffer-tmp-0123456789abcdef', 'looks like a temp file\n')] },
];

void describe('chaos: malicious snapshots made with a valid key', () => {
  let work: string;
  let repoDir: string;
  let repo: CofferRepository;
  let ctxBase: Omit<Ctx, 'tag'>;

  before(async () => {
    work = await tempDir('malicious');
    repoDir = await tempDir('malicious-repo');
    const outside = join(work, 'outside');
    await mkdir(join(outside, 'secret'), { recursive: true });
    const victim = join(outside, 'victim.txt');
    await writeFile(victim, 'victim: original content\n', { mode: 0o644 });
    await writeFile(join(outside, 'secret', 'key'), 'do not overwrite\n', { mode: 0o600 });
    await mkdir(join(work, 'targets'));
    const st = await lstat(victim, { bigint: true });
    ctxBase = { outside, victim, victimSize: Number(st.size), victimMtimeNs: st.mtimeNs.toString() };
    const opened = await chaosEngine().init(new LocalBackend({ root: repoDir }), PASS, SMALL_REPO);
    assert.ok(opened instanceof CofferRepository);
    repo = opened;
  });

  after(async () => {
    await repo.close();
    await removeDir(work);
    await removeDir(repoDir);
  });

  /** Entries named with the case's marker anywhere from the target's parent up to /, and in the cwd. */
  async function markersOutside(target: string, tag: string): Promise<string[]> {
    const found: string[] = [];
    const dirs = new Set<string>([process.cwd()]);
    for (let d = dirname(target); ; d = dirname(d)) {
      dirs.add(d);
      if (d === dirname(d)) break;
    }
    for (const d of dirs) {
      for (const name of await readdir(d).catch(() => [] as string[])) if (name.includes(tag)) found.push(join(d, name));
    }
    return found;
  }

  async function isEmpty(path: string): Promise<boolean> {
    return (await readdir(path).catch(() => [] as string[])).length === 0;
  }

  void it(`${CASES.length} malicious snapshots write nothing outside the target`, async () => {
    assert.equal(CASES.length, 30);
    const problems: string[] = [];
    let refused = 0;
    let completed = 0;
    for (const [i, c] of CASES.entries()) {
      const tag = `chaos${process.pid}x${i}`;
      const ctx: Ctx = { ...ctxBase, tag };
      const target = join(work, 'targets', `case-${i}`);
      await mkdir(target);
      const before = await fingerprint(work, new Set([`targets/case-${i}`]));
      let outcome: 'ok' | 'lost' | 'other' = 'ok';
      const fail = (why: string, kind: 'lost' | 'other'): void => {
        problems.push(`${c.name}: ${why}`);
        if (outcome !== 'lost') outcome = kind;
      };
      try {
        if (c.first !== undefined) {
          const first = await writeCraftedSnapshot(repo, c.first(ctx), `${c.name}-first`);
          await repo.restore({ snapshot: first.id, target });
        }
        const snap = await writeCraftedSnapshot(repo, c.tree(ctx), c.name);
        const plantedBefore = (await readdir(target)).length;
        try {
          await repo.restore({ snapshot: snap.id, target, include: c.include });
          completed++;
          if (c.expect === 'unsafe') fail('restored although it must be refused with UnsafePath', 'other');
        } catch (err) {
          if (err instanceof UnsafePath) {
            refused++;
            if (c.first === undefined && !(await isEmpty(target))) fail('refused, but only after writing into the target', 'other');
            if (c.first !== undefined && (await readdir(target)).length !== plantedBefore) fail('refused, but only after writing into the target', 'other');
          } else if (c.expect === 'unsafe') {
            fail(`expected UnsafePath, got ${describeError(err)}`, 'other');
          } else if (codeOf(err) === undefined) {
            fail(`untyped error ${describeError(err)}`, 'other');
          } else refused++;
        }
      } catch (err) {
        fail(`setup failed: ${describeError(err)}`, 'other');
      }
      const changed = fingerprintDiff(before, await fingerprint(work, new Set([`targets/case-${i}`])));
      if (changed.length > 0) fail(`outside the target: ${changed.slice(0, 4).join('; ')}`, 'lost');
      const markers = await markersOutside(target, tag);
      if (markers.length > 0) fail(`planted outside the target: ${markers.join(', ')}`, 'lost');
      report.run(SCENARIO, outcome);
      await removeDir(target);
    }
    report.detail(SCENARIO, 'refused', refused);
    report.detail(SCENARIO, 'restored-inside', completed);
    assert.deepEqual(problems, []);
    assert.equal(report.figures(SCENARIO).lost, 0);
  });
});
