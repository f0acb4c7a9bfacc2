import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { generateRecipientKeyPair } from '../../../activities/crypto/keyfile';
import { basename } from 'node:path';
import { PASS, SMALL, makeBackend, replaceObject, testEngine, BACKEND_KINDS, listNames, tempDir, writeTree, pseudoRandom, readFromSnapshot, cleanupDir } from './helpers';

for (const kind of BACKEND_KINDS) {
  void describe(`init and open on ${kind} storage`, () => {
    void it('opens with the passphrase; a wrong one, a missing repository and a second init are distinct errors', async () => {
      const fx = await makeBackend(kind);
      try {
        const engine = testEngine();
        await assert.rejects(engine.open(fx.backend, PASS), { code: 'COFFER-E207' });
        const repo = await engine.init(fx.backend, PASS, SMALL);
        assert.equal(repo.currentEpoch, 1);
        assert.match(repo.id, /^[0-9a-f]{64}$/);
        await assert.rejects(engine.init(fx.backend, PASS, SMALL), { code: 'COFFER-E208' });
        await assert.rejects(engine.open(fx.backend, { passphrase: 'wrong' }), { code: 'COFFER-E201' });
        const again = await engine.open(fx.backend, PASS);
        assert.equal(again.id, repo.id);
        const names = (await listNames(fx.backend, '')).map((o) => o.name);
        assert.ok(names.includes('config'));
        assert.equal(names.filter((n) => n.startsWith('keys/')).length, 1);
      } finally {
        await fx.cleanup();
      }
    });

    void it('refuses an unknown format version and a damaged config', async () => {
      const fx = await makeBackend(kind);
      try {
        const engine = testEngine();
        await engine.init(fx.backend, PASS, SMALL);
        await replaceObject(fx.backend, 'config', (b) => {
          b[4] = 99;
          return b;
        });
        await assert.rejects(engine.open(fx.backend, PASS), { code: 'COFFER-E203' });
        await replaceObject(fx.backend, 'config', (b) => {
          b[4] = 1;
          b[b.length - 5] ^= 1;
          return b;
        });
        await assert.rejects(engine.open(fx.backend, PASS), { code: 'COFFER-E205' });
      } finally {
        await fx.cleanup();
      }
    });
  });
}

void describe('keys', () => {
  void it('adds, lists and removes passphrase and recipient keys, never the last one', async () => {
    const fx = await makeBackend('memory');
    try {
      const engine = testEngine();
      const repo = await engine.init(fx.backend, PASS, SMALL);
      const second = await repo.addKey({ passphrase: 'second passphrase' }, 'laptop');
      const pair = await generateRecipientKeyPair();
      const recipient = { x25519PublicKey: pair.publicKey, x25519SecretKey: pair.secretKey };
      const third = await repo.addKey(recipient, 'escrow');
      const keys = await repo.listKeys();
      assert.equal(keys.length, 3);
      assert.deepEqual(keys.map((k) => k.kind).sort(), ['passphrase', 'passphrase', 'x25519']);
      assert.equal(keys.find((k) => k.id === second.id)?.label, 'laptop');
      assert.equal((await engine.open(fx.backend, { passphrase: 'second passphrase' })).id, repo.id);
      assert.equal((await engine.open(fx.backend, recipient)).id, repo.id);
      const firstId = keys.find((k) => k.id !== second.id && k.id !== third.id)!.id;
      await repo.removeKey(firstId);
      await assert.rejects(engine.open(fx.backend, PASS), { code: 'COFFER-E201' });
      await repo.removeKey(third.id);
      await assert.rejects(repo.removeKey(second.id), { code: 'COFFER-E100' });
      await assert.rejects(repo.removeKey('0'.repeat(64)), { code: 'COFFER-E100' });
      assert.equal((await repo.listKeys()).length, 1);
    } finally {
      await fx.cleanup();
    }
  });
});

void describe('a long-lived open repository', () => {
  void it('sees another writer\'s chunks only after refresh(), and survives an index object vanishing', async () => {
    const fx = await makeBackend('local');
    const src = await tempDir('refresh-src');
    try {
      await writeTree(src, { 'a.bin': pseudoRandom(300_000, 11) });
      const engine = testEngine();
      const reader = await engine.init(fx.backend, PASS, SMALL);
      const writer = await engine.open(fx.backend, PASS);
      const snapshot = await writer.backup({ paths: [src], host: 'h' });
      // The reader's index predates the writer's packs: their chunks are unknown to it until it refreshes.
      await assert.rejects(reader.loadTree(snapshot.rootTree), { code: 'COFFER-E205' });
      await reader.refresh();
      assert.deepEqual(await readFromSnapshot(reader, snapshot.rootTree, `${basename(src)}/a.bin`), pseudoRandom(300_000, 11));
      const dir = (await reader.loadTree(snapshot.rootTree)).nodes[0]?.subtree;
      assert.ok(dir !== undefined);
      const firstChunk = (await reader.loadTree(dir)).nodes[0]?.content?.[0];
      assert.ok(firstChunk !== undefined && 'chunk' in firstChunk);

      // Index objects removed behind its back (as a prune rewriting the index does) are dropped on refresh.
      const indexes = await listNames(fx.backend, 'index/');
      assert.ok(indexes.length > 0);
      for (const { name } of indexes) await fx.backend.remove(name);
      await reader.refresh();
      await assert.rejects(reader.loadChunk(firstChunk.chunk), { code: 'COFFER-E205' });
      await reader.close();
      await writer.close();
    } finally {
      await cleanupDir(src);
      await fx.cleanup();
    }
  });
});
