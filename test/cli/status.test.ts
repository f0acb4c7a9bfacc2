/**
 * `coffer status` against the real stack with a real worker (harness): all
 * ok and exit 0; then each dependency pointed at a closed port (never the
 * shared stack stopped) FAILs with exit 1 within the per-check timeout;
 * thresholds turn a fresh backup into a FAIL and a fresh key into a WARN.
 */
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startHarness, TEST_PASSWORD, uniqueId } from '../e2e/harness';
import type { Harness } from '../e2e/harness';
import { baseEnv, closedPort, runCoffer, withRepo } from './helpers';

interface Check { check: string; status: 'ok' | 'WARN' | 'FAIL'; detail: string; hint?: string }
interface StatusJson { ok: boolean; checks: Check[] }

void describe('coffer status / system-check', () => {
  let h: Harness;
  let env: Record<string, string>;
  let local: string;
  let s3: string;

  before(async () => {
    h = await startHarness();
    env = { ...baseEnv() };
    for (const [k, v] of Object.entries(h.childEnv())) if (v !== undefined) env[k] = v;
    // The harness may switch the catalog off for its children; status must see the stack's MongoDB.
    env.COFFER_CATALOG = 'on';
    env.COFFER_MONGODB_URL = baseEnv().COFFER_MONGODB_URL;
    const src = join(h.tmp, 'src');
    await mkdir(src, { recursive: true });
    await writeFile(join(src, 'a.txt'), 'status test\n');
    local = join(h.tmp, 'repo');
    s3 = `s3://${env.COFFER_S3_BUCKET}/${uniqueId('cli-status')}`;
    for (const url of [local, s3]) {
      await withRepo(url, { passphrase: TEST_PASSWORD }, async (r) => r.backup({ paths: [src], host: 'status-host' }), true);
    }
  });

  after(async () => {
    await h.close();
  });

  const status = async (args: string[], extraEnv: Record<string, string> = {}): Promise<{ code: number | null; json: StatusJson; ms: number }> => {
    const run = await runCoffer(['status', '--json', ...args], { ...env, ...extraEnv });
    assert.ok(run.stdout.startsWith('{'), `no JSON: ${run.stdout}${run.stderr}`);
    return { code: run.code, json: JSON.parse(run.stdout) as StatusJson, ms: run.ms };
  };
  const find = (json: StatusJson, prefix: string): Check => {
    const check = json.checks.find((c) => c.check.startsWith(prefix));
    assert.ok(check, `no check ${prefix} in ${JSON.stringify(json.checks.map((c) => c.check))}`);
    return check;
  };

  void it('reports every check ok and exits 0 when everything is up', async () => {
    const { code, json } = await status(['--repo', local, '--repo', s3]);
    assert.equal(code, 0, JSON.stringify(json, null, 2));
    assert.equal(json.ok, true);
    for (const prefix of ['temporal', 'workers (workflows)', 'workers (activities)', `workers (host ${h.host})`, 'catalog', `storage ${local}`, `keys ${local}`, `storage ${s3}`, `keys ${s3}`, 'backup status-host:']) {
      assert.equal(find(json, prefix).status, 'ok', prefix);
    }
    assert.match(find(json, 'catalog').detail, /answers/);
    assert.equal(json.checks.filter((c) => c.check.startsWith('backup status-host:')).length, 2);
  });

  void it('the human form is one line per check and the alias works', async () => {
    const run = await runCoffer(['system-check', '--repo', local], env);
    assert.equal(run.code, 0, run.stdout + run.stderr);
    assert.match(run.stdout, /^ok {4}temporal /m);
    assert.match(run.stdout, /^ok {4}backup status-host:\S+ +last backup \d+s ago/m);
    assert.match(run.stdout, /^all checks passed$/m);
  });

  void it('FAILs Temporal (and the workers) on a closed port, within the per-check timeout, exit 1', async () => {
    const { code, json, ms } = await status(['--repo', local, '--timeout', '8s'], { TEMPORAL_ADDRESS: `127.0.0.1:${await closedPort()}` });
    assert.equal(code, 1);
    assert.equal(find(json, 'temporal').status, 'FAIL');
    assert.equal(find(json, 'workers').status, 'FAIL');
    assert.equal(find(json, 'catalog').status, 'ok');
    assert.equal(find(json, `storage ${local}`).status, 'ok');
    assert.ok(ms < 40_000, `took ${ms} ms`);
  });

  void it('FAILs the catalog when MongoDB is on a closed port, without echoing its credentials', async () => {
    const { code, json } = await status(['--repo', local, '--timeout', '5s'], { COFFER_MONGODB_URL: `mongodb://admin:hunter2@127.0.0.1:${await closedPort()}/coffer` });
    assert.equal(code, 1);
    const catalog = find(json, 'catalog');
    assert.equal(catalog.status, 'FAIL');
    assert.ok(catalog.hint);
    assert.doesNotMatch(JSON.stringify(json), /hunter2/);
    assert.equal(find(json, 'temporal').status, 'ok');
  });

  void it('FAILs a storage on a dead endpoint and a stopped worker queue', async () => {
    const { code, json } = await status(['--repo', s3, '--timeout', '5s'], { COFFER_S3_ENDPOINT: `http://127.0.0.1:${await closedPort()}`, COFFER_TASK_QUEUE: uniqueId('nobody-polls') , COFFER_HOST_TASK_QUEUE: uniqueId('nobody-polls-host') });
    assert.equal(code, 1);
    assert.equal(find(json, `storage ${s3}`).status, 'FAIL');
    assert.match(find(json, `storage ${s3}`).detail, /COFFER-E311/);
    assert.equal(find(json, 'workers (workflows)').status, 'FAIL');
    assert.equal(find(json, 'workers (host').status, 'WARN');
  });

  void it('applies the thresholds: an old backup FAILs, an old key WARNs (exit 1 only for the FAIL)', async () => {
    await new Promise((r) => setTimeout(r, 1500));
    const stale = await status(['--repo', local, '--max-backup-age', '1s']);
    assert.equal(stale.code, 1);
    const backup = find(stale.json, 'backup status-host:');
    assert.equal(backup.status, 'FAIL');
    assert.match(backup.detail, /older than 1s/);
    const oldKey = await status(['--repo', local, '--max-key-age', '1s']);
    assert.equal(oldKey.code, 0);
    assert.equal(find(oldKey.json, `keys ${local}`).status, 'WARN');
    assert.match(find(oldKey.json, `keys ${local}`).hint ?? '', /coffer keys rotate/);
  });
});
