/**
 * Encrypted payloads: the codec itself (round trip, key rotation, unknown key
 * ids and tampering refused, key file handling), the history of a real
 * workflow holding only ciphertext (inputs, results and failure messages),
 * and the codec server the Temporal UI calls.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { defaultPayloadConverter } from '@temporalio/common';
import type { Payload } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { createCodecServer } from '../../workers/codec-server';
import { EncryptionCodec, createKeyFile, loadKeyFile } from '../../workers/codec';
import { CodecKeyFileInvalid, CodecKeyUnknown, CodecPayloadCorrupt } from '../../workers/errors';
import { failureCode, startHarness, TEST_INIT_OPTIONS } from './harness';
import type { Harness } from './harness';
import { fetchAllRuns } from './histories';

void describe('payload codec', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'coffer-codec-'));
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  void test('round trip, key id in metadata, rotation, unknown key and tampering refused', async () => {
    const oldKeys = createKeyFile(join(dir, 'old.key'));
    const newKeys = createKeyFile(join(dir, 'new.key'));
    assert.equal((await stat(join(dir, 'old.key'))).mode & 0o777, 0o600);
    const oldCodec = new EncryptionCodec(oldKeys);
    const payload = defaultPayloadConverter.toPayload({ path: '/home/alice/secret-plans' });
    const [encoded] = await oldCodec.encode([payload]);
    assert.ok(encoded !== undefined);
    assert.equal(Buffer.from(encoded.metadata?.['encryption-key-id'] ?? []).toString(), oldKeys[0]?.id);
    assert.ok(!Buffer.from(encoded.data ?? []).includes('secret-plans'));
    const [decoded] = await oldCodec.decode([encoded]);
    assert.deepEqual(defaultPayloadConverter.fromPayload(decoded), { path: '/home/alice/secret-plans' });

    // Rotation: the new key encrypts, the old one still decrypts.
    const rotated = new EncryptionCodec([...newKeys, ...oldKeys]);
    assert.equal(rotated.activeKeyId, newKeys[0]?.id);
    assert.deepEqual(defaultPayloadConverter.fromPayload((await rotated.decode([encoded]))[0]), { path: '/home/alice/secret-plans' });

    await assert.rejects(new EncryptionCodec(newKeys).decode([encoded]), (err: unknown) => {
      assert.ok(err instanceof CodecKeyUnknown);
      assert.match(err.message, new RegExp(oldKeys[0]?.id ?? 'x'));
      return true;
    });
    const tampered = { ...encoded, data: Buffer.from(encoded.data ?? []) };
    (tampered.data as Buffer)[20] = ((tampered.data as Buffer)[20]) ^ 1;
    await assert.rejects(oldCodec.decode([tampered]), CodecPayloadCorrupt);
    // Unencrypted payloads (written before encryption was on) pass through.
    assert.deepEqual(await oldCodec.decode([payload]), [payload]);
  });

  void test('key files: created once and reused, malformed or missing ones refused', async () => {
    const file = join(dir, 'dev.key');
    const first = loadKeyFile(file, true);
    const second = loadKeyFile(file, true);
    assert.deepEqual(second, first);
    await writeFile(join(dir, 'bad.key'), 'k1 not-base64-of-32-bytes\n');
    assert.throws(() => loadKeyFile(join(dir, 'bad.key'), false), CodecKeyFileInvalid);
    assert.throws(() => loadKeyFile(join(dir, 'absent.key'), false), CodecKeyFileInvalid);
    await writeFile(join(dir, 'two.key'), `# comment\nk-new ${randomBytes(32).toString('base64')}\nk-old ${randomBytes(32).toString('base64')}\n`);
    assert.deepEqual(loadKeyFile(join(dir, 'two.key'), false).map((k) => k.id), ['k-new', 'k-old']);
  });
});

void describe('encrypted history and the codec server', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(async () => h.close());

  void test('a workflow history holds only ciphertext; the codec (and its HTTP server) decodes it', async () => {
    const marker = `coffer-marker-${randomBytes(6).toString('hex')}`;
    const repo = join(h.tmp, `repo-${marker}`);
    await h.run('initRepositoryWorkflow', { repo, options: TEST_INIT_OPTIONS });
    // A restore refused because its target is not empty: the failure message names the target, so it must be encrypted too.
    const source = join(h.tmp, 'src');
    await mkdir(source);
    await writeFile(join(source, 'file.txt'), 'content');
    await h.run('backupWorkflow', { repo, paths: [source], host: h.host, hostQueue: h.hostQueue });
    const target = join(h.tmp, `target-${marker}`);
    await mkdir(target);
    await writeFile(join(target, 'occupant'), 'x');
    const { handle, result } = await h.start('restoreWorkflow', { repo, target, host: h.host, hostQueue: h.hostQueue });
    await assert.rejects(result, (err: unknown) => {
      assert.equal(failureCode(err), 'COFFER-E404');
      assert.match(String((err as { cause?: Error }).cause?.message), new RegExp(marker)); // readable once decoded by the client
      return true;
    });
    const { handle: okHandle, result: okResult } = await h.start('verifyWorkflow', { repo });
    await okResult;

    for (const wf of [handle, okHandle]) {
      const [run] = await fetchAllRuns(h.client, wf.workflowId, wf.firstExecutionRunId);
      assert.ok(run !== undefined);
      const raw = Buffer.from(temporal.api.history.v1.History.encode(run.history).finish());
      for (const needle of [marker, Buffer.from(marker).toString('base64').slice(0, 12), h.tmp]) {
        assert.equal(raw.includes(needle), false, `history of ${wf.workflowId} exposes ${needle}`);
      }
      const input = run.history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0] as Payload;
      assert.equal(Buffer.from(input.metadata?.encoding ?? []).toString(), 'binary/encrypted');
      const [plain] = await h.codec.decode([input]);
      assert.equal(defaultPayloadConverter.fromPayload<{ repo: string }>(plain).repo, repo);
    }

    // The codec server decodes the same payload for the UI, with CORS for the UI's origin only.
    const server = createCodecServer({ codec: h.codec, allowedOrigins: ['http://127.0.0.1:8233'] });
    await new Promise<void>((resolveListen) => server.listen(0, '127.0.0.1', resolveListen));
    try {
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const [run] = await fetchAllRuns(h.client, handle.workflowId, handle.firstExecutionRunId);
      const input = run?.history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0] as Payload;
      const body = JSON.stringify({
        payloads: [{ metadata: Object.fromEntries(Object.entries(input.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v ?? []).toString('base64')])), data: Buffer.from(input.data ?? []).toString('base64') }],
      });
      const decoded = await fetch(`${base}/decode`, { method: 'POST', headers: { 'content-type': 'application/json', origin: 'http://127.0.0.1:8233' }, body });
      assert.equal(decoded.status, 200);
      assert.equal(decoded.headers.get('access-control-allow-origin'), 'http://127.0.0.1:8233');
      const json = (await decoded.json()) as { payloads: { metadata: Record<string, string>; data: string }[] };
      assert.ok(Buffer.from(json.payloads[0]?.data ?? '', 'base64').toString().includes(marker));
      assert.equal(Buffer.from(json.payloads[0]?.metadata.encoding ?? '', 'base64').toString(), 'json/plain');

      const preflight = await fetch(`${base}/decode`, { method: 'OPTIONS', headers: { origin: 'http://127.0.0.1:8233', 'access-control-request-method': 'POST' } });
      assert.equal(preflight.status, 204);
      assert.match(preflight.headers.get('access-control-allow-headers') ?? '', /x-namespace/);
      const foreign = await fetch(`${base}/decode`, { method: 'POST', headers: { 'content-type': 'application/json', origin: 'http://evil.example' }, body });
      assert.equal(foreign.headers.get('access-control-allow-origin'), null);

      const other = new EncryptionCodec([{ id: 'someone-else', key: randomBytes(32) }]);
      const [foreignPayload] = await other.encode([defaultPayloadConverter.toPayload('x')]);
      const unknown = await fetch(`${base}/decode`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ payloads: [{ metadata: Object.fromEntries(Object.entries(foreignPayload?.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v ?? []).toString('base64')])), data: Buffer.from(foreignPayload?.data ?? []).toString('base64') }] }),
      });
      assert.equal(unknown.status, 400);
      assert.match(await unknown.text(), /someone-else/);
    } finally {
      server.close();
    }
  });
});
