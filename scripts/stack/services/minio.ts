import { mkdirSync } from 'node:fs';
import { CreateBucketCommand, ListBucketsCommand, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { HOST, PORTS, S3_ACCESS_KEY, S3_BUCKET, S3_LOCK_BUCKET, S3_REGION, S3_SECRET_KEY } from '../contract';
import { MINIO, linkedPath } from '../install/go-tools';
import { serviceDataDir } from '../paths';
import type { Service } from './service';

const dataDir = serviceDataDir('minio');
const endpoint = `http://${HOST}:${PORTS.minio}`;

function client(): S3Client {
  return new S3Client({
    endpoint,
    region: S3_REGION,
    forcePathStyle: true,
    credentials: { accessKeyId: S3_ACCESS_KEY, secretAccessKey: S3_SECRET_KEY },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    maxAttempts: 1,
  });
}

async function createBucket(s3: S3Client, name: string, objectLock: boolean): Promise<void> {
  try {
    await s3.send(new CreateBucketCommand({ Bucket: name, ObjectLockEnabledForBucket: objectLock || undefined }));
  } catch (error) {
    const exists = error instanceof S3ServiceException && (error.name === 'BucketAlreadyOwnedByYou' || error.name === 'BucketAlreadyExists');
    if (!exists) throw error;
  }
}

export const minio: Service = {
  name: 'minio',
  address: `${endpoint} (console :${PORTS.minioConsole})`,
  // The module pseudo-version's date and commit identify the MinIO revision.
  version: `${MINIO.version.split('-')[1].slice(0, 8)} (${MINIO.version.split('-')[2]})`,
  identity: dataDir,
  ports: [PORTS.minio, PORTS.minioConsole],
  async prepare() {
    mkdirSync(dataDir, { recursive: true });
  },
  command() {
    return {
      file: linkedPath(MINIO),
      args: ['server', dataDir, '--address', `${HOST}:${PORTS.minio}`, '--console-address', `${HOST}:${PORTS.minioConsole}`, '--quiet'],
      env: {
        ...process.env,
        MINIO_ROOT_USER: S3_ACCESS_KEY,
        MINIO_ROOT_PASSWORD: S3_SECRET_KEY,
        MINIO_UPDATE: 'off',
        MINIO_BROWSER_REDIRECT: 'off',
      },
    };
  },
  async probe() {
    const s3 = client();
    try {
      await s3.send(new ListBucketsCommand({}));
    } finally {
      s3.destroy();
    }
  },
  async setup() {
    const s3 = client();
    try {
      await createBucket(s3, S3_BUCKET, false);
      await createBucket(s3, S3_LOCK_BUCKET, true);
    } finally {
      s3.destroy();
    }
  },
  env() {
    return {
      COFFER_S3_ENDPOINT: endpoint,
      COFFER_S3_REGION: S3_REGION,
      COFFER_S3_BUCKET: S3_BUCKET,
      COFFER_S3_LOCK_BUCKET: S3_LOCK_BUCKET,
      AWS_ACCESS_KEY_ID: S3_ACCESS_KEY,
      AWS_SECRET_ACCESS_KEY: S3_SECRET_KEY,
    };
  },
};
