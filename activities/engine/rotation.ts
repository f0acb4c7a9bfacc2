/**
 * Key rotation in three steps:
 *
 * - beginRotation (exclusive lock): add a new epoch, make it current, and
 *   re-wrap the keyring in every key file. New objects use the new epoch at once.
 * - rotateBatch (shared lock, repeatable): re-encrypt the chunks of up to N
 *   packs still sealed with older epochs into new packs plus an index object.
 *   The index prefers the newest epoch's copy, so a crash only leaves
 *   duplicates; running it again continues where it stopped.
 * - finishRotation (exclusive lock): re-seal every metadata object (index,
 *   snapshots, plans, config) with the new epoch and delete old-epoch packs;
 *   then open the repository afresh with a keyring holding ONLY the new epoch
 *   and read every metadata object, tree and pack header. Only if that works
 *   are the old epochs retired and the key files re-wrapped without them.
 *
 * Re-wrapping needs each key file's secret: recipient files need only their
 * public key and the session's own file its unlock, but another passphrase
 * file cannot be re-wrapped without its passphrase, so rotation refuses while
 * one exists (remove it, rotate, add it again).
 */
import { Keyring } from '../crypto/keyring';
import { createPassphraseKeyFile, createRecipientKeyFile } from '../crypto/keyfile';
import { IntegrityError } from '../crypto/errors';
import { KDF_MODERATE } from '../crypto/kdf';
import { InvalidInput } from '../errors';
import { NotFound } from '../storage/errors';
import { decodeConfig, encodeConfig } from '../repository/config';
import { envelopeEpoch } from '../repository/envelope';
import { lastSegment, Names } from '../repository/format';
import type { IndexedPack } from '../repository/index-codec';
import { listKeyFiles, saveKeyFile } from '../repository/key-store';
import type { StoredKey } from '../repository/key-store';
import type { BlobEntry } from '../repository/pack';
import { decodePackHeader, headerRegionLength, PACK_TRAILER_BYTES } from '../repository/pack';
import type { RotationStatus, RunOptions } from './api';
import { RepoCore } from './core';
import { loadConfigBytes } from './open';
import { PackPool } from './pack-pool';
import { referencedChunks } from './prune';
import { openAllRecords, resealRecords } from './records';

/** Packs holding the index's chosen copy of some chunk sealed with an older epoch. */
function stalePacks(core: RepoCore): string[] {
  const current = core.keyring.currentEpoch;
  const stale = new Set<string>();
  for (const loc of core.index.chunks.values()) {
    if (loc.epoch < current || (core.index.packs.get(loc.pack)?.epoch ?? 0) < current) stale.add(loc.pack);
  }
  return [...stale].sort();
}

function status(core: RepoCore, total?: number): RotationStatus {
  const remaining = stalePacks(core).length;
  return { newEpoch: core.keyring.currentEpoch, packsTotal: total ?? remaining, packsRemaining: remaining };
}

function checkRewrappable(core: RepoCore, keys: readonly StoredKey[]): void {
  const blocked = keys.filter((k) => k.info.kind === 'passphrase' && k.info.id !== core.keyFile.info.id);
  if (blocked.length > 0) {
    throw new InvalidInput(
      `key rotation must re-wrap every key file, but passphrase key(s) ${blocked.map((k) => k.info.id.slice(0, 12)).join(', ')} can only be re-wrapped with their passphrase`,
      { hint: 'open the repository with that key, or remove those keys, rotate, and add them again' },
    );
  }
}

/** Writes every key file anew for `keyring` (new files first, then the old ones go). */
async function rewrapKeyFiles(core: RepoCore, keyring: Keyring, keys: readonly StoredKey[]): Promise<void> {
  const created: { old: StoredKey; bytes: Buffer }[] = [];
  for (const k of keys) {
    const label = k.info.label ?? undefined;
    let bytes: Buffer;
    if (k.info.kind === 'recipient') {
      bytes = await createRecipientKeyFile(keyring, Buffer.from(k.info.recipientPublicKey!, 'base64'), label);
    } else {
      if (!('passphrase' in core.unlock)) throw new InvalidInput('cannot re-wrap a passphrase key file without its passphrase');
      bytes = await createPassphraseKeyFile(keyring, core.unlock.passphrase, k.info.kdf ?? KDF_MODERATE, label);
    }
    created.push({ old: k, bytes });
  }
  for (const c of created) {
    const info = await saveKeyFile(core.backend, c.bytes);
    if (c.old.info.id === core.keyFile.info.id) core.keyFile = { name: Names.key(info.id), info, bytes: c.bytes };
  }
  for (const c of created) await core.backend.remove(c.old.name);
}

export async function beginRotation(core: RepoCore): Promise<RotationStatus> {
  return core.withLock('exclusive', 'rotation-begin', async () => {
    const keys = await listKeyFiles(core.backend);
    checkRewrappable(core, keys);
    const next = Keyring.deserialize(core.keyring.serialize());
    next.addEpoch();
    await rewrapKeyFiles(core, next, keys);
    core.keyring = next;
    core.index.clear();
    await core.refreshIndex();
    return status(core);
  });
}

export async function rotateBatch(core: RepoCore, maxPacks: number, options: RunOptions = {}): Promise<RotationStatus> {
  if (!Number.isInteger(maxPacks) || maxPacks < 1) throw new InvalidInput('maxPacks must be a positive integer');
  return core.withLock('shared', 'rotation', async () => {
    await core.refreshIndex();
    const before = stalePacks(core);
    const pool = new PackPool(core, {
      openPacks: 1,
      packSize: core.config.packSize,
      compressionLevel: core.config.compressionLevel,
      uploadConcurrency: core.options.uploadConcurrency,
      signal: options.signal,
    });
    let done = 0;
    for (const packId of before.slice(0, maxPacks)) {
      options.signal?.throwIfAborted();
      const name = Names.pack(packId);
      const bytes = await core.backend.load(name, undefined, { signal: options.signal });
      for (const [id, loc] of core.index.chunks) {
        if (loc.pack !== packId) continue;
        const { plain, stored } = core.openVerifiedBlob(id, loc, bytes.subarray(loc.offset, loc.offset + loc.length), name);
        await pool.add(id, loc.type, plain, { data: stored, compressed: loc.compressed });
      }
      done++;
      options.onProgress?.({ filesDone: done, filesTotal: Math.min(maxPacks, before.length), bytesDone: 0 });
    }
    await pool.flushAndIndex();
    return status(core, before.length);
  });
}

/** Opens the repository with a keyring that holds only the current epoch and reads every metadata object. */
async function proveCurrentEpochOnly(core: RepoCore, keyring: Keyring): Promise<void> {
  const fresh = new RepoCore(core.backend, keyring, decodeConfig(keyring, await loadConfigBytes(core.backend), core.backend.location), core.options, core.keyFile, core.unlock);
  await fresh.refreshIndex();
  const snapshots = await fresh.loadSnapshots();
  await referencedChunks(fresh, snapshots);
  for (const pack of fresh.index.packs.values()) {
    const name = Names.pack(pack.id);
    const trailer = await core.backend.load(name, { offset: pack.size - PACK_TRAILER_BYTES, length: PACK_TRAILER_BYTES });
    const len = headerRegionLength(trailer, pack.size, name);
    const start = pack.size - PACK_TRAILER_BYTES - len;
    const header = decodePackHeader(keyring, core.repoId, pack.id, await core.backend.load(name, { offset: start, length: len }), start, name);
    if (header.entries.some((e) => e.epoch !== keyring.currentEpoch)) throw new IntegrityError(`${name} still holds chunks of an older epoch`);
  }
  for await (const obj of core.backend.list(Names.plansPrefix)) {
    if (envelopeEpoch(await core.backend.load(obj.name), obj.name) !== keyring.currentEpoch) throw new IntegrityError(`${obj.name} is still sealed with an older epoch`);
  }
  await openAllRecords(fresh);
}

export async function finishRotation(core: RepoCore): Promise<RotationStatus> {
  return core.withLock('exclusive', 'rotation-finish', async () => {
    core.index.clear();
    core.clearCaches();
    await core.refreshIndex();
    const keys = await listKeyFiles(core.backend);
    checkRewrappable(core, keys);
    const remaining = stalePacks(core);
    if (remaining.length > 0) {
      throw new InvalidInput(`${remaining.length} packs still hold data of older key epochs`, { hint: 'run rotateBatch until no packs remain, then finish' });
    }
    const current = core.keyring.currentEpoch;

    // 1. One index object, sealed with the current epoch, listing only current-epoch packs.
    const byPack = new Map<string, BlobEntry[]>();
    for (const [id, loc] of core.index.chunks) {
      const list = byPack.get(loc.pack) ?? [];
      list.push({ id, type: loc.type, compressed: loc.compressed, epoch: loc.epoch, offset: loc.offset, length: loc.length, rawLength: loc.rawLength });
      byPack.set(loc.pack, list);
    }
    const packs: IndexedPack[] = [...byPack].map(([packId, entries]) => ({ ...core.index.packs.get(packId)!, entries }));
    const oldIndexes = [...core.index.objects.keys()];
    const oldPacks = [...core.index.packs.keys()].filter((p) => !byPack.has(p));
    core.index.clear();
    await core.writeIndex(packs);
    for (const id of oldIndexes) await core.backend.remove(Names.index(id));
    for (const p of oldPacks) await core.backend.remove(Names.pack(p));

    // 2. Snapshots: a current-epoch copy beside each old one, then the old ones go.
    for (const copies of (await core.listSnapshotObjects()).values()) {
      const newest = copies[0];
      if (newest.epoch !== current) await core.saveSnapshot(await core.loadSnapshotObject(newest));
      for (const c of copies) if (c.epoch !== current) await core.backend.remove(c.name);
    }

    // 3. Plans of backups in progress: re-sealed in place (short-lived objects).
    for await (const obj of core.backend.list(Names.plansPrefix)) {
      const bytes = await core.backend.load(obj.name);
      if (envelopeEpoch(bytes, obj.name) === current) continue;
      const m = /^plans\/([0-9a-f]{64})\/(.+)$/.exec(obj.name);
      if (m === null) continue;
      const type = m[2] === 'plan' ? 'plan' : m[2].startsWith('files-') ? 'plan-files' : 'batch';
      const objectId = m[2] === 'plan' ? m[1] : `${m[1]}/${lastSegment(obj.name)}`;
      const { value } = await core.loadJson(type, obj.name, objectId);
      await core.saveJson(type, obj.name, objectId, value, { overwrite: true });
    }

    // 3b. Audit checkpoints and drill reports: re-sealed in place.
    await resealRecords(core);

    // 4. Config: written beside (config-next) before the original is replaced.
    const configBytes = await loadConfigBytes(core.backend);
    if (configBytes.readUInt32BE(37) !== current) {
      const fresh = encodeConfig(core.keyring, core.config);
      await core.backend.remove(Names.configNext);
      await core.backend.save(Names.configNext, fresh);
      await core.backend.remove(Names.config);
      await core.backend.save(Names.config, fresh);
      await core.backend.remove(Names.configNext);
    }

    // 5. Prove, then retire.
    const restricted = Keyring.deserialize(core.keyring.serialize());
    restricted.retireEpochsBefore(current);
    await proveCurrentEpochOnly(core, restricted);
    await rewrapKeyFiles(core, restricted, await listKeyFiles(core.backend));
    core.keyring = restricted;
    core.index.clear();
    core.clearCaches();
    await core.refreshIndex();
    return status(core, 0);
  }).catch((err: unknown) => {
    if (err instanceof NotFound) throw new IntegrityError('an object vanished during rotation; run finishRotation again', { cause: err });
    throw err;
  });
}
