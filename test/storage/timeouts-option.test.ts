/**
 * `timeouts` given to openBackend reach the network backends: against a
 * server that accepts connections and never answers, a call fails
 * retryably after the configured idle timeout instead of the 30 s default.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Transient } from '../../activities/storage/errors';
import { openBackend } from '../../activities/storage/url';

void describe('storage timeouts from openBackend options', () => {
  let server: Server;
  let port = 0;
  const sockets = new Set<Socket>();

  before(async () => {
    // Accepts and reads, never replies: a stalled link.
    server = createServer((socket) => {
      sockets.add(socket);
      socket.on('data', () => undefined);
      socket.on('close', () => sockets.delete(socket));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    assert.ok(address !== null && typeof address === 'object');
    port = address.port;
  });

  after(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  void it('an S3 call to a silent server fails as Transient after idleTimeoutMs', async () => {
    // Opening an S3 backend checks the bucket: that first call meets the silent server.
    const started = Date.now();
    await assert.rejects(
      openBackend(
        's3://silent-bucket/repo',
        { retry: false, s3: { endpoint: `http://127.0.0.1:${port}`, forcePathStyle: true }, timeouts: { connectTimeoutMs: 1000, idleTimeoutMs: 800 } },
        { AWS_ACCESS_KEY_ID: 'k', AWS_SECRET_ACCESS_KEY: 's' },
      ),
      (err: unknown) => err instanceof Transient,
    );
    const elapsed = Date.now() - started;
    assert.ok(elapsed >= 700 && elapsed < 10_000, `failed after ${elapsed} ms, expected about 0.8 s`);
  });

  void it('refuses a nonsensical timeout instead of disabling it', async () => {
    await assert.rejects(
      openBackend('s3://silent-bucket/repo', { retry: false, s3: { endpoint: `http://127.0.0.1:${port}` }, timeouts: { idleTimeoutMs: 0 } }, { AWS_ACCESS_KEY_ID: 'k', AWS_SECRET_ACCESS_KEY: 's' }),
      { code: 'COFFER-E100' },
    );
  });
});
