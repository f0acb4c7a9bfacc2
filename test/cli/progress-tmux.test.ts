/**
 * The live progress bar as a user sees it: `coffer backup` of a few hundred
 * MiB runs in a real terminal (a private tmux server), the pane is captured
 * every 200 ms with `tmux capture-pane -p`, and the frames must show a bar
 * whose percentage and bytes grow, a rate and an ETA, then the finished bar
 * and the snapshot line. One mid-run frame and the final screen are saved to
 * .data/progress-tmux/ (and printed as diagnostics) for the closing note.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import { mkdir, open, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { runCli } from '../e2e/cli';
import { startHarness, uniqueId } from '../e2e/harness';
import type { Harness } from '../e2e/harness';

const exec = promisify(execFile);
const ROOT = resolve(__dirname, '..', '..');
const OUT = join(ROOT, '.data', 'progress-tmux');
const FILES = 48;
const FILE_MIB = 10;

let h: Harness;
const socket = uniqueId('coffer-progress');

async function tmux(...args: string[]): Promise<string> {
  return (await exec('tmux', ['-L', socket, ...args])).stdout;
}

function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** Random (incompressible, never deduplicated) files written in 1 MiB blocks. */
async function makeDataset(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  const block = Buffer.alloc(1024 * 1024);
  for (let i = 0; i < FILES; i++) {
    const file = await open(join(dir, `file-${i}.bin`), 'w');
    try {
      for (let m = 0; m < FILE_MIB; m++) await file.write(randomFillSync(block));
    } finally {
      await file.close();
    }
  }
}

interface Frame {
  readonly at: number;
  readonly text: string;
  readonly line?: string;
  readonly percent?: number;
  readonly bytes?: number;
}

const UNITS: Readonly<Record<string, number>> = { B: 1, KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3 };

function parseFrame(text: string, at: number): Frame {
  const line = text.split('\n').find((l) => l.startsWith('[backup]') && l.includes('%'));
  if (line === undefined) return { at, text };
  const percent = /\]\s+(\d+)%/.exec(line);
  const bytes = /· ([\d.]+) (B|KiB|MiB|GiB)\//.exec(line);
  return {
    at,
    text,
    line,
    ...(percent === null ? {} : { percent: Number(percent[1]) }),
    ...(bytes === null ? {} : { bytes: Number(bytes[1]) * (UNITS[bytes[2] ?? 'B'] ?? 1) }),
  };
}

before(async () => {
  // Heartbeats every 250 ms: on a quiet machine the whole backup takes a few seconds, and the bar must still be seen moving.
  h = await startHarness({ heartbeatInterval: '250ms' });
});

after(async () => {
  await tmux('kill-server').catch(() => undefined);
  await h.close();
});

void test('coffer backup under tmux: a live bar with growing percentage and bytes, rate and ETA, then the finished bar and the snapshot', async (t) => {
  const repo = join(h.tmp, 'repo');
  const data = join(h.tmp, 'data');
  await makeDataset(data);
  const init = await runCli(h, ['init', '--repo', repo, '--kdf-ops', '1', '--kdf-mem-mib', '8']);
  assert.equal(init.code, 0, init.stderr);

  // The CLI runs in the pane with the harness's environment, from a script (mode 0600, in the harness's temp dir).
  const env = h.childEnv();
  const exports = Object.entries(env)
    .filter((e): e is [string, string] => e[1] !== undefined && /^[A-Za-z_][A-Za-z0-9_]*$/.test(e[0]))
    .map(([k, v]) => `export ${k}=${shellQuote(v)}`);
  const script = join(h.tmp, 'run.sh');
  await writeFile(
    script,
    [
      ...exports,
      `cd ${shellQuote(ROOT)}`,
      `${shellQuote(process.execPath)} --import tsx clients/cli.ts backup --repo ${shellQuote(repo)} ${shellQuote(data)}`,
      'echo "EXIT=$?"',
      'sleep 600',
    ].join('\n'),
    { mode: 0o600 },
  );
  await tmux('new-session', '-d', '-s', 'backup', '-x', '150', '-y', '30', `bash ${shellQuote(script)}`);

  const frames: Frame[] = [];
  const deadline = Date.now() + 300_000;
  let screen = '';
  while (Date.now() < deadline) {
    screen = await tmux('capture-pane', '-p', '-t', 'backup');
    frames.push(parseFrame(screen, Date.now()));
    if (/EXIT=\d+/.test(screen)) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  assert.match(screen, /EXIT=0/, `the backup finished with exit 0:\n${screen}`);

  const live = frames.filter((f) => f.percent !== undefined && f.percent < 100 && /\bupload|batch|scan|plan/.test(f.line ?? ''));
  const distinct = [...new Map(live.map((f) => [f.line, f])).values()];
  assert.ok(distinct.length >= 3, `the bar was redrawn with new figures at least 3 times (got ${distinct.length}):\n${distinct.map((f) => f.line).join('\n')}`);
  const percents = distinct.map((f) => f.percent ?? 0);
  const bytes = distinct.map((f) => f.bytes ?? 0);
  for (let i = 1; i < distinct.length; i++) {
    assert.ok((percents[i] ?? 0) >= (percents[i - 1] ?? 0), `percentage never goes back: ${percents.join(', ')}`);
    assert.ok((bytes[i] ?? 0) >= (bytes[i - 1] ?? 0), `bytes never go back: ${bytes.join(', ')}`);
  }
  assert.ok(new Set(percents).size >= 3, `at least three different percentages: ${percents.join(", ")}\n${frames.map((f) => `${f.at} ${f.line ?? "-"}`).join("\n")}`);
  assert.ok((percents[percents.length - 1] ?? 0) > (percents[0] ?? 0));
  const withRate = distinct.find((f) => /\d(\.\d)? (B|KiB|MiB|GiB)\/s/.test(f.line ?? '') && /ETA \d+(s|m\d\ds)/.test(f.line ?? ''));
  assert.ok(withRate !== undefined, `a frame shows a rate and an ETA:\n${distinct.map((f) => f.line).join('\n')}`);
  assert.match(withRate.line ?? '', new RegExp(`files \\d+/${FILES}`));
  assert.match(withRate.line ?? '', new RegExp(`/${FILES * FILE_MIB}\\.0 MiB`));

  // The finished bar stays, then the command's own summary.
  const total = `${FILES * FILE_MIB}.0 MiB`;
  assert.match(screen, new RegExp(`\\[backup\\] done · \\[#{20}\\] 100% · ${total.replace('.', '\\.')}/${total.replace('.', '\\.')} · files ${FILES}/${FILES}`));
  assert.match(screen, /snapshot [0-9a-f]{12} saved/);
  assert.match(screen, new RegExp(`${FILES} files, 1 dirs, ${total.replace('.', '\\.')}`));

  await mkdir(OUT, { recursive: true });
  const middle = distinct[Math.floor(distinct.length / 2)] ?? withRate;
  const trim = (s: string): string => s.replace(/\s+$/gm, '').trimEnd();
  await writeFile(join(OUT, 'frame-live.txt'), `${trim(middle.text)}\n`);
  await writeFile(join(OUT, 'frame-final.txt'), `${trim(screen)}\n`);
  t.diagnostic(`live frame (${distinct.length} distinct bar frames over ${((frames[frames.length - 1]?.at ?? 0) - (frames[0]?.at ?? 0)) / 1000} s):\n${trim(middle.text)}`);
  t.diagnostic(`final screen:\n${trim(screen)}`);
});
