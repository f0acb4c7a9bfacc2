/**
 * Public-key files of principals: what `coffer keygen` writes next to the key
 * file and what `coffer principals add --public-key` reads. Also accepts a
 * bare base64 key, or a full key file (only its public half is used).
 */
import { open, readFile, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { PrincipalKeyFileInvalid } from '../activities/access/errors';
import type { PrincipalKeyFile } from '../activities/access/key-file';

export const PRINCIPAL_PUBLIC_FORMAT = 'coffer-principal-public-v1';

export async function writePublicKeyFile(path: string, keyFile: PrincipalKeyFile): Promise<void> {
  const temp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  const handle = await open(temp, 'wx', 0o644);
  try {
    await handle.writeFile(`${JSON.stringify({ format: PRINCIPAL_PUBLIC_FORMAT, principalId: keyFile.principalId, publicKey: keyFile.publicKey }, null, 2)}\n`, 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await rename(temp, path);
  } catch (err) {
    await unlink(temp).catch(() => undefined);
    throw err;
  }
}

/** The Ed25519 public key (base64) in a public-key file, key file or bare base64 file. */
export async function readPublicKey(path: string): Promise<{ publicKey: string; principalId?: string }> {
  let text: string;
  try {
    text = (await readFile(path, 'utf8')).trim();
  } catch (err) {
    throw new PrincipalKeyFileInvalid(`cannot read public key file ${path}`, { cause: err });
  }
  let publicKey = text;
  let principalId: string | undefined;
  if (text.startsWith('{')) {
    let parsed: { publicKey?: unknown; principalId?: unknown };
    try {
      parsed = JSON.parse(text) as { publicKey?: unknown; principalId?: unknown };
    } catch (err) {
      throw new PrincipalKeyFileInvalid(`${path} is not JSON`, { cause: err });
    }
    if (typeof parsed.publicKey !== 'string') throw new PrincipalKeyFileInvalid(`${path} holds no publicKey`);
    publicKey = parsed.publicKey;
    if (typeof parsed.principalId === 'string') principalId = parsed.principalId;
  }
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(publicKey) || Buffer.from(publicKey, 'base64').length !== 32) {
    throw new PrincipalKeyFileInvalid(`${path} does not hold an Ed25519 public key (32 bytes, base64)`);
  }
  return { publicKey, ...(principalId === undefined ? {} : { principalId }) };
}
