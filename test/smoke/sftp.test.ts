import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import SftpClient from 'ssh2-sftp-client';
import { stackVar } from '../helpers/stack';

/** The pinned host key: the base64 key of the known_hosts line for [host]:port. */
function pinnedHostKey(): Buffer {
  const host = `[${stackVar('COFFER_SFTP_HOST')}]:${stackVar('COFFER_SFTP_PORT')}`;
  const line = readFileSync(stackVar('COFFER_SFTP_KNOWN_HOSTS'), 'utf8')
    .split('\n')
    .map((entry) => entry.trim().split(/\s+/))
    .find((fields) => fields[0]?.split(',').includes(host));
  assert.ok(line !== undefined && line[2] !== undefined, `no known_hosts entry for ${host}`);
  return Buffer.from(line[2], 'base64');
}

function connectOptions(hostKey: Buffer): SftpClient.ConnectOptions {
  return {
    host: stackVar('COFFER_SFTP_HOST'),
    port: Number(stackVar('COFFER_SFTP_PORT')),
    username: stackVar('COFFER_SFTP_USER'),
    privateKey: readFileSync(stackVar('COFFER_SFTP_KEY_FILE')),
    readyTimeout: 5000,
    retries: 0,
    hostVerifier: (key: Buffer) => key.equals(hostKey),
  };
}

void test('ssh2-sftp-client puts and gets a file on the stack\'s sshd with a pinned host key', async () => {
  const sftp = new SftpClient();
  const dir = `${stackVar('COFFER_SFTP_ROOT')}/smoke-${randomUUID()}`;
  const body = randomBytes(40 * 1024);
  await sftp.connect(connectOptions(pinnedHostKey()));
  try {
    await sftp.mkdir(dir, true);
    await sftp.put(body, `${dir}/object`);
    const got = await sftp.get(`${dir}/object`);
    assert.ok(Buffer.isBuffer(got) && got.equals(body));
  } finally {
    await sftp.rmdir(dir, true).catch(() => undefined);
    await sftp.end();
  }
});

void test('the SFTP connection is refused when the host key does not match the pin', async () => {
  const sftp = new SftpClient();
  // The message proves the server was reached and the key check refused it (a down server fails differently).
  await assert.rejects(sftp.connect(connectOptions(randomBytes(51))), /verification failed/i);
  await sftp.end().catch(() => undefined);
});
