/** The local stack contract: fixed loopback ports and test credentials (see COMMON.md / README "Local stack"). */
export const HOST = '127.0.0.1';

/**
 * COFFER_STACK_PORT_OFFSET shifts every port so a second clone on the same
 * machine (CI) can run its own stack beside a developer's; tests only read
 * the env file, so they follow. 0 gives the documented ports.
 */
function portOffset(): number {
  const raw = process.env.COFFER_STACK_PORT_OFFSET ?? '0';
  const offset = Number(raw);
  if (!Number.isInteger(offset) || offset < 0 || offset > 30000) {
    // Read when the stack script loads, before its error handler exists: a user mistake gets one line, not a trace.
    console.error(`stack: COFFER_STACK_PORT_OFFSET must be an integer from 0 to 30000, not '${raw}'`);
    process.exit(2);
  }
  return offset;
}

export const PORT_OFFSET = portOffset();
const OFFSET = PORT_OFFSET;

export const PORTS = {
  temporal: 7233 + OFFSET,
  temporalUi: 8233 + OFFSET,
  mongodb: 27017 + OFFSET,
  minio: 9000 + OFFSET,
  minioConsole: 9001 + OFFSET,
  gcs: 4443 + OFFSET,
  sftp: 2222 + OFFSET,
  azurite: 10000 + OFFSET,
} as const;

export const TEMPORAL_NAMESPACE = 'default';
export const MONGODB_DATABASE = 'coffer';

export const S3_REGION = 'us-east-1';
export const S3_BUCKET = 'coffer';
export const S3_LOCK_BUCKET = 'coffer-locked';
/** Test-only credentials for the local MinIO; never used anywhere real. */
export const S3_ACCESS_KEY = 'coffer-test';
export const S3_SECRET_KEY = 'coffer-test-secret';

export const GCS_BUCKET = 'coffer';
export const GCS_PROJECT = 'test';

export const AZURE_ACCOUNT = 'devstoreaccount1';
/** Azurite's well-known development key (public, documented by Microsoft). */
export const AZURE_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';
export const AZURE_CONTAINER = 'coffer';
export const AZURE_ENDPOINT = `http://${HOST}:${PORTS.azurite}/${AZURE_ACCOUNT}`;
export const AZURE_CONNECTION_STRING =
  `DefaultEndpointsProtocol=http;AccountName=${AZURE_ACCOUNT};AccountKey=${AZURE_KEY};BlobEndpoint=${AZURE_ENDPOINT};`;
