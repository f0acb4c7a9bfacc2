import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, openSync, closeSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nativeFs } from '../../../activities/engine/fs/native';

void test('syncfs returns a promise that resolves for a directory on a real file system', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'coffer-syncfs-'));
  try {
    writeFileSync(join(dir, 'f'), Buffer.alloc(1 << 20, 1));
    const fd = openSync(dir, 'r');
    try {
      const pending = nativeFs().syncfs(fd);
      assert.ok(pending instanceof Promise);
      assert.equal(await pending, undefined);
    } finally {
      closeSync(fd);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

void test('syncfs of a descriptor that is not open rejects with a Node-style EBADF error', async () => {
  await assert.rejects(nativeFs().syncfs(1_000_000), (err: NodeJS.ErrnoException) => err.code === 'EBADF' && err.syscall === 'syncfs');
});
