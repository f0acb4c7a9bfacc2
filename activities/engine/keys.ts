/** Key management: list, add, remove key files (the keyring itself never changes here). */
import { KDF_MODERATE } from '../crypto/kdf';
import { InvalidInput } from '../errors';
import { Names } from '../repository/format';
import { createKeyFile, keyInfoOf, listKeyFiles, saveKeyFile } from '../repository/key-store';
import type { KeyInfo, Unlock } from './api';
import type { RepoCore } from './core';

export async function listKeys(core: RepoCore): Promise<KeyInfo[]> {
  return (await listKeyFiles(core.backend)).map((k) => keyInfoOf(k.info));
}

export async function addKey(core: RepoCore, unlock: Unlock, label?: string): Promise<KeyInfo> {
  if ('passphrase' in unlock && unlock.passphrase.length === 0) throw new InvalidInput('the passphrase must not be empty');
  return core.withLock('shared', 'add-key', async () => {
    const kdf = core.keyFile.info.kdf ?? KDF_MODERATE;
    const info = await saveKeyFile(core.backend, await createKeyFile(core.keyring, unlock, kdf, label));
    return keyInfoOf(info);
  });
}

export async function removeKey(core: RepoCore, id: string): Promise<void> {
  await core.withLock('shared', 'remove-key', async () => {
    const keys = await listKeyFiles(core.backend);
    if (!keys.some((k) => k.info.id === id)) throw new InvalidInput(`no key with id ${JSON.stringify(id)}`);
    if (keys.length <= 1) throw new InvalidInput('refusing to remove the last key: the repository would become unreadable', { hint: 'add another key first' });
    await core.backend.remove(Names.key(id));
  });
}
