/**
 * Secrets in the config file are references only: `{ env: NAME }`,
 * `{ file: /path }`, or the `passwordEnv` / `passwordFile` pair of a
 * repository. A literal value in a field whose name looks secret is refused
 * before schema validation, with the exact spelling of the fix.
 */
import { readFile } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import { SecretUnresolved } from './profile-errors';

export type SecretRef = { readonly env: string } | { readonly file: string };
export type Env = Readonly<Record<string, string | undefined>>;

export const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Normalised (lower case, no `_`/`-`) field names that always hold a secret. */
const SECRET_NAMES = new Set([
  'password', 'passwd', 'pass', 'passphrase', 'secret', 'key', 'privatekey', 'apikey', 'token', 'accesstoken', 'authtoken',
  'secretaccesskey', 'secretkey', 'accountkey', 'sastoken', 'clientsecret', 'connectionstring', 'credentials', 'authorization',
]);
/** Suffixes that make any field secret (AWS_SECRET_ACCESS_KEY, slackToken, dbPassword …). */
const SECRET_SUFFIXES = ['password', 'passphrase', 'secret', 'secretaccesskey', 'token', 'apikey', 'privatekey', 'accountkey', 'connectionstring'];

function normalise(name: string): string {
  return name.toLowerCase().replace(/[_-]/g, '');
}

export function isSecretFieldName(name: string): boolean {
  const n = normalise(name);
  return SECRET_NAMES.has(n) || SECRET_SUFFIXES.some((s) => n.endsWith(s));
}

/** How the user should write the field instead (shown in the error). */
export function referenceAdvice(field: string): string {
  if (normalise(field) === 'password' || normalise(field) === 'passphrase') {
    return `literal secrets are not allowed in the config file: write \`passwordFile: /path/to/file\` or \`passwordEnv: VARIABLE\` instead of \`${field}:\` (or \`${field}: { env: VARIABLE }\` / \`${field}: { file: /path }\` where a reference is accepted)`;
  }
  return `literal secrets are not allowed in the config file: reference it as \`${field}: { env: VARIABLE }\` or \`${field}: { file: /path/to/file }\``;
}

export interface LiteralSecret {
  readonly path: readonly (string | number)[];
  readonly field: string;
}

/**
 * Walks the parsed YAML value and returns every secret-looking field holding
 * a literal scalar (a string, number or boolean) instead of a reference.
 */
export function findLiteralSecrets(value: unknown, path: readonly (string | number)[] = []): LiteralSecret[] {
  const found: LiteralSecret[] = [];
  if (Array.isArray(value)) {
    value.forEach((item, i) => found.push(...findLiteralSecrets(item, [...path, i])));
  } else if (value !== null && typeof value === 'object') {
    for (const [key, item] of Object.entries(value as Record<string, unknown>)) {
      const scalar = typeof item === 'string' || typeof item === 'number' || typeof item === 'boolean';
      if (scalar && isSecretFieldName(key)) found.push({ path: [...path, key], field: key });
      else found.push(...findLiteralSecrets(item, [...path, key]));
    }
  }
  return found;
}

export function describeSecretRef(ref: SecretRef): string {
  return 'env' in ref ? `environment variable ${ref.env}` : `file ${ref.file}`;
}

/**
 * Reads the secret a reference points to. `env` is the environment to read
 * variables from (pass `process.env` at the program's edge); relative file
 * paths resolve against `baseDir` (the config file's directory). A trailing
 * newline of a file is dropped. Errors name the reference, never the value.
 */
export async function resolveSecret(ref: SecretRef, env: Env, baseDir: string = process.cwd()): Promise<string> {
  if ('env' in ref) {
    const value = env[ref.env];
    if (value === undefined || value === '') throw new SecretUnresolved(`environment variable ${ref.env} is not set (the config refers to it for a secret)`);
    return value;
  }
  const path = isAbsolute(ref.file) ? ref.file : resolve(baseDir, ref.file);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    throw new SecretUnresolved(`cannot read secret file ${path} (${code})`, { cause: err });
  }
  const value = text.replace(/\r?\n$/, '');
  if (value === '') throw new SecretUnresolved(`secret file ${path} is empty`);
  return value;
}
