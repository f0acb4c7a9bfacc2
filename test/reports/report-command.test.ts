/**
 * `coffer report drill|compliance` end to end: the real CLI against real
 * in-process workers (with a catalog on the stack's MongoDB, so the audit
 * chain is checked), a real repository on disk, two real backups and two real
 * drills (one that misses its RTO objective). The reports are written as
 * HTML, JSON and PDF; the HTML opens in headless Chromium with one chart
 * point per drill.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { launchChromium } from '../../activities/reports';
import type { ComplianceReportJson, DrillReportJson } from '../../activities/reports';
import { runCli } from '../e2e/cli';
import type { CliRun } from '../e2e/cli';
import { startHarness } from '../e2e/harness';
import type { Harness } from '../e2e/harness';

let h: Harness;
let repo: string;
let source: string;
let out: string;

function ok(run: CliRun, what: string): CliRun {
  assert.equal(run.code, 0, `${what} exited ${String(run.code)}\nstdout: ${run.stdout}\nstderr: ${run.stderr}`);
  return run;
}

before(async () => {
  h = await startHarness({ catalog: true });
  repo = join(h.tmp, 'repo');
  source = join(h.tmp, 'source');
  out = join(h.tmp, 'out');
  await mkdir(join(source, 'sub'), { recursive: true });
  await mkdir(out);
  await writeFile(join(source, 'a.txt'), 'alpha\n'.repeat(1000));
  await writeFile(join(source, 'sub', 'b.bin'), Buffer.alloc(300_000, 7));
  ok(await runCli(h, ['init', '--repo', repo, '--kdf-ops', '1', '--kdf-mem-mib', '8']), 'init');
  ok(await runCli(h, ['backup', '--repo', repo, source]), 'backup 1');
  await writeFile(join(source, 'c.txt'), 'gamma\n');
  ok(await runCli(h, ['backup', '--repo', repo, source]), 'backup 2');
  ok(await runCli(h, ['drill', '--repo', repo, '--rto', '1h', '--rpo', '1h']), 'drill 1');
  // An RTO objective no real restore meets: the drill fails (exit 3) and its report is stored all the same.
  const missed = await runCli(h, ['drill', '--repo', repo, '--rto', '0.001s', '--rpo', '1h']);
  assert.equal(missed.code, 3, `a drill that misses its RTO exits 3\n${missed.stderr}`);
});

after(async () => {
  await h.close();
});

void test('report drill: HTML with one chart point per stored drill, JSON with the same facts, written atomically', async () => {
  const html = join(out, 'drill.html');
  const human = ok(await runCli(h, ['report', 'drill', '--repo', repo, '--output', html, '--rto', '1h', '--rpo', '1h']), 'report drill');
  assert.match(human.stdout, /drill report written to .*drill\.html \(html/);
  assert.match(human.stdout, /2 drill\(s\): 1 passed, 1 failed; RTO missed 0, RPO missed 0/);

  const run = ok(await runCli(h, ['--json', 'report', 'drill', '--repo', repo, '--output', join(out, 'drill.json'), '--rto', '1h', '--rpo', '1h']), 'report drill --json');
  const printed = JSON.parse(run.stdout) as { file: string; format: string; report: DrillReportJson };
  assert.equal(printed.format, 'json');
  const onDisk = JSON.parse(await readFile(join(out, 'drill.json'), 'utf8')) as DrillReportJson;
  assert.deepEqual(onDisk, printed.report);
  assert.equal(onDisk.kind, 'coffer-drill-report');
  assert.equal(onDisk.repository, repo);
  assert.deepEqual(onDisk.objectives, { rtoSeconds: 3600, rpoSeconds: 3600 });
  assert.equal(onDisk.drills.length, 2);
  assert.deepEqual(onDisk.drills.map((d) => d.passed), [true, false]);
  for (const d of onDisk.drills) {
    assert.ok(d.rtoSeconds > 0 && d.rtoSeconds < 600, `RTO measured: ${d.rtoSeconds}`);
    assert.ok(d.rpoSeconds >= 0 && d.rpoSeconds < 3600, `RPO measured: ${d.rpoSeconds}`);
    assert.ok(d.filesVerified >= 3, `files verified: ${d.filesVerified}`);
  }
  // Growth: one point per snapshot (cumulative uploads) and the measured size now.
  assert.equal(onDisk.growth.length, 3);
  const stored = onDisk.growth[2]?.bytes ?? 0;
  assert.ok(stored > 0 && (onDisk.growth[1]?.bytes ?? 0) >= (onDisk.growth[0]?.bytes ?? 0));
  assert.equal(onDisk.summary.repositoryBytes, stored);
  // No temp file left next to the reports.
  assert.deepEqual((await readdir(out)).sort(), ['drill.html', 'drill.json']);

  const browser = await launchChromium();
  try {
    const page = await (await browser.newContext()).newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(pathToFileURL(html).href, { waitUntil: 'load' });
    assert.equal(await page.locator('svg[data-chart="rto"] circle.point').count(), 2);
    assert.equal(await page.locator('svg[data-chart="rpo"] circle.point').count(), 2);
    assert.equal(await page.locator('svg[data-chart="rto"] circle.point.fail[data-passed="false"]').count(), 1);
    assert.equal(await page.locator('svg[data-chart="growth"] circle.point').count(), 3);
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});

void test('report drill --pdf: a real PDF', async () => {
  const pdf = join(out, 'drill.pdf');
  ok(await runCli(h, ['report', 'drill', '--repo', repo, '--pdf', '--output', pdf]), 'report drill --pdf');
  const bytes = await readFile(pdf);
  assert.equal(bytes.subarray(0, 5).toString('latin1'), '%PDF-');
  assert.ok((await stat(pdf)).size > 5000);
});

void test('report compliance: algorithms, keys, sources, drills and a verified audit chain; evidence, not certification', async () => {
  const file = join(out, 'compliance.json');
  const run = ok(await runCli(h, ['report', 'compliance', '--repo', repo, '--standard', 'ISO 27001 A.8.13', '--output', file, '--rto', '1h', '--rpo', '1h']), 'report compliance');
  assert.match(run.stdout, /compliance evidence report written to/);
  assert.match(run.stdout, /not a certification/);
  const report = JSON.parse(await readFile(file, 'utf8')) as ComplianceReportJson & { notes: string[] };
  assert.equal(report.kind, 'coffer-compliance-evidence');
  assert.equal(report.standard, 'ISO 27001 A.8.13');
  assert.match(report.disclaimer, /not a certification/);
  assert.equal(report.algorithms.aead, 'xchacha20-poly1305');
  assert.equal(report.algorithms.kdf, 'argon2id');
  assert.equal(report.algorithms.chunkId, 'blake3-keyed');
  assert.equal(report.repository.url, repo);
  assert.match(report.repository.repoId ?? '', /^[0-9a-f]{64}$/);
  // The passphrase key made by init, and data-key epoch 1 (dated by the repository's creation).
  const kinds = report.keys.map((k) => k.kind).sort();
  assert.deepEqual(kinds, ['epoch', 'passphrase']);
  const epoch = report.keys.find((k) => k.kind === 'epoch');
  assert.equal(epoch?.epoch, 1);
  assert.equal(epoch?.active, true);
  assert.equal(epoch?.createdAt, report.repository.created);
  // The one source, with its newest snapshot.
  assert.equal(report.sources.length, 1);
  assert.deepEqual(report.sources[0]?.paths, [source]);
  assert.equal(report.sources[0]?.stale, false);
  assert.equal(report.drills.summary.drills, 2);
  // The catalog recorded every job with an audit entry; the worker verified the chain with the repository's key.
  assert.equal(report.audit.status, 'verified', JSON.stringify(report.notes));
  assert.ok('entries' in report.audit && report.audit.entries >= 5, `audit entries: ${JSON.stringify(report.audit)}`);
  assert.ok(report.findings.some((f) => f.area === 'drills'), 'the failed drill is a finding');

  const html = join(out, 'compliance.html');
  ok(await runCli(h, ['report', 'compliance', '--repo', repo, '--output', html]), 'report compliance html');
  const text = await readFile(html, 'utf8');
  assert.match(text, /xchacha20-poly1305/);
  assert.match(text, /not a certification/);
});

void test('report compliance --config: the profile\'s repository, sources (a never-backed-up one is stale), retention policy and objectives', async () => {
  const config = join(h.tmp, 'coffer.yaml');
  await writeFile(
    config,
    [
      'version: 1',
      'profiles:',
      '  main:',
      '    repository:',
      `      url: ${repo}`,
      '    sources:',
      '      docs:',
      `        paths: [${source}]`,
      `        host: ${h.host}`,
      '      never:',
      `        paths: [${join(h.tmp, 'never-backed-up')}]`,
      `        host: ${h.host}`,
      '    retention:',
      '      keepDaily: 7',
      '      keepWeekly: 4',
      '    schedules:',
      '      prune:',
      '        action: retention',
      "        cron: '0 3 * * *'",
      '    drill:',
      '      rtoSeconds: 900',
      '      rpoSeconds: 7200',
      '',
    ].join('\n'),
  );
  const file = join(out, 'compliance-profile.json');
  ok(await runCli(h, ['report', 'compliance', '--config', config, '--output', file]), 'report compliance --config');
  const report = JSON.parse(await readFile(file, 'utf8')) as ComplianceReportJson;
  assert.deepEqual(report.drills.objectives, { rtoSeconds: 900, rpoSeconds: 7200 });
  const byName = new Map(report.sources.map((s) => [s.name, s]));
  assert.equal(byName.get('docs')?.stale, false);
  assert.ok(byName.get('docs')?.lastSuccess !== undefined);
  assert.equal(byName.get('never')?.stale, true);
  assert.equal(byName.get('never')?.lastSuccess, undefined);
  assert.equal(report.sources.length, 2, 'the repository\'s only source is the profile\'s docs source');
  const policy = report.retention.find((r) => r.name === 'profile main');
  assert.deepEqual(policy?.policy, { keepDaily: 7, keepWeekly: 4 });
  assert.equal(policy?.schedule, 'cron 0 3 * * *');
});

void test('report: a user mistake is one line with a code, no stack', async () => {
  const run = await runCli(h, ['report', 'drill']);
  assert.equal(run.code, 2);
  assert.match(run.stderr, /COFFER-E100 .*--repo/);
  assert.doesNotMatch(run.stderr, /\n\s+at /);
});
