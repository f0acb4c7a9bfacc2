/**
 * How the break-glass commands unlock a repository without any Coffer
 * service: the password (--password-file, COFFER_PASSWORD_FILE,
 * COFFER_PASSWORD) or an X25519 recipient key file (--key-file), the escrow
 * key `coffer keys add --recipient-out <file>` writes.
 *
 * Recipient key file format: one line, `coffer-x25519-secret-v1 <base64 of the
 * 32-byte secret key>`; the public key is derived from it.
 */
import { readFile } from 'node:fs/promises';
import type { Unlock } from '../../activities/engine/api';
import { InvalidInput } from '../../activities/errors';
import { loadSodium } from '../../activities/crypto/sodium';
import { SecretFileInvalid } from '../../activities/job-errors';

export const RECIPIENT_KEY_FILE_TAG = 'coffer-x25519-secret-v1';

export function formatRecipientKeyFile(secretKey: Uint8Array): string {
  return `${RECIPIENT_KEY_FILE_TAG} ${Buffer.from(secretKey).toString('base64')}\n`;
}

export async function readRecipientKeyFile(file: string): Promise<Unlock> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new SecretFileInvalid(`key file ${file} cannot be read`, { cause: err });
  }
  const [tag, encoded, ...rest] = (text.split(/\r?\n/)[0] ?? '').trim().split(/\s+/);
  const secretKey = Buffer.from(encoded ?? '', 'base64');
  if (tag !== RECIPIENT_KEY_FILE_TAG || rest.length > 0 || secretKey.length !== 32) {
    // Never quote the file: it holds a secret.
    throw new SecretFileInvalid(`key file ${file} is not a Coffer recipient key file`, { hint: `expected one line: ${RECIPIENT_KEY_FILE_TAG} <base64 of 32 bytes>` });
  }
  const sodium = await loadSodium();
  return { x25519SecretKey: new Uint8Array(secretKey), x25519PublicKey: sodium.crypto_scalarmult_base(new Uint8Array(secretKey)) };
}

export async function offlineUnlock(keyFile: string | undefined, password: () => Promise<string>): Promise<Unlock> {
  if (keyFile !== undefined) return readRecipientKeyFile(keyFile);
  try {
    return { passphrase: await password() };
  } catch (err) {
    if (err instanceof InvalidInput) {
      throw new InvalidInput('no repository password or key file given', { hint: 'set COFFER_PASSWORD, pass --password-file <file>, or --key-file <recipient key file>' });
    }
    throw err;
  }
}
