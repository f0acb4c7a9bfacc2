import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { Storage } from '@google-cloud/storage';
import { stackVar } from '../helpers/stack';

void test('@google-cloud/storage saves and downloads a file on the stack\'s fake-gcs-server', async () => {
  const storage = new Storage({ apiEndpoint: stackVar('COFFER_GCS_ENDPOINT'), projectId: 'test', retryOptions: { autoRetry: false } });
  const file = storage.bucket(stackVar('COFFER_GCS_BUCKET')).file(`smoke/${randomUUID()}`);
  const body = randomBytes(32 * 1024);
  try {
    await file.save(body, { resumable: false, contentType: 'application/octet-stream' });
    const [downloaded] = await file.download();
    assert.ok(downloaded.equals(body));
    const [metadata] = await file.getMetadata();
    assert.equal(Number(metadata.size), body.length);
  } finally {
    await file.delete({ ignoreNotFound: true });
  }
});
