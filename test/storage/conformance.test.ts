import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { utils as sshUtils } from 'ssh2';
import { openBackend } from '../../activities/storage/url';
import type { BackendOptions } from '../../activities/storage/url';
import { stackEnv } from '../helpers/stack';
import { runConformance } from './suite';

/**
 * Runs the shared conformance suite against local disk and every server of
 * the local stack (MinIO, fake-gcs-server, sshd, Azurite). The servers'
 * endpoints come from the stack env file; a missing server fails the run.
 * Backends are opened through openBackend() so URL parsing and credential
 * lookup are exercised too; `retry: false` tests the raw backends.
 */

const PAGE = 100; // small pages prove pagination over the 1,100-object listing
const raw: BackendOptions = { retry: false, s3: { pageSize: PAGE }, gcs: { pageSize: PAGE }, azure: { pageSize: PAGE } };

/** The stack's variables (throws — failing the test — when the stack is not up). */
function env(overrides: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  return { ...stackEnv(), ...overrides };
}

function v(name: string): string {
  const value = stackEnv()[name];
  if (value === undefined || value === '') throw new Error(`stack env file does not define ${name}`);
  return value;
}

const localRoot = mkdtempSync(join(tmpdir(), 'coffer-conformance-'));
after(() => rmSync(localRoot, { recursive: true, force: true }));

/** Files under a directory tree whose names mark them as temporary (a dot-prefixed name). */
function hiddenFiles(dir: string): string[] {
  const out: string[] = [];
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return out;
  }
  for (const entry of entries) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) out.push(...hiddenFiles(path));
    else if (entry.startsWith('.')) out.push(path);
  }
  return out;
}

runConformance({
  name: 'local',
  open: (prefix) => openBackend(`local:${join(localRoot, prefix)}`, raw, {}),
  leftovers: async (prefix) => hiddenFiles(join(localRoot, prefix)),
});

runConformance({
  name: 's3',
  open: (prefix) => openBackend(`s3://${v('COFFER_S3_BUCKET')}/${prefix}`, raw, env()),
  openWithWrongCredentials: (prefix) => openBackend(`s3://${v('COFFER_S3_BUCKET')}/${prefix}`, raw, env({ AWS_SECRET_ACCESS_KEY: 'wrong-secret-for-test' })),
  openMissingLocation: (prefix) => openBackend(`s3://no-such-bucket-${Date.now()}/${prefix}`, raw, env()),
  openRetention: (prefix) => openBackend(`s3://${v('COFFER_S3_LOCK_BUCKET')}/${prefix}`, raw, env()),
});

runConformance({
  name: 'gcs',
  open: (prefix) => openBackend(`gs://${v('COFFER_GCS_BUCKET')}/${prefix}`, raw, env()),
  noAuthReason: 'fake-gcs-server accepts any (or no) credentials',
  openMissingLocation: (prefix) => openBackend(`gs://no-such-bucket-${Date.now()}/${prefix}`, raw, env()),
});

function sftpUrl(prefix: string): string {
  return `sftp://${v('COFFER_SFTP_USER')}@${v('COFFER_SFTP_HOST')}:${v('COFFER_SFTP_PORT')}${v('COFFER_SFTP_ROOT')}/${prefix}`;
}

const strangerKeyDir = mkdtempSync(join(tmpdir(), 'coffer-sftp-key-'));
after(() => rmSync(strangerKeyDir, { recursive: true, force: true }));

runConformance({
  name: 'sftp',
  open: (prefix) => openBackend(sftpUrl(prefix), raw, env()),
  openWithWrongCredentials: (prefix) => {
    const file = join(strangerKeyDir, 'id_ed25519');
    writeFileSync(file, sshUtils.generateKeyPairSync('ed25519').private, { mode: 0o600 });
    return openBackend(sftpUrl(prefix), raw, env({ COFFER_SFTP_KEY_FILE: file }));
  },
  leftovers: async (prefix) => hiddenFiles(join(v('COFFER_SFTP_ROOT'), prefix)),
});

function azureUrl(container: string, prefix: string): string {
  return `azure://${v('AZURE_STORAGE_ACCOUNT')}/${container}/${prefix}`;
}

runConformance({
  name: 'azure',
  open: (prefix) => openBackend(azureUrl(v('COFFER_AZURE_CONTAINER'), prefix), raw, env()),
  openWithWrongCredentials: (prefix) => openBackend(azureUrl(v('COFFER_AZURE_CONTAINER'), prefix), raw,
    env({ AZURE_STORAGE_KEY: Buffer.from('wrong-key-for-the-conformance-test').toString('base64') })),
  openMissingLocation: (prefix) => openBackend(azureUrl(`no-such-container-${Date.now()}`, prefix), raw, env()),
});

