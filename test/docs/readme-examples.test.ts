/**
 * The README's examples, run for real: every ```sh block preceded by an
 * `<!-- example: <name> -->` comment is run, in README order, in one bash
 * (so variables and functions carry from block to block, as in a reader's
 * shell), from the project root, with a fresh HOME and the running stack.
 * Each block must exit 0; the walkthrough's blocks are also checked for
 * what they must print and leave behind (a snapshot in MinIO, a passed
 * drill, drill and compliance reports that open in Chromium).
 *
 * Only what keeps this run apart from others sharing the stack is added to
 * the environment: a private task queue (so no other worker takes the jobs),
 * a private catalog database, no metrics port. The S3 prefix and the catalog
 * database are removed afterwards.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, realpath, rm, stat } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { MongoClient } from 'mongodb';
import { environmentWithStack } from '../../activities/config/env-file';
import { launchChromium } from '../../activities/reports';
import { openBackend } from '../../activities/storage/url';
import { uniqueId } from '../e2e/harness';
import { stackVar } from '../helpers/stack';

const ROOT = resolve(__dirname, '..', '..');
const MARKER = /^<!--\s*example:\s*([A-Za-z0-9_-]+)\s*-->\s*$/;

export interface Example {
  readonly name: string;
  readonly line: number;
  readonly code: string;
}

/** The marked blocks: a marker line, optional blank lines, then a ```sh fence. */
export function extractExamples(markdown: string): Example[] {
  const lines = markdown.split('\n');
  const examples: Example[] = [];
  for (let i = 0; i < lines.length; i++) {
    const marker = MARKER.exec(lines[i] ?? '');
    if (marker === null) continue;
    let j = i + 1;
    while ((lines[j] ?? '').trim() === '' && j < lines.length) j++;
    if (!/^```(sh|bash)\s*$/.test(lines[j] ?? '')) throw new Error(`README.md:${i + 1}: example '${marker[1]}' is not followed by a \`\`\`sh block`);
    const end = lines.findIndex((l, k) => k > j && l.startsWith('```'));
    if (end < 0) throw new Error(`README.md:${j + 1}: unterminated code block`);
    examples.push({ name: marker[1] ?? '', line: j + 2, code: lines.slice(j + 1, end).join('\n') });
    i = end;
  }
  return examples;
}

interface Run {
  readonly code: number | null;
  readonly out: Map<string, string>;
  readonly all: string;
}

function runScript(script: string, env: NodeJS.ProcessEnv): Promise<Run> {
  return new Promise((resolveRun, reject) => {
    const child = spawn('bash', ['-c', script], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let all = '';
    child.stdout.on('data', (d: Buffer) => (all += d.toString()));
    child.stderr.on('data', (d: Buffer) => (all += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const out = new Map<string, string>();
      for (const part of all.split(/^::example (?=\S+$)/m).slice(1)) {
        const newline = part.indexOf('\n');
        out.set(part.slice(0, newline), part.slice(newline + 1));
      }
      resolveRun({ code, out, all });
    });
  });
}

const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
});

void test('README: the marked examples are the walkthrough, in order', async () => {
  const examples = extractExamples(await readFile(join(ROOT, 'README.md'), 'utf8'));
  assert.deepEqual(examples.map((e) => e.name), ['setup', 'backup', 'drill', 'report', 'stop']);
  assert.match(examples[0]?.code ?? '', /npm run stack -- up/);
  assert.match(examples[1]?.code ?? '', /REPO=s3:\/\/coffer\//, 'the walkthrough backs up to MinIO');
});

void test('README: every marked example runs for real (stack, build, worker, backup to MinIO, drill, reports)', async () => {
  stackVar('COFFER_S3_ENDPOINT'); // the stack must be up: fail, never skip
  const examples = extractExamples(await readFile(join(ROOT, 'README.md'), 'utf8'));
  const home = await mkdtemp(join(tmpdir(), 'coffer-readme-'));
  cleanups.push(async () => rm(home, { recursive: true, force: true }));
  const id = uniqueId('readme');
  const catalogDb = `coffer_${id.replace(/[^A-Za-z0-9]/g, '_')}`;

  // A newcomer's environment: no Coffer settings of ours leak in, only what isolates this run.
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('COFFER_') || k === 'COFFER_STACK_PORT_OFFSET') env[k] = v;
  Object.assign(env, { HOME: home, COFFER_TASK_QUEUE: `coffer-${id}`, COFFER_CATALOG_DB: catalogDb, COFFER_METRICS_BIND: 'off' });
  // The machine's built servers, not a rebuild into the throwaway HOME: the stack links .tools/bin to this cache,
  // and links into a HOME deleted after the test would leave every later test without its binaries.
  env.COFFER_TOOL_CACHE = process.env.COFFER_TOOL_CACHE ?? join(homedir(), '.cache', 'coffer', 'tools');

  const script = [
    'set -eo pipefail',
    // Whatever happens, stop what the examples started in the background (the worker).
    "trap 'kill $(jobs -p) 2>/dev/null || true' EXIT",
    ...examples.flatMap((e) => [`echo '::example ${e.name}'`, `echo '::example ${e.name}' >&2`, e.code]),
    'echo "::example end"',
    'echo "repo=$REPO"',
  ].join('\n');
  const run = await runScript(script, env);
  const repo = /^repo=(s3:\/\/\S+)$/m.exec(run.all)?.[1];
  if (repo !== undefined) {
    cleanups.push(async () => {
      const backend = await openBackend(repo, {}, environmentWithStack());
      try {
        const names: string[] = [];
        for await (const o of backend.list('')) names.push(o.name);
        for (const name of names) await backend.remove(name);
      } finally {
        await backend.close();
      }
    });
  }
  cleanups.push(async () => {
    const client = await MongoClient.connect(stackVar('COFFER_MONGODB_URL'));
    try {
      await client.db(catalogDb).dropDatabase();
    } finally {
      await client.close();
    }
  });
  const failedAt = [...run.out.keys()].pop();
  assert.equal(run.code, 0, `the README examples stopped in '${failedAt ?? '?'}' with status ${String(run.code)}:\n${run.all.slice(-4000)}`);
  assert.ok(run.out.has('end'), 'every example ran');

  // The examples ran `npm run stack -- up`: the stack's binaries must still be the machine's cached ones.
  for (const tool of ['temporal', 'ferretdb', 'minio', 'fake-gcs-server']) {
    const link = resolve(__dirname, '..', '..', '.tools', 'bin', tool);
    assert.ok((await realpath(link)).startsWith(env.COFFER_TOOL_CACHE), `.tools/bin/${tool} points into the tool cache`);
  }

  const out = (name: string): string => run.out.get(name) ?? '';
  assert.match(out('setup'), /^ok\s+temporal/m);
  assert.match(out('setup'), /^ok\s+workers \(workflows\)/m);
  assert.match(repo ?? '', /^s3:\/\/coffer\/walkthrough-\d{8}-\d{6}$/);
  assert.match(out('backup'), /created repository [0-9a-f]{64} at s3:\/\/coffer\/walkthrough-/);
  assert.match(out('backup'), /snapshot [0-9a-f]{12} saved/);
  assert.match(out('backup'), /walkthrough/);
  assert.match(out('drill'), /DR drill PASSED/);
  assert.match(out('report'), /drill report written to .*drill-report\.html/);
  assert.match(out('report'), /1 drill\(s\): 1 passed, 0 failed/);
  assert.match(out('report'), /compliance evidence report written to .*compliance\.html/);

  const drillHtml = join(home, 'coffer-walkthrough', 'drill-report.html');
  const complianceHtml = join(home, 'coffer-walkthrough', 'compliance.html');
  assert.ok((await stat(drillHtml)).size > 1000);
  assert.match(await readFile(complianceHtml, 'utf8'), /ISO 27001 A\.8\.13/);
  const browser = await launchChromium();
  try {
    const page = await (await browser.newContext()).newPage();
    await page.goto(pathToFileURL(drillHtml).href, { waitUntil: 'load' });
    assert.equal(await page.locator('svg[data-chart="rto"] circle.point').count(), 1);
    assert.equal(await page.locator('svg[data-chart="rpo"] circle.point').count(), 1);
    assert.ok((await page.locator('svg[data-chart="growth"] circle.point').count()) >= 2);
  } finally {
    await browser.close();
  }
});
