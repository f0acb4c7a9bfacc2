/** The local stack contract: fixed loopback ports and test credentials (see COMMON.md / README "Local stack"). */
export const HOST = '127.0.0.1';

export const PORTS = {
  temporal: 7233,
  temporalUi: 8233,
  mongodb: 27017,
  minio: 9000,
  minioConsole: 9001,
  gcs: 4443,
  sftp: 2222,
  azurite: 10000,
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
