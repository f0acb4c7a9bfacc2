import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { DeleteObjectCommand, GetObjectCommand, GetObjectLockConfigurationCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { stackVar } from '../helpers/stack';

function s3(): S3Client {
  return new S3Client({
    endpoint: stackVar('COFFER_S3_ENDPOINT'),
    region: stackVar('COFFER_S3_REGION'),
    forcePathStyle: true,
    credentials: { accessKeyId: stackVar('AWS_ACCESS_KEY_ID'), secretAccessKey: stackVar('AWS_SECRET_ACCESS_KEY') },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

void test('@aws-sdk/client-s3 puts and gets an object on the stack\'s MinIO', async () => {
  const client = s3();
  const bucket = stackVar('COFFER_S3_BUCKET');
  const key = `smoke/${randomUUID()}`;
  const body = randomBytes(64 * 1024);
  try {
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
    const got = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    assert.ok(Buffer.from(await got.Body!.transformToByteArray()).equals(body));
    // Put-if-absent: the second write of the same key is refused.
    await assert.rejects(
      client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: 'other', IfNoneMatch: '*' })),
      (error: Error) => error.name === 'PreconditionFailed',
    );
  } finally {
    await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
    client.destroy();
  }
});

void test('the stack\'s object-lock bucket has object lock enabled', async () => {
  const client = s3();
  try {
    const config = await client.send(new GetObjectLockConfigurationCommand({ Bucket: stackVar('COFFER_S3_LOCK_BUCKET') }));
    assert.equal(config.ObjectLockConfiguration?.ObjectLockEnabled, 'Enabled');
  } finally {
    client.destroy();
  }
});
