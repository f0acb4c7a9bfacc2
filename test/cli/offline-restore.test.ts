/**
 * Break-glass restore with Temporal and MongoDB unreachable (closed ports):
 * from local disk and from S3 (MinIO), byte-identical, with the password or
 * with an escrow recipient key file; refusals exit 2 with one line.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { TEST_PASSWORD, uniqueId } from '../e2e/harness';
import { makeTree, treeDifferences } from '../e2e/trees';
import { baseEnv, closedPort, runCoffer, withRepo } from './helpers';

void describe('coffer offline-restore (no Temporal, no MongoDB)', () => {
  let tmp: string;
  let env: Record<string, string>;
  const source = (): string => join(tmp, 'src');
  const repos: { name: string; url: string; snapshotId: string }[] = [];

  before(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'coffer-cli-offline-'));
    await makeTree(source(), { smallFiles: 30, largeFiles: [2 * 1024 * 1024] });
    // Everything a normal CLI run would use, except that Temporal and MongoDB are dead.
    env = {
      ...baseEnv(),
      COFFER_PASSWORD: TEST_PASSWORD,
      TEMPORAL_ADDRESS: `127.0.0.1:${await closedPort()}`,
      COFFER_MONGODB_URL: `mongodb://127.0.0.1:${await closedPort()}/coffer`,
    };
    for (const [name, url] of [['local', join(tmp, 'repo')], ['s3', `s3://${baseEnv().COFFER_S3_BUCKET}/${uniqueId('cli-offline')}`]] as const) {
      const snapshotId = await withRepo(url, { passphrase: TEST_PASSWORD }, async (repository) => (await repository.backup({ paths: [source()], host: 'offline-test' })).id, true);
      repos.push({ name, url, snapshotId });
    }
  });

  after(async () => {
    await rm(tmp, { recursive: true, force: true });
  });

  void it('restores the latest snapshot byte-identical from local disk and from S3', async () => {
    for (const repo of repos) {
      const target = join(tmp, `out-${repo.name}`);
      const run = await runCoffer(['offline-restore', '--repo', repo.url, 'latest', '--target', target, '--json'], env);
      assert.equal(run.code, 0, `${repo.name}: ${run.stderr}`);
      const result = JSON.parse(run.stdout) as { snapshotId: string; files: number; verified: { differences: number } };
      assert.equal(result.snapshotId, repo.snapshotId);
      assert.equal(result.verified.differences, 0);
      assert.deepEqual(await treeDifferences(source(), join(target, 'src')), [], `${repo.name}: restored tree differs`);
      // No staging directory is left next to the target.
      assert.deepEqual((await readdir(tmp)).filter((n) => n.includes('coffer-staging')), []);
    }
  });

  void it('lists snapshots to choose from, and restores a selection by id prefix', async () => {
    const repo = repos[0];
    const list = await runCoffer(['offline-restore', '--repo', repo.url, '--list', '--json'], env);
    assert.equal(list.code, 0, list.stderr);
    const snapshots = JSON.parse(list.stdout) as { id: string; host: string }[];
    assert.deepEqual(snapshots.map((s) => s.id), [repo.snapshotId]);
    const target = join(tmp, 'out-partial');
    const run = await runCoffer(['offline-restore', '--repo', repo.url, repo.snapshotId.slice(0, 10), '--target', target, '--include', '**/docs/**'], env);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, /verifying byte for byte/);
    assert.match(run.stdout, /0 differences/);
    assert.deepEqual(await treeDifferences(join(source(), 'docs'), join(target, 'src', 'docs')), []);
    assert.deepEqual((await readdir(join(target, 'src'))).sort(), ['docs']);
  });

  void it('opens the repository with an escrow recipient key file instead of the password', async () => {
    const repo = repos[0];
    const keyFile = join(tmp, 'escrow.key');
    const add = await runCoffer(['keys', 'add', '--repo', repo.url, '--label', 'escrow', '--recipient-out', keyFile], env);
    assert.equal(add.code, 0, add.stderr);
    const noPassword = { ...env, COFFER_PASSWORD: '' };
    const target = join(tmp, 'out-escrow');
    const run = await runCoffer(['offline-restore', '--repo', repo.url, '--target', target, '--key-file', keyFile], noPassword);
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(await treeDifferences(source(), join(target, 'src')), []);
  });

  void it('refuses a non-empty target, a wrong password and a missing target with exit 2 and one line', async () => {
    const repo = repos[0];
    const busy = join(tmp, 'busy');
    await mkdir(busy);
    await writeFile(join(busy, 'keep.txt'), 'mine');
    const notEmpty = await runCoffer(['offline-restore', '--repo', repo.url, '--target', busy], env);
    assert.equal(notEmpty.code, 2);
    assert.match(notEmpty.stderr.trim(), /^COFFER-E404 restore target .* is not empty: .*--overwrite/);
    assert.equal(notEmpty.stderr.trim().split('\n').length, 1);

    const wrong = await runCoffer(['offline-restore', '--repo', repo.url, '--target', join(tmp, 'never')], { ...env, COFFER_PASSWORD: 'not the password' });
    assert.equal(wrong.code, 2);
    assert.match(wrong.stderr, /^COFFER-E201 /);

    const noTarget = await runCoffer(['offline-restore', '--repo', repo.url], env);
    assert.equal(noTarget.code, 2);
    assert.match(noTarget.stderr, /^COFFER-E100 offline-restore needs --target/);

    // --overwrite replaces the busy target only after the verified restore.
    const over = await runCoffer(['offline-restore', '--repo', repo.url, '--target', busy, '--overwrite'], env);
    assert.equal(over.code, 0, over.stderr);
    assert.deepEqual(await treeDifferences(source(), join(busy, 'src')), []);
    assert.deepEqual((await readdir(busy)).sort(), ['src']);
  });
});
