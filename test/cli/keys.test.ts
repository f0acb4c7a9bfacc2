/**
 * `coffer keys add|list|remove` against a real repository, with removal run
 * as removeKeyWorkflow on a real worker (harness): the new password opens the
 * repository after add and no longer after remove; the last key, the
 * caller's key and the worker's own key are refused.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { WrongPassphrase } from '../../activities/crypto/errors';
import { startHarness, TEST_PASSWORD } from '../e2e/harness';
import type { Harness } from '../e2e/harness';
import { baseEnv, runCoffer, withRepo } from './helpers';

interface KeyJson { id: string; kind: string; label?: string; current: boolean }

void describe('coffer keys add | list | remove', () => {
  let h: Harness;
  let repo: string;
  let env: Record<string, string>;
  const NEW_PASSWORD = 'a second, different passphrase';

  before(async () => {
    h = await startHarness();
    repo = join(h.tmp, 'repo');
    await withRepo(repo, { passphrase: TEST_PASSWORD }, async () => undefined, true);
    const childEnv = h.childEnv();
    env = { ...baseEnv() };
    for (const [k, v] of Object.entries(childEnv)) if (v !== undefined) env[k] = v;
  });

  after(async () => {
    await h.close();
  });

  const list = async (password = TEST_PASSWORD): Promise<KeyJson[]> => {
    const run = await runCoffer(['keys', 'list', '--repo', repo, '--json'], { ...env, COFFER_PASSWORD: password });
    assert.equal(run.code, 0, run.stderr);
    return JSON.parse(run.stdout) as KeyJson[];
  };

  void it('adds a password key client-side; the new password opens the repository', async () => {
    const file = join(h.tmp, 'new-password');
    await writeFile(file, `${NEW_PASSWORD}\n`, { mode: 0o600 });
    const add = await runCoffer(['keys', 'add', '--repo', repo, '--label', 'ops laptop', '--new-password-file', file, '--json'], env);
    assert.equal(add.code, 0, add.stderr);
    assert.doesNotMatch(add.stdout + add.stderr, new RegExp(NEW_PASSWORD));
    const added = JSON.parse(add.stdout) as KeyJson;
    assert.equal(added.label, 'ops laptop');
    assert.equal(await withRepo(repo, { passphrase: NEW_PASSWORD }, async (r) => (await r.listKeys()).length), 2);
    const keys = await list();
    assert.equal(keys.length, 2);
    assert.deepEqual(keys.filter((k) => k.current).map((k) => k.label), ['initial key']);
    assert.deepEqual((await list(NEW_PASSWORD)).filter((k) => k.current).map((k) => k.id), [added.id]);
  });

  void it("refuses to remove the caller's own key (exit 2, before any workflow)", async () => {
    const mine = (await list()).find((k) => k.current);
    assert.ok(mine);
    const run = await runCoffer(['keys', 'remove', mine.id.slice(0, 8), '--repo', repo], env);
    assert.equal(run.code, 2, run.stderr);
    assert.match(run.stderr, /^COFFER-E100 refusing to remove key \w+: it is the key your password opens/);
  });

  void it("refuses, in the worker, to remove the worker's own key", async () => {
    // The caller uses the second password; the worker (harness) opens the repository with TEST_PASSWORD.
    const workerKey = (await list()).find((k) => k.current);
    assert.ok(workerKey);
    const run = await runCoffer(['keys', 'remove', workerKey.id, '--repo', repo], { ...env, COFFER_PASSWORD: NEW_PASSWORD });
    assert.equal(run.code, 2, run.stderr);
    assert.match(run.stderr, /COFFER-E100 refusing to remove key \w+: this worker opens the repository with it/);
    assert.equal((await list()).length, 2);
  });

  void it('removes a key through removeKeyWorkflow; its password no longer opens the repository', async () => {
    const other = (await list()).find((k) => !k.current);
    assert.ok(other);
    const run = await runCoffer(['keys', 'remove', other.id.slice(0, 12), '--repo', repo, '--json'], env);
    assert.equal(run.code, 0, run.stderr);
    const result = JSON.parse(run.stdout) as { workflowId: string; keyId: string; removed: boolean; keysLeft: number };
    assert.equal(result.keyId, other.id);
    assert.equal(result.removed, true);
    assert.equal(result.keysLeft, 1);
    assert.match(result.workflowId, /^remove-key/);
    await assert.rejects(withRepo(repo, { passphrase: NEW_PASSWORD }, async () => undefined), WrongPassphrase);
    assert.equal((await list()).length, 1);
  });

  void it('refuses to remove the last key', async () => {
    const [only] = await list();
    const run = await runCoffer(['keys', 'remove', only.id, '--repo', repo], env);
    assert.equal(run.code, 2, run.stderr);
    assert.match(run.stderr, /^COFFER-E100 refusing to remove the last key/);
  });
});
