/**
 * Renders the drill and compliance reports and opens them in real headless
 * Chromium (Debian `chromium` through playwright-core): the charts must be
 * there with one point per drill, objective lines where the objectives are,
 * failed drills marked, user data shown as text, no console errors and no
 * network requests. Screenshots go to .data/reports/ for a human look.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import {
  NOT_A_CERTIFICATION,
  complianceReportJson,
  drillReportJson,
  launchChromium,
  renderComplianceReport,
  renderDrillReport,
  renderPdf,
  writeReportFile,
} from '../../activities/reports';
import { COMPLIANCE_DATA, DRILLS, DRILL_DATA, FAILED, GROWTH, OBJECTIVES, XSS_PATH } from './fixtures';

const OUT = resolve(__dirname, '../../.data/reports');
let browser: Browser;

before(async () => {
  await mkdir(OUT, { recursive: true });
  browser = await launchChromium();
});
after(async () => {
  await browser.close();
});

interface Opened {
  readonly page: Page;
  readonly consoleErrors: string[];
  readonly requests: string[];
}

/** Writes the HTML to disk and opens it as a user would (file://), recording console errors and requests. */
async function open(html: string, name: string): Promise<Opened> {
  const file = resolve(OUT, name);
  await writeReportFile(file, html);
  const context = await browser.newContext({ viewport: { width: 1200, height: 900 } });
  const page = await context.newPage();
  const consoleErrors: string[] = [];
  const requests: string[] = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error' || msg.type() === 'warning') consoleErrors.push(msg.text());
  });
  page.on('pageerror', (err) => consoleErrors.push(err.message));
  page.on('request', (req) => requests.push(req.url()));
  const url = pathToFileURL(file).href;
  await page.goto(url, { waitUntil: 'load' });
  assert.deepEqual(
    requests.filter((r) => r !== url),
    [],
    'the report must not fetch anything',
  );
  return { page, consoleErrors, requests };
}

interface ChartFacts {
  readonly points: number;
  readonly declared: number;
  readonly failed: number;
  readonly objectives: number[];
  readonly values: number[];
  readonly seriesPath: boolean;
  /** For each point: is it drawn above the objective line (smaller y)? */
  readonly aboveObjective: boolean[];
  readonly width: number;
}

async function chart(page: Page, id: string): Promise<ChartFacts> {
  const svg = page.locator(`svg[data-chart="${id}"]`);
  assert.equal(await svg.count(), 1, `chart ${id} is present once`);
  const num = async (loc: ReturnType<Page['locator']>, attr: string): Promise<number> => Number(await loc.getAttribute(attr));
  const circles = await svg.locator('circle.point').all();
  const objectiveLines = await svg.locator('line.objective').all();
  const oy = objectiveLines[0] === undefined ? NaN : await num(objectiveLines[0], 'y1');
  const values: number[] = [];
  const aboveObjective: boolean[] = [];
  for (const c of circles) {
    values.push(await num(c, 'data-value'));
    aboveObjective.push((await num(c, 'cy')) < oy);
  }
  const objectives: number[] = [];
  for (const l of objectiveLines) objectives.push(await num(l, 'data-objective'));
  const series = svg.locator('path.series');
  const d = (await series.count()) === 0 ? '' : ((await series.getAttribute('d')) ?? '');
  return {
    points: circles.length,
    declared: await num(svg, 'data-points'),
    failed: await svg.locator('circle.point.fail[data-passed="false"]').count(),
    objectives,
    values,
    seriesPath: circles.length === 0 || d.split('L').length === circles.length,
    aboveObjective,
    width: (await svg.boundingBox())?.width ?? 0,
  };
}

void test('drill report: three charts with one point per drill, objective lines, failed drills marked, rendered in Chromium', async () => {
  const html = renderDrillReport(DRILL_DATA);
  const { page, consoleErrors } = await open(html, 'drill-report.html');
  try {
    const sorted = [...DRILLS].sort((a, b) => Date.parse(a.time) - Date.parse(b.time));

    const rto = await chart(page, 'rto');
    assert.equal(rto.points, DRILLS.length);
    assert.equal(rto.declared, DRILLS.length);
    assert.deepEqual(rto.values, sorted.map((d) => d.rtoSeconds));
    assert.deepEqual(rto.objectives, [OBJECTIVES.rtoSeconds]);
    assert.equal(rto.failed, FAILED);
    assert.ok(rto.seriesPath, 'the line joins every point');
    // Geometry: exactly the drills that missed the RTO are drawn above the objective line.
    assert.deepEqual(rto.aboveObjective, sorted.map((d) => d.rtoSeconds > OBJECTIVES.rtoSeconds));
    assert.ok(rto.width > 500, 'the chart is laid out at a readable size');

    const rpo = await chart(page, 'rpo');
    assert.equal(rpo.points, DRILLS.length);
    assert.deepEqual(rpo.values, sorted.map((d) => d.rpoSeconds));
    assert.deepEqual(rpo.objectives, [OBJECTIVES.rpoSeconds]);
    assert.deepEqual(rpo.aboveObjective, sorted.map((d) => d.rpoSeconds > OBJECTIVES.rpoSeconds));

    const growth = await chart(page, 'growth');
    assert.equal(growth.points, GROWTH.length);
    assert.deepEqual(growth.values, GROWTH.map((g) => g.bytes));
    assert.deepEqual(growth.objectives, []);
    assert.equal(await page.locator('svg[data-chart="growth"] path.area').count(), 1);

    // The table: one row per drill, failed ones marked and carrying their findings.
    assert.equal(await page.locator('table.drills tbody tr').count(), DRILLS.length);
    const failedRows = page.locator('table.drills tr.failed[data-passed="false"]');
    assert.equal(await failedRows.count(), FAILED);
    for (let i = 0; i < FAILED; i++) {
      assert.equal(await failedRows.nth(i).locator('.badge.fail').innerText(), 'FAIL');
      assert.ok((await failedRows.nth(i).locator('ul.findings li').count()) >= 1);
    }
    assert.equal(await page.locator('[data-failed-drills]').getAttribute('data-failed-drills'), String(FAILED));
    const rowText = await page.locator('table.drills tbody').innerText();
    assert.match(rowText, /RTO 19m exceeded the objective of 15m/);
    assert.match(rowText, /content mismatch/);

    // User data renders as text: no element was injected, nothing ran.
    assert.equal(await page.locator('script').count(), 0);
    assert.equal(await page.locator('main img').count(), 0);
    assert.equal(await page.evaluate('typeof window.__pwned'), 'undefined');
    assert.ok((await page.locator('table.drills').innerText()).includes(XSS_PATH));

    assert.deepEqual(consoleErrors, []);
    await page.screenshot({ path: resolve(OUT, 'drill-report.png'), fullPage: true });
  } finally {
    await page.context().close();
  }
});

void test('drill report JSON: summary figures match the drills', async () => {
  const json = drillReportJson(DRILL_DATA);
  assert.equal(json.kind, 'coffer-drill-report');
  assert.equal(json.summary.drills, DRILLS.length);
  assert.equal(json.summary.failed, FAILED);
  assert.equal(json.summary.passed, DRILLS.length - FAILED);
  assert.equal(json.summary.rtoMissed, DRILLS.filter((d) => d.rtoSeconds > OBJECTIVES.rtoSeconds).length);
  assert.equal(json.summary.rpoMissed, DRILLS.filter((d) => d.rpoSeconds > OBJECTIVES.rpoSeconds).length);
  assert.equal(json.summary.rtoSeconds?.max, Math.max(...DRILLS.map((d) => d.rtoSeconds)));
  assert.equal(json.summary.repositoryBytes, GROWTH[GROWTH.length - 1]?.bytes);
  assert.equal(json.summary.last?.time, DRILLS[DRILLS.length - 1]?.time);
  const roundTrip = JSON.parse(JSON.stringify(json)) as typeof json;
  assert.deepEqual(roundTrip, json, 'JSON-safe');
  await writeReportFile(resolve(OUT, 'drill-report.json'), `${JSON.stringify(json, null, 2)}\n`);
});

void test('drill report with no drills yet renders empty charts without errors', async () => {
  const { page, consoleErrors } = await open(renderDrillReport({ repository: 'local:/tmp/r', objectives: OBJECTIVES, drills: [], growth: [] }), 'drill-report-empty.html');
  try {
    for (const id of ['rto', 'rpo', 'growth']) assert.equal((await chart(page, id)).points, 0);
    assert.match(await page.locator('main').innerText(), /No drills have run yet/);
    assert.deepEqual(consoleErrors, []);
  } finally {
    await page.context().close();
  }
});

void test('compliance report: evidence sections, findings, disclaimer, escaped user data; PDF export', async () => {
  const html = renderComplianceReport(COMPLIANCE_DATA);
  const { page, consoleErrors } = await open(html, 'compliance-report.html');
  try {
    const text = await page.locator('main').innerText();
    assert.ok(text.includes(NOT_A_CERTIFICATION), 'says it is not a certification');
    assert.match(text, /Evidence, not certification/);
    for (const algorithm of ['xchacha20-poly1305', 'argon2id', 'blake3-keyed', 'zstd']) assert.ok(text.includes(algorithm), algorithm);
    assert.match(text, /memory 256 MiB/);
    assert.match(text, /break-glass <recovery> key/);
    // Audit chain broken at 1188, verified through 1187.
    assert.equal(await page.locator('[data-audit-status="broken"]').count(), 1);
    assert.match(text, /Verified from seq 1 through\s+#1187/);
    assert.match(text, /Broken at\s+#1188/);
    // Sources: pg is older than the RPO objective, mail never backed up.
    assert.equal(await page.locator('table.sources tr[data-stale="true"]').count(), 2);
    assert.equal(await page.locator('table.findings tr[data-severity="critical"]').count(), complianceReportJson(COMPLIANCE_DATA).findings.filter((f) => f.severity === 'critical').length);
    assert.match(text, /source mail \(mx-1\) has no successful backup/);
    assert.match(text, /passphrase key a1b2c3d4e5f60718 is \d+ days old/);
    // Drill charts are there too.
    assert.equal((await chart(page, 'rto')).points, DRILLS.length);
    assert.equal((await chart(page, 'rpo')).failed, FAILED);
    // User data as text.
    assert.equal(await page.locator('script').count(), 0);
    assert.ok((await page.locator('table.sources').innerText()).includes(XSS_PATH));
    assert.deepEqual(consoleErrors, []);
    await page.screenshot({ path: resolve(OUT, 'compliance-report.png'), fullPage: true });
  } finally {
    await page.context().close();
  }

  const pdfPath = resolve(OUT, 'compliance-report.pdf');
  await rm(pdfPath, { force: true });
  const bytes = await renderPdf(html, pdfPath);
  const pdf = await readFile(pdfPath);
  assert.equal(pdf.length, bytes);
  assert.equal(pdf.subarray(0, 5).toString('latin1'), '%PDF-');
  assert.match(pdf.subarray(-32).toString('latin1'), /%%EOF\s*$/);
  const pages = pdf.toString('latin1').match(/\/Type\s*\/Page\b(?!s)/g)?.length ?? 0;
  assert.ok(pages >= 2, `a multi-section report prints on several pages (got ${pages})`);
});

void test('compliance JSON: disclaimer, key ages, stale sources and audit status', () => {
  const json = complianceReportJson(COMPLIANCE_DATA);
  assert.equal(json.kind, 'coffer-compliance-evidence');
  assert.equal(json.disclaimer, NOT_A_CERTIFICATION);
  const passphrase = json.keys.find((k) => k.keyId === 'a1b2c3d4e5f60718');
  assert.equal(passphrase?.ageDays, Math.floor((Date.parse(COMPLIANCE_DATA.generatedAt ?? '') - Date.parse('2023-11-02T10:00:00.000Z')) / 86_400_000));
  assert.deepEqual(json.sources.filter((s) => s.stale).map((s) => s.name), ['pg', 'mail']);
  assert.equal(json.audit.status, 'broken');
  assert.equal(json.drills.summary.failed, FAILED);
  assert.equal(json.findings[0]?.severity, 'critical');
  const healthy = complianceReportJson({
    ...COMPLIANCE_DATA,
    keys: [],
    sources: [],
    drills: { objectives: OBJECTIVES, results: DRILLS.filter((d) => d.passed) },
    audit: { entries: 10, verifiedThroughSeq: 10, problems: [] },
  });
  assert.equal(healthy.audit.status, 'verified');
  assert.deepEqual(healthy.findings, []);
});
