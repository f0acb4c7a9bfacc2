import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';

const root = join(__dirname, '..', '..');

void test('docker-compose.yml is valid for Debian\'s docker-compose (v1 schema)', () => {
  const result = spawnSync('docker-compose', ['-f', join(root, 'docker-compose.yml'), 'config', '-q'], { cwd: root, encoding: 'utf8' });
  assert.equal(result.error, undefined, `docker-compose could not run: ${result.error?.message ?? ''}`);
  assert.equal(result.status, 0, result.stderr);
});

void test('docker-compose.yml defines every service the stack contract promises', () => {
  const result = spawnSync('docker-compose', ['-f', join(root, 'docker-compose.yml'), 'config', '--services'], { cwd: root, encoding: 'utf8' });
  assert.equal(result.status, 0, result.stderr);
  const services = result.stdout.trim().split('\n').sort();
  for (const name of ['azurite', 'coffer-worker', 'fake-gcs', 'minio', 'mongodb', 'postgresql', 'sftp', 'temporal', 'temporal-ui']) {
    assert.ok(services.includes(name), `missing service ${name} (has ${services.join(', ')})`);
  }
});
