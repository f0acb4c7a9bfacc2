/**
 * Key administration the worker does on the repository: removing a key file
 * (removeKeyWorkflow). Adding keys and listing them happen client-side (a new
 * passphrase must never travel in a workflow payload); removal needs no
 * secret, so it can be a workflow, where an approval gate can guard it.
 *
 * Refuses to remove the key this worker itself opens the repository with
 * (the worker would lock itself out) and, in the engine, the last key.
 */
import { openKeyFile } from './crypto/keyfile';
import { WrongPassphrase } from './crypto/errors';
import type { Unlock } from './engine/api';
import { runActivity } from './context';
import type { ResolvedDeps } from './deps';
import { InvalidInput } from './errors';
import { listKeyFiles } from './repository/key-store';
import type { StoredKey } from './repository/key-store';

export interface RemoveRepositoryKeyInput {
  readonly repo: string;
  /** The full id of the key file (`keys/<id>`). */
  readonly keyId: string;
}

export interface RemoveRepositoryKeyResult {
  readonly keyId: string;
  /** false: an earlier attempt of this activity already removed it. */
  readonly removed: boolean;
  readonly keysLeft: number;
}

const KEY_ID = /^[0-9a-f]{64}$/;

/** Whether `unlock` opens this key file (one key derivation for a passphrase file). */
export async function unlockOpens(key: StoredKey, unlock: Unlock): Promise<boolean> {
  if ('passphrase' in unlock) {
    if (key.info.kind !== 'passphrase') return false;
  } else if (key.info.recipientPublicKey !== Buffer.from(unlock.x25519PublicKey).toString('base64')) return false;
  try {
    const { keyring } = await openKeyFile(key.bytes, unlock);
    keyring.wipe();
    return true;
  } catch (err) {
    if (err instanceof WrongPassphrase) return false;
    throw err;
  }
}

export function keyAdminActivities(deps: ResolvedDeps) {
  return {
    removeRepositoryKey: async (input: RemoveRepositoryKeyInput): Promise<RemoveRepositoryKeyResult> => {
      return runActivity(deps.metrics, async (frame) => {
        if (typeof input.keyId !== 'string' || !KEY_ID.test(input.keyId)) {
          throw new InvalidInput(`invalid key id ${JSON.stringify(input.keyId)}: expected the full 64-character id`, { hint: "see 'coffer keys list'" });
        }
        frame.phase('check');
        const backend = await deps.openBackend(input.repo);
        let keys: StoredKey[];
        try {
          keys = await listKeyFiles(backend);
        } finally {
          await backend.close().catch(() => undefined);
        }
        const target = keys.find((k) => k.info.id === input.keyId);
        if (target === undefined) {
          // A retry after a removal that succeeded (the result was lost) finds nothing left to do.
          if (frame.attempt > 1) return { keyId: input.keyId, removed: false, keysLeft: keys.length };
          throw new InvalidInput(`no key with id ${input.keyId} in ${input.repo}`, { hint: "see 'coffer keys list'" });
        }
        if (await unlockOpens(target, await deps.secrets.unlockFor(input.repo))) {
          throw new InvalidInput(`refusing to remove key ${input.keyId.slice(0, 12)}: this worker opens the repository with it`, {
            hint: "give the worker another key's passphrase first (COFFER_PASSWORD_FILE or the repository secrets file), then remove this one",
          });
        }
        frame.phase('remove');
        // The engine takes the repository lock and refuses to remove the last key.
        await deps.repositories.use(input.repo, async (repository) => repository.removeKey(input.keyId));
        await deps.repositories.invalidate(input.repo);
        return { keyId: input.keyId, removed: true, keysLeft: keys.length - 1 };
      });
    },
  };
}
