/** Creating and opening repositories. */
import { chunkerParams } from '../chunking/fastcdc';
import { KDF_DEFAULT } from '../crypto/kdf';
import { Keyring } from '../crypto/keyring';
import { randomId } from '../crypto/random';
import { InvalidInput } from '../errors';
import type { Backend } from '../storage/backend';
import { AlreadyExists, NotFound } from '../storage/errors';
import { ALGORITHMS, decodeConfig, encodeConfig, parseConfigHeader } from '../repository/config';
import type { RepoConfig } from '../repository/config';
import { NotARepository, RepositoryExists } from '../repository/errors';
import { checkConfigInput, DEFAULTS, FORMAT_VERSION, Names } from '../repository/format';
import { createKeyFile, saveKeyFile, unlockKeyring } from '../repository/key-store';
import type { InitOptions, Unlock } from './api';
import { RepoCore } from './core';
import type { ResolvedEngineOptions } from './options';

async function exists(backend: Backend, name: string): Promise<boolean> {
  try {
    await backend.stat(name);
    return true;
  } catch (err) {
    if (err instanceof NotFound) return false;
    throw err;
  }
}

function checkUnlock(unlock: Unlock): void {
  if ('passphrase' in unlock) {
    if (typeof unlock.passphrase !== 'string' || unlock.passphrase.length === 0) throw new InvalidInput('the passphrase must not be empty');
  } else if (unlock.x25519PublicKey?.length !== 32) throw new InvalidInput('a recipient key must be a 32-byte X25519 public key');
}

/** `keyring`: a prepared keyring (a replica sharing another repository's lifetime keys); default a fresh one. */
export async function initRepository(backend: Backend, unlock: Unlock, options: InitOptions, engineOptions: ResolvedEngineOptions, keyring: Keyring = Keyring.generate()): Promise<RepoCore> {
  checkUnlock(unlock);
  const input = {
    averageChunkSize: options.averageChunkSize ?? DEFAULTS.averageChunkSize,
    packSize: options.packSize ?? DEFAULTS.packSize,
    compressionLevel: options.compressionLevel ?? DEFAULTS.compressionLevel,
  };
  checkConfigInput(input);
  const retentionDays = options.retentionDays;
  if (retentionDays !== undefined) {
    if (!Number.isInteger(retentionDays) || retentionDays < 1 || retentionDays > 36500) throw new InvalidInput(`retention days must be a whole number from 1 to 36500 (got ${retentionDays})`);
    if (!backend.capabilities.retention) throw new InvalidInput(`${backend.location} cannot retention-lock objects`, { hint: 'use an S3 bucket with Object Lock, or Azure immutability' });
  }
  if ((await exists(backend, Names.config)) || (await exists(backend, Names.configNext))) {
    throw new RepositoryExists(`${backend.location} already holds a repository`);
  }
  for await (const _ of backend.list(Names.keysPrefix)) {
    throw new RepositoryExists(`${backend.location} already holds key files`);
  }
  const config: RepoConfig = {
    formatVersion: FORMAT_VERSION,
    repoId: randomId(),
    created: new Date().toISOString(),
    algorithms: ALGORITHMS,
    chunker: chunkerParams(input.averageChunkSize),
    packSize: input.packSize,
    compressionLevel: input.compressionLevel,
    openPacks: 4,
    ...(retentionDays === undefined ? {} : { retentionDays }),
  };
  const kdf = options.kdf ?? KDF_DEFAULT;
  const keyBytes = await createKeyFile(keyring, unlock, kdf, 'initial key');
  const info = await saveKeyFile(backend, keyBytes);
  try {
    await backend.save(Names.config, encodeConfig(keyring, config));
  } catch (err) {
    await backend.remove(Names.key(info.id)).catch(() => undefined);
    if (err instanceof AlreadyExists) throw new RepositoryExists(`${backend.location} already holds a repository`, { cause: err });
    throw err;
  }
  return new RepoCore(backend, keyring, config, engineOptions, { name: Names.key(info.id), info, bytes: keyBytes }, unlock);
}

export async function loadConfigBytes(backend: Backend): Promise<Buffer> {
  for (const name of [Names.config, Names.configNext]) {
    try {
      return await backend.load(name);
    } catch (err) {
      if (!(err instanceof NotFound)) throw err;
    }
  }
  throw new NotARepository(`${backend.location} holds no Coffer repository (no config object)`);
}

export async function openRepository(backend: Backend, unlock: Unlock, engineOptions: ResolvedEngineOptions): Promise<RepoCore> {
  checkUnlock(unlock);
  const configBytes = await loadConfigBytes(backend);
  parseConfigHeader(configBytes, backend.location);
  const { keyring, key } = await unlockKeyring(backend, unlock, backend.location);
  const config = decodeConfig(keyring, configBytes, backend.location);
  const core = new RepoCore(backend, keyring, config, engineOptions, key, unlock);
  await core.refreshIndex();
  return core;
}
