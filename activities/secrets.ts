/**
 * Where the worker finds repository passphrases. Workflow inputs carry only
 * the repository URL; the activity asks this source for the unlock. Sources,
 * most specific first:
 *  1. a per-repository map file (JSON or YAML):
 *       { "s3://coffer/prod": { "passwordFile": "/etc/coffer/prod.pass" },
 *         "/srv/backups/repo":  { "password": "..." } }
 *  2. COFFER_PASSWORD_FILE (first line of the file),
 *  3. COFFER_PASSWORD.
 * Files are read at each lookup so a rotated passphrase file takes effect
 * without a restart. Secret values never appear in errors or logs.
 */
import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import type { Unlock } from './engine/api';
import { SecretFileInvalid, SecretMissing } from './job-errors';

export interface SecretsSettings {
  readonly password?: string;
  readonly passwordFile?: string;
  readonly repositorySecretsFile?: string;
}

export interface SecretSource {
  unlockFor(repositoryUrl: string): Promise<Unlock>;
}

/** Canonical form of a repository URL for map lookups and caches. */
export function normalizeRepositoryUrl(url: string): string {
  const trimmed = url.trim();
  return trimmed.length > 1 ? trimmed.replace(/\/+$/, '') : trimmed;
}

export async function readPasswordFile(file: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new SecretFileInvalid(`password file ${file} cannot be read`, { cause: err });
  }
  const firstLine = text.split(/\r?\n/)[0] ?? '';
  if (firstLine === '') throw new SecretFileInvalid(`password file ${file} is empty`);
  return firstLine;
}

interface MapEntry {
  readonly password?: string;
  readonly passwordFile?: string;
}

async function readSecretsMap(file: string): Promise<Map<string, MapEntry>> {
  let parsed: unknown;
  try {
    parsed = parseYaml(await readFile(file, 'utf8'));
  } catch (err) {
    // Do not pass the parser's message on: it may quote a line holding a password.
    throw new SecretFileInvalid(`repository secrets file ${file} cannot be read or parsed`, { cause: err instanceof Error && 'code' in err ? err : undefined });
  }
  const map = new Map<string, MapEntry>();
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new SecretFileInvalid(`repository secrets file ${file} must map repository URLs to { password | passwordFile }`);
  }
  for (const [url, entry] of Object.entries(parsed as Record<string, unknown>)) {
    const value = entry as { password?: unknown; passwordFile?: unknown } | null;
    const password = typeof value?.password === 'string' ? value.password : undefined;
    const passwordFile = typeof value?.passwordFile === 'string' ? value.passwordFile : undefined;
    if (password === undefined && passwordFile === undefined) {
      throw new SecretFileInvalid(`repository secrets file ${file}: entry for ${url} needs password or passwordFile`);
    }
    map.set(normalizeRepositoryUrl(url), { password, passwordFile });
  }
  return map;
}

export function createSecretSource(settings: SecretsSettings): SecretSource {
  return {
    async unlockFor(repositoryUrl: string): Promise<Unlock> {
      if (settings.repositorySecretsFile !== undefined) {
        const entry = (await readSecretsMap(settings.repositorySecretsFile)).get(normalizeRepositoryUrl(repositoryUrl));
        if (entry?.passwordFile !== undefined) return { passphrase: await readPasswordFile(entry.passwordFile) };
        if (entry?.password !== undefined) return { passphrase: entry.password };
      }
      if (settings.passwordFile !== undefined) return { passphrase: await readPasswordFile(settings.passwordFile) };
      if (settings.password !== undefined) return { passphrase: settings.password };
      throw new SecretMissing(`no passphrase configured on this worker for repository ${repositoryUrl}`);
    },
  };
}
