/**
 * TLS settings for Temporal connections (worker and CLI alike), read from the
 * files the configuration names.
 */
import { readFileSync } from 'node:fs';
import type { TLSConfig } from '@temporalio/client';
import type { TemporalConfig } from './config';
import { ConfigInvalid } from './errors';

function readPem(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new ConfigInvalid(`cannot read the ${what} ${path}`, { cause: err, hint: 'check the TEMPORAL_TLS_* paths and permissions' });
  }
}

/** undefined: plain TCP; true: TLS with the system roots; an object: custom certificates. */
export function tlsOptions(config: Pick<TemporalConfig, 'tls'>): TLSConfig | boolean | undefined {
  const tls = config.tls;
  if (tls === undefined) return undefined;
  const custom: TLSConfig = {
    ...(tls.serverName === undefined ? {} : { serverNameOverride: tls.serverName }),
    ...(tls.serverCaCertPath === undefined ? {} : { serverRootCACertificate: readPem(tls.serverCaCertPath, 'server CA certificate') }),
    ...(tls.clientCertPath === undefined || tls.clientKeyPath === undefined
      ? {}
      : { clientCertPair: { crt: readPem(tls.clientCertPath, 'client certificate'), key: readPem(tls.clientKeyPath, 'client key') } }),
  };
  return Object.keys(custom).length === 0 ? true : custom;
}
