/**
 * Key files under `keys/<id>` (format: activities/crypto/keyfile.ts). They are
 * the only objects stored in clear; each wraps the whole keyring for one
 * passphrase or X25519 recipient.
 */
import { createPassphraseKeyFile, createRecipientKeyFile, openKeyFile, parseKeyFileInfo } from '../crypto/keyfile';
import type { KeyFileInfo } from '../crypto/keyfile';
import { KeyFileCorrupt, WrongPassphrase } from '../crypto/errors';
import type { KdfParams } from '../crypto/kdf';
import type { Keyring } from '../crypto/keyring';
import type { Backend } from '../storage/backend';
import { NotFound } from '../storage/errors';
import type { KeyInfo, Unlock } from '../engine/api';
import { lastSegment, Names } from './format';

export interface StoredKey {
  readonly name: string;
  readonly info: KeyFileInfo;
  readonly bytes: Buffer;
}

export async function listKeyFiles(backend: Backend): Promise<StoredKey[]> {
  const out: StoredKey[] = [];
  for await (const obj of backend.list(Names.keysPrefix)) {
    try {
      const bytes = await backend.load(obj.name);
      const info = parseKeyFileInfo(bytes);
      if (info.id !== lastSegment(obj.name)) continue; // a key file copied under another name is ignored
      out.push({ name: obj.name, info, bytes });
    } catch (err) {
      if (err instanceof NotFound || err instanceof KeyFileCorrupt) continue;
      throw err;
    }
  }
  // Newest first: after an interrupted re-wrap (key rotation) the new file, holding the newer keyring, wins.
  return out.sort((a, b) => b.info.created.localeCompare(a.info.created));
}

export function keyInfoOf(info: KeyFileInfo): KeyInfo {
  return { id: info.id, kind: info.kind === 'passphrase' ? 'passphrase' : 'x25519', created: info.created, ...(info.label === null ? {} : { label: info.label }) };
}

/**
 * Tries every key file the unlock could open (recipient files only for the
 * matching public key). Wrong passphrase everywhere → WrongPassphrase; no
 * usable file at all → KeyFileCorrupt.
 */
export async function unlockKeyring(backend: Backend, unlock: Unlock, location: string): Promise<{ keyring: Keyring; key: StoredKey }> {
  const keys = await listKeyFiles(backend);
  let wrong = 0;
  let corrupt: unknown;
  for (const key of keys) {
    if ('passphrase' in unlock ? key.info.kind !== 'passphrase' : key.info.recipientPublicKey !== Buffer.from(unlock.x25519PublicKey).toString('base64')) continue;
    try {
      const { keyring } = await openKeyFile(key.bytes, unlock);
      return { keyring, key };
    } catch (err) {
      if (err instanceof WrongPassphrase) wrong++;
      else if (err instanceof KeyFileCorrupt) corrupt = err;
      else throw err;
    }
  }
  if (wrong > 0 || keys.length > 0 && corrupt === undefined) {
    throw new WrongPassphrase(`${'passphrase' in unlock ? 'the passphrase' : 'the recipient key'} does not unlock any key file of ${location}`);
  }
  throw new KeyFileCorrupt(`${location}: no usable key file (${keys.length} found)`, { cause: corrupt });
}

export async function createKeyFile(keyring: Keyring, unlock: Unlock, kdf: KdfParams, label?: string): Promise<Buffer> {
  return 'passphrase' in unlock ? createPassphraseKeyFile(keyring, unlock.passphrase, kdf, label) : createRecipientKeyFile(keyring, unlock.x25519PublicKey, label);
}

export async function saveKeyFile(backend: Backend, bytes: Buffer): Promise<KeyFileInfo> {
  const info = parseKeyFileInfo(bytes);
  await backend.save(Names.key(info.id), bytes);
  return info;
}
