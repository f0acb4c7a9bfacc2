import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { BlobServiceClient, RestError } from '@azure/storage-blob';
import { stackVar } from '../helpers/stack';

void test('@azure/storage-blob uploads and downloads a blob on the stack\'s Azurite', async () => {
  const service = BlobServiceClient.fromConnectionString(stackVar('AZURE_STORAGE_CONNECTION_STRING'), { retryOptions: { maxTries: 1 } });
  const blob = service.getContainerClient(stackVar('COFFER_AZURE_CONTAINER')).getBlockBlobClient(`smoke/${randomUUID()}`);
  const body = randomBytes(48 * 1024);
  try {
    await blob.uploadData(body);
    const downloaded = await blob.downloadToBuffer();
    assert.ok(downloaded.equals(body));
    // Put-if-absent: a conditional second upload is refused with 409.
    await assert.rejects(
      blob.uploadData(Buffer.from('other'), { conditions: { ifNoneMatch: '*' } }),
      (error: unknown) => error instanceof RestError && error.statusCode === 409,
    );
  } finally {
    await blob.deleteIfExists();
  }
});
