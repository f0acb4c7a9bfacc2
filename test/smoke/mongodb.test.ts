import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { MongoClient } from 'mongodb';
import { stackVar } from '../helpers/stack';

void test('mongodb driver inserts and finds documents on the stack\'s FerretDB', async () => {
  const client = new MongoClient(stackVar('COFFER_MONGODB_URL'), { serverSelectionTimeoutMS: 5000 });
  const collectionName = `smoke_${randomUUID().replace(/-/g, '')}`;
  try {
    await client.connect();
    const collection = client.db().collection<{ _id: string; size: number; tags: string[] }>(collectionName);
    await collection.insertMany([
      { _id: 'a', size: 10, tags: ['x'] },
      { _id: 'b', size: 20, tags: ['x', 'y'] },
      { _id: 'c', size: 30, tags: ['y'] },
    ]);
    const found = await collection.find({ size: { $gte: 20 } }).sort({ size: 1 }).toArray();
    assert.deepEqual(found.map((doc) => doc._id), ['b', 'c']);
    assert.deepEqual(await collection.findOne({ tags: 'x', size: 10 }), { _id: 'a', size: 10, tags: ['x'] });
    await assert.rejects(collection.insertOne({ _id: 'a', size: 1, tags: [] }), /duplicate key/i);
  } finally {
    await client.db().collection(collectionName).drop().catch(() => undefined);
    await client.close();
  }
});
