import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BlobServiceClient } from '@azure/storage-blob';
import { AZURE_ACCOUNT, AZURE_CONNECTION_STRING, AZURE_CONTAINER, AZURE_ENDPOINT, AZURE_KEY, HOST, PORTS } from '../contract';
import { NODE_BIN, ROOT, serviceDataDir } from '../paths';
import type { Service } from './service';

const dataDir = serviceDataDir('azurite');

function azuriteVersion(): string {
  try {
    const manifest = JSON.parse(readFileSync(join(ROOT, 'node_modules', 'azurite', 'package.json'), 'utf8')) as { version: string };
    return manifest.version;
  } catch {
    return 'not installed';
  }
}

function client(): BlobServiceClient {
  return BlobServiceClient.fromConnectionString(AZURE_CONNECTION_STRING, { retryOptions: { maxTries: 1, tryTimeoutInMs: 2000 } });
}

export const azurite: Service = {
  name: 'azurite',
  address: AZURE_ENDPOINT,
  version: azuriteVersion(),
  identity: dataDir,
  ports: [PORTS.azurite],
  async prepare() {
    mkdirSync(dataDir, { recursive: true });
  },
  command() {
    return {
      file: join(NODE_BIN, 'azurite-blob'),
      args: [
        '--blobHost', HOST, '--blobPort', String(PORTS.azurite), '--location', dataDir,
        '--skipApiVersionCheck', '--disableTelemetry', '--silent', '--loose',
      ],
    };
  },
  async probe() {
    await client().listContainers().next();
  },
  async setup() {
    await client().getContainerClient(AZURE_CONTAINER).createIfNotExists();
  },
  env() {
    return {
      COFFER_AZURE_ENDPOINT: AZURE_ENDPOINT,
      AZURE_STORAGE_ACCOUNT: AZURE_ACCOUNT,
      AZURE_STORAGE_KEY: AZURE_KEY,
      AZURE_STORAGE_CONNECTION_STRING: AZURE_CONNECTION_STRING,
      COFFER_AZURE_CONTAINER: AZURE_CONTAINER,
    };
  },
};
