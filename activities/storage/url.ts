import { readFile } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import type { Backend } from './backend';
import { AzureBackend } from './azure';
import type { AzureCredentials } from './azure';
import { GcsBackend } from './gcs';
import { LocalBackend } from './local';
import { RetryingBackend } from './retrying';
import type { RetryOptions } from './retrying';
import { S3Backend } from './s3';
import { SftpBackend } from './sftp';
import { ThrottledBackend } from './throttled';
import type { StorageTimeouts } from './timeouts';
import type { BandwidthLimits } from './throttled';
import { AuthFailed, BadLocation } from './errors';
import { InvalidInput } from '../errors';

/** A parsed repository URL. Never contains credentials. */
export type RepositoryLocation =
  | { readonly kind: 'local'; readonly path: string }
  | { readonly kind: 's3'; readonly bucket: string; readonly prefix: string }
  | { readonly kind: 'gcs'; readonly bucket: string; readonly prefix: string }
  | { readonly kind: 'sftp'; readonly user: string | undefined; readonly host: string; readonly port: number; readonly path: string }
  | { readonly kind: 'azure'; readonly account: string; readonly container: string; readonly prefix: string };

/** Per-provider knobs that are not part of the URL; everything is optional. */
export interface BackendOptions {
  readonly s3?: {
    readonly endpoint?: string;
    readonly region?: string;
    readonly forcePathStyle?: boolean;
    readonly pageSize?: number;
    readonly multipartThreshold?: number;
    readonly lockMode?: 'COMPLIANCE' | 'GOVERNANCE';
    readonly conditionalWrites?: boolean;
  };
  readonly gcs?: { readonly endpoint?: string; readonly projectId?: string; readonly keyFile?: string; readonly pageSize?: number };
  readonly azure?: { readonly endpoint?: string; readonly pageSize?: number };
  readonly sftp?: {
    readonly keyFile?: string;
    readonly knownHostsFile?: string;
    readonly fingerprint?: string;
    readonly readyTimeoutMs?: number;
  };
  /** Network backends (S3, SFTP): connect, idle and dead-link timeouts; omitted fields take the defaults of ./timeouts. */
  readonly timeouts?: StorageTimeouts;
  /** Wrap in a RetryingBackend (default on); false returns the raw backend. */
  readonly retry?: RetryOptions | false;
  /** Bandwidth limits (ThrottledBackend); omitted = unlimited. */
  readonly bandwidth?: BandwidthLimits;
  /** Base directory for relative local paths (default: the process's cwd). */
  readonly cwd?: string;
}

export type Env = Readonly<Record<string, string | undefined>>;

const BUCKET = /^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$/;
const AZURE_ACCOUNT = /^[a-z0-9]{3,24}$/;
const AZURE_CONTAINER = /^(\$root|[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9])$/;

/**
 * Parses a repository URL:
 *   local:/path, local:relative, /abs/path, ./rel, rel
 *   s3://bucket[/prefix]        gs://bucket[/prefix]
 *   sftp://[user@]host[:port]/abs/path  (sftp://host/~/dir is relative to the login directory)
 *   azure://account/container[/prefix]
 * Throws InvalidInput with a clear message; never echoes embedded passwords.
 */
export function parseRepositoryUrl(url: string): RepositoryLocation {
  const text = url.trim();
  if (text === '') throw new InvalidInput('repository URL is empty');
  const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]*):/.exec(text)?.[1]?.toLowerCase();
  if (scheme === undefined) return { kind: 'local', path: text };
  if (scheme === 'local' || scheme === 'file') {
    const path = text.slice(scheme.length + 1).replace(/^\/\/(?=\/)/, '');
    if (path === '') throw new InvalidInput('local: URL needs a path, e.g. local:/srv/backups');
    return { kind: 'local', path };
  }
  const rest = text.slice(scheme.length + 1);
  if (!rest.startsWith('//')) throw new InvalidInput(`repository URL ${safe(text)} must look like ${scheme}://…`);
  let parsed: URL;
  try {
    parsed = new URL(text);
  } catch {
    throw new InvalidInput(`repository URL ${safe(text)} is malformed`);
  }
  if (parsed.password !== '') {
    throw new InvalidInput('repository URLs must not contain passwords', {
      hint: 'pass credentials through the environment (e.g. COFFER_SFTP_PASSWORD) or a key file',
    });
  }
  if (parsed.search !== '' || parsed.hash !== '') throw new InvalidInput(`repository URL ${safe(text)} must not have a query or fragment`);
  const segments = decodeURIComponent(parsed.pathname).split('/').filter((s) => s !== '');
  for (const s of segments) {
    if (s === '.' || s === '..') throw new InvalidInput(`repository URL ${safe(text)} must not contain '.' or '..'`);
  }
  switch (scheme) {
    case 's3':
    case 'gs': {
      const bucket = parsed.hostname;
      if (!BUCKET.test(bucket)) throw new InvalidInput(`invalid bucket name ${JSON.stringify(bucket)} in ${safe(text)}`);
      if (parsed.username !== '' || parsed.port !== '') throw new InvalidInput(`${scheme}:// URLs take no user or port: ${safe(text)}`);
      return { kind: scheme === 's3' ? 's3' : 'gcs', bucket, prefix: segments.join('/') };
    }
    case 'azure': {
      const account = parsed.hostname;
      if (!AZURE_ACCOUNT.test(account)) throw new InvalidInput(`invalid Azure storage account ${JSON.stringify(account)} in ${safe(text)}`);
      const [container, ...prefix] = segments;
      if (container === undefined || !AZURE_CONTAINER.test(container)) {
        throw new InvalidInput(`azure:// URL needs a valid container: azure://account/container/prefix (got ${safe(text)})`);
      }
      return { kind: 'azure', account, container, prefix: prefix.join('/') };
    }
    case 'sftp': {
      const host = parsed.hostname.replace(/^\[|\]$/g, '');
      if (host === '') throw new InvalidInput(`sftp:// URL needs a host: ${safe(text)}`);
      const port = parsed.port === '' ? 22 : Number(parsed.port);
      if (segments.length === 0) throw new InvalidInput(`sftp:// URL needs a directory: sftp://user@host:port/path (got ${safe(text)})`);
      const path = segments[0] === '~' ? segments.slice(1).join('/') || '.' : `/${segments.join('/')}`;
      return { kind: 'sftp', user: parsed.username === '' ? undefined : decodeURIComponent(parsed.username), host, port, path };
    }
    default:
      throw new InvalidInput(`unknown repository URL scheme ${JSON.stringify(scheme)}`, {
        hint: 'use local:/path, s3://bucket/prefix, gs://bucket/prefix, sftp://user@host/path or azure://account/container/prefix',
      });
  }
}

/** Renders a location back to a URL string without credentials. */
export function formatLocation(location: RepositoryLocation): string {
  switch (location.kind) {
    case 'local': return `local:${location.path}`;
    case 's3': return `s3://${location.bucket}/${location.prefix}`;
    case 'gcs': return `gs://${location.bucket}/${location.prefix}`;
    case 'azure': return `azure://${location.account}/${location.container}/${location.prefix}`;
    case 'sftp': return `sftp://${location.user === undefined ? '' : `${location.user}@`}${location.host}:${location.port}${location.path.startsWith('/') ? '' : '/~/'}${location.path}`;
  }
}

/**
 * Opens the backend a repository URL names, checks it is reachable (bucket,
 * container or server) and wraps it in the retrying (and, if asked,
 * bandwidth-limiting) wrappers. Credentials come from `env` — each SDK's
 * standard variables — or from files `env` points at; they never appear in
 * messages.
 */
export async function openBackend(url: string, options: BackendOptions, env: Env): Promise<Backend> {
  const location = parseRepositoryUrl(url);
  let backend: Backend = await openRaw(location, options, env);
  if (options.bandwidth !== undefined) backend = new ThrottledBackend(backend, options.bandwidth);
  if (options.retry !== false) backend = new RetryingBackend(backend, options.retry ?? {});
  return backend;
}

async function openRaw(location: RepositoryLocation, options: BackendOptions, env: Env): Promise<Backend> {
  switch (location.kind) {
    case 'local':
      return new LocalBackend({ root: resolve(options.cwd ?? process.cwd(), location.path) });
    case 's3': {
      const o = options.s3 ?? {};
      const accessKeyId = env.AWS_ACCESS_KEY_ID;
      const secretAccessKey = env.AWS_SECRET_ACCESS_KEY;
      const backend = new S3Backend({
        bucket: location.bucket,
        prefix: location.prefix,
        endpoint: o.endpoint ?? nonEmpty(env.COFFER_S3_ENDPOINT) ?? nonEmpty(env.AWS_ENDPOINT_URL_S3) ?? nonEmpty(env.AWS_ENDPOINT_URL),
        region: o.region ?? nonEmpty(env.COFFER_S3_REGION) ?? nonEmpty(env.AWS_REGION) ?? nonEmpty(env.AWS_DEFAULT_REGION) ?? 'us-east-1',
        forcePathStyle: o.forcePathStyle,
        // Explicit keys from the given environment; otherwise the SDK's chain (profiles, SSO, instance roles).
        credentials: accessKeyId !== undefined && accessKeyId !== '' && secretAccessKey !== undefined
          ? { accessKeyId, secretAccessKey, sessionToken: nonEmpty(env.AWS_SESSION_TOKEN) }
          : undefined,
        pageSize: o.pageSize,
        multipartThreshold: o.multipartThreshold,
        lockMode: o.lockMode,
        conditionalWrites: o.conditionalWrites ?? (env.COFFER_S3_CONDITIONAL_WRITES === 'false' ? false : undefined),
        timeouts: options.timeouts,
      });
      return backend.open();
    }
    case 'gcs': {
      const o = options.gcs ?? {};
      const endpoint = o.endpoint ?? nonEmpty(env.COFFER_GCS_ENDPOINT) ?? nonEmpty(env.STORAGE_EMULATOR_HOST);
      return new GcsBackend({
        bucket: location.bucket,
        prefix: location.prefix,
        endpoint: endpoint === undefined || /^https?:\/\//.test(endpoint) ? endpoint : `http://${endpoint}`,
        projectId: o.projectId ?? nonEmpty(env.GOOGLE_CLOUD_PROJECT) ?? nonEmpty(env.GCLOUD_PROJECT),
        keyFilename: o.keyFile ?? nonEmpty(env.GOOGLE_APPLICATION_CREDENTIALS),
        pageSize: o.pageSize,
      }).open();
    }
    case 'azure':
      return new AzureBackend({
        account: location.account,
        container: location.container,
        prefix: location.prefix,
        endpoint: options.azure?.endpoint ?? nonEmpty(env.COFFER_AZURE_ENDPOINT),
        credentials: await azureCredentials(location.account, env),
        pageSize: options.azure?.pageSize,
      }).open();
    case 'sftp': {
      const o = options.sftp ?? {};
      const user = location.user ?? nonEmpty(env.COFFER_SFTP_USER) ?? nonEmpty(env.USER);
      if (user === undefined) throw new InvalidInput('sftp:// URL has no user and COFFER_SFTP_USER is not set');
      const keyFile = o.keyFile ?? nonEmpty(env.COFFER_SFTP_KEY_FILE);
      const password = nonEmpty(env.COFFER_SFTP_PASSWORD);
      if (keyFile === undefined && password === undefined) {
        throw new AuthFailed('no SSH credentials: set COFFER_SFTP_KEY_FILE (private key file) or COFFER_SFTP_PASSWORD');
      }
      const knownHostsFile = o.knownHostsFile ?? nonEmpty(env.COFFER_SFTP_KNOWN_HOSTS)
        ?? (env.HOME === undefined ? undefined : join(env.HOME, '.ssh', 'known_hosts'));
      const fingerprint = o.fingerprint ?? nonEmpty(env.COFFER_SFTP_HOST_FINGERPRINT);
      const knownHosts = knownHostsFile === undefined ? undefined : await readFile(knownHostsFile, 'utf8').catch(() => undefined);
      if (knownHosts === undefined && fingerprint === undefined) {
        throw new AuthFailed(`no pinned host key for ${location.host}`, {
          hint: 'set COFFER_SFTP_KNOWN_HOSTS to a known_hosts file or COFFER_SFTP_HOST_FINGERPRINT to SHA256:…',
        });
      }
      const privateKey = keyFile === undefined ? undefined : await readSecretFile(keyFile, 'COFFER_SFTP_KEY_FILE');
      return new SftpBackend({
        host: location.host, port: location.port, username: user, path: location.path,
        privateKey, passphrase: nonEmpty(env.COFFER_SFTP_KEY_PASSPHRASE), password,
        hostKey: { knownHosts, fingerprint },
        readyTimeoutMs: o.readyTimeoutMs,
        timeouts: options.timeouts,
      }).open();
    }
  }
}

/**
 * Azure credentials from the standard variables: AZURE_STORAGE_CONNECTION_STRING,
 * AZURE_STORAGE_KEY (with AZURE_STORAGE_ACCOUNT), AZURE_STORAGE_SAS_TOKEN, or
 * COFFER_AZURE_KEY_FILE (a file holding the account key).
 */
async function azureCredentials(account: string, env: Env): Promise<AzureCredentials> {
  const envAccount = nonEmpty(env.AZURE_STORAGE_ACCOUNT);
  if (envAccount !== undefined && envAccount !== account) {
    throw new BadLocation(`AZURE_STORAGE_ACCOUNT (${envAccount}) does not match the URL's account ${account}`);
  }
  const key = nonEmpty(env.AZURE_STORAGE_KEY);
  if (key !== undefined) return { kind: 'shared-key', accountName: account, accountKey: key };
  const keyFile = nonEmpty(env.COFFER_AZURE_KEY_FILE);
  if (keyFile !== undefined) {
    return { kind: 'shared-key', accountName: account, accountKey: (await readSecretFile(keyFile, 'COFFER_AZURE_KEY_FILE')).toString('utf8').trim() };
  }
  const sas = nonEmpty(env.AZURE_STORAGE_SAS_TOKEN);
  if (sas !== undefined) return { kind: 'sas', token: sas };
  const connectionString = nonEmpty(env.AZURE_STORAGE_CONNECTION_STRING);
  if (connectionString !== undefined) return { kind: 'connection-string', connectionString };
  throw new AuthFailed(`no Azure credentials for account ${account}`, {
    hint: 'set AZURE_STORAGE_KEY, AZURE_STORAGE_SAS_TOKEN, AZURE_STORAGE_CONNECTION_STRING or COFFER_AZURE_KEY_FILE',
  });
}

async function readSecretFile(path: string, variable: string): Promise<Buffer> {
  if (!isAbsolute(path)) throw new InvalidInput(`${variable} must be an absolute path`);
  try {
    return await readFile(path);
  } catch {
    // The path is not secret; its content is.
    throw new AuthFailed(`cannot read the file named by ${variable} (${path})`);
  }
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}

/** A URL safe to show: user info dropped. */
function safe(text: string): string {
  return JSON.stringify(text.replace(/\/\/[^/@]*@/, '//…@'));
}
