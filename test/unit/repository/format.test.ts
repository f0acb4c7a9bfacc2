import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { IntegrityError } from '../../../activities/crypto/errors';
import { Keyring } from '../../../activities/crypto/keyring';
import { randomId } from '../../../activities/crypto/random';
import { chunkId } from '../../../activities/crypto/chunk-id';
import { ALGORITHMS, decodeConfig, encodeConfig, parseConfigHeader } from '../../../activities/repository/config';
import type { RepoConfig } from '../../../activities/repository/config';
import { openEnvelope, sealEnvelope } from '../../../activities/repository/envelope';
import { NotARepository, UnsupportedFormat } from '../../../activities/repository/errors';
import { FORMAT_VERSION } from '../../../activities/repository/format';
import { decodeIndex, encodeIndex } from '../../../activities/repository/index-codec';
import { MasterIndex } from '../../../activities/repository/master-index';
import { openBlob, PackBuilder, parsePack, sealBlob } from '../../../activities/repository/pack';
import { decodeTree, encodeTree } from '../../../activities/repository/tree-codec';

const repoId = randomId();

function config(): RepoConfig {
  return {
    formatVersion: FORMAT_VERSION,
    repoId,
    created: new Date().toISOString(),
    algorithms: ALGORITHMS,
    chunker: { minSize: 256, avgSize: 1024, maxSize: 4096 },
    packSize: 65536,
    compressionLevel: 1,
    openPacks: 4,
  };
}

function buildPack(keyring: Keyring, chunks: Buffer[]): { bytes: Buffer; ids: string[]; packId: string } {
  const builder = new PackBuilder();
  const ids: string[] = [];
  for (const c of chunks) {
    const id = chunkId(keyring.chunkIdKey, c);
    ids.push(id);
    const { sealed, epoch } = sealBlob(keyring, repoId, 'data', id, c);
    builder.add({ id, type: 'data', compressed: false, epoch, rawLength: c.length }, sealed);
  }
  const packId = randomId();
  return { bytes: builder.finish(keyring, repoId, packId).bytes, ids, packId };
}

void describe('config object', () => {
  void it('round-trips and exposes version and repository id in its clear header', () => {
    const keyring = Keyring.generate();
    const bytes = encodeConfig(keyring, config());
    assert.deepEqual(parseConfigHeader(bytes, 'mem'), { formatVersion: FORMAT_VERSION, repoId, epoch: 1 });
    assert.equal(decodeConfig(keyring, bytes, 'mem').packSize, 65536);
  });

  void it('refuses an unknown format version before unlocking, and a foreign object as not a repository', () => {
    const bytes = encodeConfig(Keyring.generate(), config());
    const future = Buffer.from(bytes);
    future[4] = FORMAT_VERSION + 1;
    assert.throws(() => parseConfigHeader(future, 'mem'), UnsupportedFormat);
    assert.throws(() => parseConfigHeader(Buffer.from('{"hello":1}'), 'mem'), NotARepository);
  });

  void it('detects a changed repository id, a flipped byte, and another keyring', () => {
    const keyring = Keyring.generate();
    const bytes = encodeConfig(keyring, config());
    const otherId = Buffer.from(bytes);
    otherId[10] ^= 1;
    assert.throws(() => decodeConfig(keyring, otherId, 'mem'), IntegrityError);
    const flipped = Buffer.from(bytes);
    flipped[bytes.length - 3] ^= 0x40;
    assert.throws(() => decodeConfig(keyring, flipped, 'mem'), IntegrityError);
    assert.throws(() => decodeConfig(Keyring.generate(), bytes, 'mem'), IntegrityError);
  });
});

void describe('metadata envelopes', () => {
  const keyring = Keyring.generate();
  const target = { repoId, type: 'snapshot' as const, objectId: 'a'.repeat(64), name: 'snapshots/x' };

  void it('round-trips compressed payloads', () => {
    const payload = Buffer.from('x'.repeat(10000));
    const sealed = sealEnvelope(keyring, target, payload);
    assert.ok(sealed.length < 1000);
    assert.deepEqual(openEnvelope(keyring, target, sealed).payload, payload);
  });

  void it('fails on any flipped byte, truncation, other id, other type or other repository', () => {
    const sealed = sealEnvelope(keyring, target, Buffer.from('payload'));
    for (let i = 0; i < sealed.length; i++) {
      const copy = Buffer.from(sealed);
      copy[i] ^= 0x01;
      assert.throws(() => openEnvelope(keyring, target, copy), (e: unknown) => e instanceof IntegrityError || e instanceof UnsupportedFormat, `byte ${i}`);
    }
    assert.throws(() => openEnvelope(keyring, target, sealed.subarray(0, sealed.length - 1)), IntegrityError);
    assert.throws(() => openEnvelope(keyring, { ...target, objectId: 'b'.repeat(64) }, sealed), IntegrityError);
    assert.throws(() => openEnvelope(keyring, { ...target, type: 'index' }, sealed), IntegrityError);
    assert.throws(() => openEnvelope(keyring, { ...target, repoId: randomId() }, sealed), IntegrityError);
  });

  void it('names the object in the error', () => {
    const sealed = sealEnvelope(keyring, target, Buffer.from('payload'));
    sealed[sealed.length - 1] ^= 1;
    assert.throws(() => openEnvelope(keyring, target, sealed), /snapshots\/x/);
  });
});

void describe('packs', () => {
  void it('round-trips the header and every blob', () => {
    const keyring = Keyring.generate();
    const chunks = [Buffer.from('one'), Buffer.from('two two'), Buffer.alloc(5000, 7)];
    const { bytes, ids, packId } = buildPack(keyring, chunks);
    const header = parsePack(keyring, repoId, packId, bytes, 'pack');
    assert.deepEqual(header.entries.map((e) => e.id), ids);
    header.entries.forEach((e, i) => {
      assert.deepEqual(openBlob(keyring, repoId, e, bytes.subarray(e.offset, e.offset + e.length), 'blob'), chunks[i]);
    });
  });

  void it('detects a flipped byte anywhere, truncation, and a pack renamed to another id', () => {
    const keyring = Keyring.generate();
    const { bytes, packId } = buildPack(keyring, [Buffer.from('alpha'), Buffer.from('beta')]);
    const header = parsePack(keyring, repoId, packId, bytes, 'pack');
    for (let i = 0; i < bytes.length; i++) {
      const copy = Buffer.from(bytes);
      copy[i] ^= 0x80;
      assert.throws(() => {
        const h = parsePack(keyring, repoId, packId, copy, 'pack');
        for (const e of h.entries) openBlob(keyring, repoId, e, copy.subarray(e.offset, e.offset + e.length), 'blob');
      }, IntegrityError, `byte ${i}`);
    }
    for (const cut of [1, 8, 20, bytes.length - 1]) assert.throws(() => parsePack(keyring, repoId, packId, bytes.subarray(0, bytes.length - cut), 'pack'), IntegrityError);
    assert.throws(() => parsePack(keyring, repoId, randomId(), bytes, 'pack'), IntegrityError);
    // A blob moved to another chunk id does not open.
    const [a, b] = header.entries;
    assert.throws(() => openBlob(keyring, repoId, { ...a, id: b.id }, bytes.subarray(a.offset, a.offset + a.length), 'blob'), IntegrityError);
    // Nor as the other type.
    assert.throws(() => openBlob(keyring, repoId, { ...a, type: 'tree' }, bytes.subarray(a.offset, a.offset + a.length), 'blob'), IntegrityError);
  });
});

void describe('index objects', () => {
  void it('round-trip, and the newest epoch wins for a duplicated chunk', () => {
    const id = 'c'.repeat(64);
    const packs = [
      { id: 'a'.repeat(64), epoch: 1, size: 1000, createdMs: 5, entries: [{ id, type: 'data' as const, compressed: true, epoch: 1, offset: 0, length: 100, rawLength: 300 }] },
      { id: 'b'.repeat(64), epoch: 2, size: 2000, createdMs: 6, entries: [{ id, type: 'data' as const, compressed: false, epoch: 2, offset: 10, length: 90, rawLength: 50 }] },
    ];
    const decoded = decodeIndex(encodeIndex(packs), 'index');
    assert.deepEqual(decoded, packs);
    const master = new MasterIndex();
    master.addObject('x', decoded);
    assert.equal(master.get(id)?.pack, 'b'.repeat(64));
  });

  void it('rejects entries outside their pack and truncated data', () => {
    const bad = [{ id: 'a'.repeat(64), epoch: 1, size: 10, createdMs: 5, entries: [{ id: 'c'.repeat(64), type: 'data' as const, compressed: false, epoch: 1, offset: 0, length: 100, rawLength: 1 }] }];
    assert.throws(() => decodeIndex(encodeIndex(bad), 'index'), IntegrityError);
    const good = encodeIndex([{ ...bad[0], size: 1000 }]);
    assert.throws(() => decodeIndex(good.subarray(0, good.length - 3), 'index'), IntegrityError);
  });
});

void describe('trees', () => {
  void it('encode canonically (sorted by UTF-8 bytes, key order fixed) and validate on decode', () => {
    const a = { name: 'é', type: 'file' as const, mode: 0o644, uid: 0, gid: 0, mtimeNs: '1', size: 3, content: [{ chunk: 'd'.repeat(64), size: 3 }] };
    const b = { name: 'Z', type: 'dir' as const, mode: 0o755, uid: 0, gid: 0, mtimeNs: '2', subtree: 'e'.repeat(64) };
    const one = encodeTree({ nodes: [a, b] });
    const two = encodeTree({ nodes: [b, a] });
    assert.deepEqual(one, two);
    assert.deepEqual(decodeTree(one, 't').nodes.map((n) => n.name), ['Z', 'é']);
    assert.throws(() => encodeTree({ nodes: [a, a] }), RangeError);
    const lying = Buffer.from(JSON.stringify({ nodes: [{ ...a, size: 4 }] }));
    assert.throws(() => decodeTree(lying, 't'), IntegrityError);
    assert.throws(() => decodeTree(Buffer.from('{"nodes":[{"name":1}]}'), 't'), IntegrityError);
  });
});
