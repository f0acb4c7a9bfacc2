/** `coffer storage test` against local disk, MinIO, a dead endpoint and refused credentials. */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { uniqueId } from '../e2e/harness';
import { baseEnv, closedPort, runCoffer } from './helpers';

interface ProbeJson {
  ok: boolean;
  location: string;
  openMs: number;
  checks: { name: string; ok: boolean; ms: number; detail?: string }[];
  error?: { code: string; message: string };
}

const EXPECTED = ['write', 'read', 'range read', 'stat', 'save-if-absent', 'large object (1 MiB)', 'list', 'remove'];

void describe('coffer storage test', () => {
  let tmp: string;
  before(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'coffer-cli-storage-'));
  });
  after(async () => {
    await rm(tmp, { recursive: true, force: true });
  });

  void it('passes every check on local disk and leaves nothing behind', async () => {
    const dir = join(tmp, 'local');
    const run = await runCoffer(['storage', 'test', '--repo', dir, '--size-mib', '1', '--json'], baseEnv());
    assert.equal(run.code, 0, run.stderr);
    const result = JSON.parse(run.stdout) as ProbeJson;
    assert.equal(result.ok, true);
    assert.deepEqual(result.checks.map((c) => c.name), EXPECTED);
    for (const check of result.checks) assert.ok(check.ms >= 0 && check.ok, JSON.stringify(check));
    // The local backend may keep the emptied probe directory; no object may remain.
    const left = (await readdir(dir, { recursive: true, withFileTypes: true })).filter((e) => !e.isDirectory());
    assert.deepEqual(left.map((e) => e.name), [], 'the probe objects were removed');
  });

  void it('passes on S3 (MinIO) with a human table of latencies', async () => {
    const url = `s3://${baseEnv().COFFER_S3_BUCKET}/${uniqueId('cli-storage')}`;
    const run = await runCoffer(['storage', 'test', url, '--size-mib', '1'], baseEnv());
    assert.equal(run.code, 0, run.stderr);
    for (const name of EXPECTED) assert.match(run.stdout, new RegExp(`^${name.replace(/[()]/g, '\\$&')}\\s+ok\\s+\\d+ ms`, 'm'));
    assert.match(run.stdout, /all checks passed/);
  });

  void it('exits 4 with one line for a dead endpoint and for refused credentials', async () => {
    const url = `s3://${baseEnv().COFFER_S3_BUCKET}/${uniqueId('cli-storage')}`;
    const dead = await runCoffer(['storage', 'test', url, '--json'], { ...baseEnv(), COFFER_S3_ENDPOINT: `http://127.0.0.1:${await closedPort()}` });
    assert.equal(dead.code, 4, dead.stdout + dead.stderr);
    assert.equal((JSON.parse(dead.stdout) as ProbeJson).error?.code, 'COFFER-E311');

    const refused = await runCoffer(['storage', 'test', url], { ...baseEnv(), AWS_SECRET_ACCESS_KEY: 'not-the-secret' });
    assert.equal(refused.code, 4, refused.stdout + refused.stderr);
    assert.match(refused.stdout, /^COFFER-E304 .*credentials/m);
    assert.doesNotMatch(refused.stdout + refused.stderr, /not-the-secret/);
  });
});
