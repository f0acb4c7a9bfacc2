/**
 * A principal's Ed25519 key pair in a local JSON file (mode 0600). The public
 * half is registered in the catalog; the secret half never leaves the file's
 * owner: `coffer approve <workflow-id>` signs with it locally.
 */
import { chmod, link, open, readFile, stat, unlink } from 'node:fs/promises';
import { dirname, basename, join } from 'node:path';
import { randomId } from '../crypto/random';
import { loadSodium } from '../crypto/sodium';
import { signApprovalWithKey } from './approval';
import type { Approval, ApprovalDecision, ApprovalRequest } from './approval';
import { PrincipalKeyFileInvalid } from './errors';

export const PRINCIPAL_KEY_FORMAT = 'coffer-principal-key-v1';

export interface PrincipalKeyFile {
  readonly format: typeof PRINCIPAL_KEY_FORMAT;
  readonly principalId: string;
  readonly name: string;
  /** Ed25519 public key, base64 (32 bytes): what `coffer principal add` registers. */
  readonly publicKey: string;
  /** Ed25519 secret key, base64 (64 bytes, libsodium form). */
  readonly secretKey: string;
  readonly created: string;
}

export async function generatePrincipalKeyPair(input: { readonly principalId: string; readonly name?: string; readonly now?: Date }): Promise<PrincipalKeyFile> {
  const sodium = await loadSodium();
  const pair = sodium.crypto_sign_keypair();
  return {
    format: PRINCIPAL_KEY_FORMAT,
    principalId: input.principalId,
    name: input.name ?? input.principalId,
    publicKey: Buffer.from(pair.publicKey).toString('base64'),
    secretKey: Buffer.from(pair.privateKey).toString('base64'),
    created: (input.now ?? new Date()).toISOString(),
  };
}

/** Writes the key file with mode 0600 through a temporary file and a rename; never overwrites an existing key. */
export async function writePrincipalKeyFile(path: string, keyFile: PrincipalKeyFile): Promise<void> {
  const temp = join(dirname(path), `.${basename(path)}.${randomId().slice(0, 12)}.tmp`);
  const handle = await open(temp, 'wx', 0o600);
  try {
    await handle.writeFile(`${JSON.stringify(keyFile, null, 2)}\n`, 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await chmod(temp, 0o600); // in case the umask interfered
    // link() publishes the complete file atomically and, unlike rename(), fails if the key file exists.
    await link(temp, path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new PrincipalKeyFileInvalid(`${path} already exists; refusing to overwrite a key file`, { cause: err });
    }
    throw err;
  } finally {
    await unlink(temp).catch(() => undefined);
  }
}

export async function readPrincipalKeyFile(path: string): Promise<PrincipalKeyFile> {
  let info;
  let text: string;
  try {
    info = await stat(path);
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new PrincipalKeyFileInvalid(`cannot read principal key file ${path}`, { cause: err });
  }
  if (process.platform !== 'win32' && (info.mode & 0o077) !== 0) {
    throw new PrincipalKeyFileInvalid(`principal key file ${path} is readable by others (mode ${(info.mode & 0o777).toString(8)}); run chmod 600 on it`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new PrincipalKeyFileInvalid(`principal key file ${path} is not JSON`, { cause: err });
  }
  return checkKeyFile(parsed, path);
}

/** Signs an approval of `request` as the key file's principal. */
export async function signApproval(keyFile: PrincipalKeyFile, request: ApprovalRequest, decision: ApprovalDecision = 'approve'): Promise<Approval> {
  const checked = checkKeyFile(keyFile, 'key file');
  return signApprovalWithKey(Buffer.from(checked.secretKey, 'base64'), checked.principalId, request, decision);
}

function checkKeyFile(value: unknown, where: string): PrincipalKeyFile {
  const v = value as Partial<Record<keyof PrincipalKeyFile, unknown>> | null;
  if (
    typeof v !== 'object' || v === null || v.format !== PRINCIPAL_KEY_FORMAT ||
    typeof v.principalId !== 'string' || v.principalId === '' || typeof v.name !== 'string' ||
    typeof v.publicKey !== 'string' || typeof v.secretKey !== 'string' || typeof v.created !== 'string'
  ) {
    throw new PrincipalKeyFileInvalid(`${where} is not a ${PRINCIPAL_KEY_FORMAT} key file`);
  }
  const secret = Buffer.from(v.secretKey, 'base64');
  const pub = Buffer.from(v.publicKey, 'base64');
  // libsodium's Ed25519 secret key is seed ‖ public key: the halves must agree.
  if (secret.length !== 64 || pub.length !== 32 || !secret.subarray(32).equals(pub)) {
    throw new PrincipalKeyFileInvalid(`${where} holds a damaged key pair`);
  }
  return v as PrincipalKeyFile;
}
