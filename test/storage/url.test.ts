import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatLocation, openBackend, parseRepositoryUrl } from '../../activities/storage/url';
import { InvalidInput } from '../../activities/errors';
import { AuthFailed } from '../../activities/storage/errors';

void describe('repository URLs', () => {
  void it('parses every supported form', () => {
    assert.deepEqual(parseRepositoryUrl('local:/srv/backups'), { kind: 'local', path: '/srv/backups' });
    assert.deepEqual(parseRepositoryUrl('local:rel/dir'), { kind: 'local', path: 'rel/dir' });
    assert.deepEqual(parseRepositoryUrl('/abs/path'), { kind: 'local', path: '/abs/path' });
    assert.deepEqual(parseRepositoryUrl('./rel'), { kind: 'local', path: './rel' });
    assert.deepEqual(parseRepositoryUrl('s3://my-bucket/team/repo'), { kind: 's3', bucket: 'my-bucket', prefix: 'team/repo' });
    assert.deepEqual(parseRepositoryUrl('s3://my-bucket'), { kind: 's3', bucket: 'my-bucket', prefix: '' });
    assert.deepEqual(parseRepositoryUrl('gs://bkt/p/'), { kind: 'gcs', bucket: 'bkt', prefix: 'p' });
    assert.deepEqual(parseRepositoryUrl('sftp://alice@host.example:2222/srv/repo'),
      { kind: 'sftp', user: 'alice', host: 'host.example', port: 2222, path: '/srv/repo' });
    assert.deepEqual(parseRepositoryUrl('sftp://host/~/repo'), { kind: 'sftp', user: undefined, host: 'host', port: 22, path: 'repo' });
    assert.deepEqual(parseRepositoryUrl('azure://acct123/backups/x/y'), { kind: 'azure', account: 'acct123', container: 'backups', prefix: 'x/y' });
  });

  void it('round-trips through formatLocation', () => {
    for (const url of ['s3://b-1/p/q', 'gs://bkt/p', 'azure://acct/cont/pre', 'sftp://u@h:2222/srv/r']) {
      assert.deepEqual(parseRepositoryUrl(formatLocation(parseRepositoryUrl(url))), parseRepositoryUrl(url));
    }
  });

  void it('rejects malformed URLs with InvalidInput and never echoes a password', () => {
    const bad = ['', 'ftp://host/x', 's3://', 's3://UPPER/x', 's3:bucket', 'azure://acct', 'azure://acct/UP', 'sftp://host', 's3://b/../x',
      's3://b/p?x=1', 'gs://user@bkt/p', 'sftp://bob:hunter2@host/srv'];
    for (const url of bad) {
      assert.throws(() => parseRepositoryUrl(url), (err: Error) => {
        assert.ok(err instanceof InvalidInput, `${url}: ${err.name}`);
        assert.doesNotMatch(err.message, /hunter2/);
        return true;
      });
    }
  });

  void it('opens a local repository and wraps it for retries', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'coffer-url-'));
    try {
      const backend = await openBackend(`local:${dir}/repo`, {}, {});
      assert.equal(backend.location, `local:${dir}/repo`);
      await backend.save('config', Buffer.from('x'));
      assert.equal((await backend.load('config')).toString(), 'x');
      await backend.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  void it('refuses SFTP without credentials or a pinned host key, without echoing secrets', async () => {
    await assert.rejects(openBackend('sftp://u@127.0.0.1:1/srv', { retry: false }, {}), AuthFailed);
    await assert.rejects(openBackend('sftp://u@127.0.0.1:1/srv', { retry: false }, { COFFER_SFTP_PASSWORD: 'pw-secret', HOME: '/nonexistent' }),
      (err: Error) => err instanceof AuthFailed && /pinned host key/.test(err.message) && !err.message.includes('pw-secret'));
    await assert.rejects(openBackend('azure://acct/cont', { retry: false }, {}), AuthFailed);
  });
});
