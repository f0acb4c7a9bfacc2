/**
 * Scenario 7 (last) — no secret leaks.
 *
 * A child-process worker with a unique random passphrase runs init, backup,
 * restore, verify, key rotation, a second restore and a refused restore (an
 * error path). Then every place a secret could leak is searched for:
 *   secrets   the passphrase; the payload codec's key; the repository's
 *             keyring — chunk-id, chunker-seed and audit-MAC keys and every
 *             epoch's data and metadata keys, captured before AND after the
 *             rotation — as raw bytes, hex (both cases), base64 and base64url;
 *   haystacks every workflow history of this run's task queue plus up to 300
 *             other recent histories of the namespace (raw protobuf bytes,
 *             and every payload decoded through the codec), the worker's
 *             stdout/stderr, the stack's server logs, every document of every
 *             database in FerretDB, and every object in the repository.
 * runs = haystacks scanned, ok = clean ones, lost = ones holding a secret.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { MongoClient } from 'mongodb';
import type { Payload } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { CofferRepository } from '../../activities/engine/repository';
import { LocalBackend } from '../../activities/storage/local';
import { loadKeyFile } from '../../workers/codec';
import type { BackupResult } from '../../workflows/backup';
import type { RestoreOutput } from '../../workflows/restore';
import type { RotateKeysResult } from '../../workflows/rotate-keys';
import { startHarness, TEST_INIT_OPTIONS } from '../e2e/harness';
import type { Harness } from '../e2e/harness';
import { stackVar } from '../helpers/stack';
import { spawnWorker } from './child-worker';
import type { ChildWorker } from './child-worker';
import { ChaosReport } from './report';
import { chaosEngine, describeError, writeDataset } from './helpers';

const SCENARIO = 'secrets-scan';
const ROOT = resolve(__dirname, '..', '..');
const OTHER_HISTORIES = 300;
const report = new ChaosReport();
report.declare(SCENARIO);

interface Needle {
  readonly what: string;
  readonly bytes: Buffer;
}

/** Every encoding a secret could be written in. */
function needlesOf(what: string, secret: Buffer): Needle[] {
  const forms: [string, string | Buffer][] = [
    ['raw', secret],
    ['hex', secret.toString('hex')],
    ['HEX', secret.toString('hex').toUpperCase()],
    ['base64', secret.toString('base64').replace(/=+$/, '')],
    ['base64url', secret.toString('base64url')],
  ];
  return forms.map(([form, v]) => ({ what: `${what} (${form})`, bytes: Buffer.isBuffer(v) ? v : Buffer.from(v, 'utf8') }));
}

function hits(haystack: Buffer, needles: readonly Needle[]): string[] {
  return needles.filter((n) => haystack.includes(n.bytes)).map((n) => n.what);
}

/** Every Payload-shaped object inside a decoded history. */
function payloadsIn(value: unknown, out: Payload[] = [], depth = 0): Payload[] {
  if (value === null || typeof value !== 'object' || depth > 40) return out;
  if (value instanceof Uint8Array) return out;
  const v = value as Record<string, unknown>;
  if (v.data instanceof Uint8Array && typeof v.metadata === 'object' && v.metadata !== null) out.push(v);
  for (const child of Object.values(v)) payloadsIn(child, out, depth + 1);
  return out;
}

void describe('chaos: secrets never reach histories, logs, catalog documents or storage in clear', () => {
  let h: Harness;
  let worker: ChildWorker | undefined;
  const passphrase = `chaos-secret-${randomBytes(12).toString('hex')}`;
  const needles: Needle[] = [];
  let logFile: string;
  let repo: string;

  before(async () => {
    // With a catalog: the worker records every job (runs, snapshots, audit entries, key epochs) for the scan below.
    h = await startHarness({ workers: false, catalog: true });
    logFile = join(h.tmp, 'worker.log');
    repo = join(h.tmp, 'repo');
  });

  after(async () => {
    await worker?.kill();
    await h.close();
  });

  /** The repository's keys as the worker's passphrase unlocks them right now. */
  async function captureRepositoryKeys(label: string): Promise<void> {
    const opened = await chaosEngine().open(new LocalBackend({ root: repo }), { passphrase });
    try {
      assert.ok(opened instanceof CofferRepository);
      const k = opened.core.keyring;
      needles.push(...needlesOf(`${label} chunk-id key`, k.chunkIdKey), ...needlesOf(`${label} chunker seed`, k.chunkerSeed), ...needlesOf(`${label} audit MAC key`, k.auditMacKey));
      for (const epoch of k.epochNumbers) {
        needles.push(...needlesOf(`${label} epoch ${epoch} data key`, k.dataKey(epoch)), ...needlesOf(`${label} epoch ${epoch} metadata key`, k.metadataKey(epoch)));
      }
    } finally {
      await opened.close();
    }
  }

  void it('runs the jobs, then finds no secret anywhere', { timeout: 20 * 60_000 }, async () => {
    const source = join(h.tmp, 'source');
    await writeDataset(source, 7101, { files: 40, minSize: 1000, maxSize: 200_000, dirs: 3 });
    // The passphrase also sits in a file inside the backed-up tree: it must reach storage only encrypted.
    await writeFile(join(source, 'notes.txt'), `the passphrase is ${passphrase}\n`);
    worker = spawnWorker(h.childEnv({ COFFER_PASSWORD: passphrase, COFFER_ENGINE_BATCH_FILES: '10' }), logFile);
    await worker.ready;
    const hostInput = { host: h.host, hostQueue: h.hostQueue };
    await h.run('initRepositoryWorkflow', { repo, options: TEST_INIT_OPTIONS });
    const backup = await h.run<BackupResult>('backupWorkflow', { repo, paths: [source], ...hostInput });
    await captureRepositoryKeys('before rotation');
    const target = join(h.tmp, 'restored');
    await h.run<RestoreOutput>('restoreWorkflow', { repo, snapshot: backup.snapshot.id, target, ...hostInput });
    await h.run('verifyWorkflow', { repo, level: 'read-data' });
    await h.run<RotateKeysResult>('rotateKeysWorkflow', { repo, packsPerBatch: 2 });
    await captureRepositoryKeys('after rotation');
    await h.run<RestoreOutput>('restoreWorkflow', { repo, target: join(h.tmp, 'restored-2'), ...hostInput });
    // An error path: a non-empty target is refused; the failure travels through history too.
    await assert.rejects(h.run('restoreWorkflow', { repo, target, ...hostInput }));
    await worker.kill('SIGTERM');
    worker = undefined;

    needles.push(...needlesOf('passphrase', Buffer.from(passphrase, 'utf8')));
    for (const k of loadKeyFile(h.codecKeyFile, false)) needles.push(...needlesOf(`codec key ${k.id}`, k.key));

    // Positive controls: the scanner does find a planted secret in each encoding.
    assert.deepEqual(hits(await readFile(join(source, 'notes.txt')), needles), ['passphrase (raw)']);
    const codecKey = loadKeyFile(h.codecKeyFile, false)[0].key;
    assert.ok(hits(Buffer.from(`{"k":"${codecKey.toString('base64')}"}`), needles).length > 0);
    assert.ok(hits(Buffer.from(codecKey.toString('hex').toUpperCase()), needles).length > 0);

    const problems: string[] = [];
    const scan = (where: string, bytes: Buffer, kind: string): void => {
      const found = hits(bytes, needles);
      report.count(SCENARIO, `scanned-${kind}`);
      if (found.length > 0) problems.push(`${where}: ${found.join(', ')}`);
      report.run(SCENARIO, found.length > 0 ? 'lost' : 'ok');
    };

    // Workflow histories: this run's queue, then other recent ones of the namespace.
    const own = new Set<string>();
    for await (const wf of h.client.workflow.list({ query: `TaskQueue = "${h.taskQueue}"` })) own.add(`${wf.workflowId}/${wf.runId}`);
    assert.ok(own.size >= 7, `expected this run's workflows in visibility, found ${own.size}`);
    const others: string[] = [];
    for await (const wf of h.client.workflow.list()) {
      if (others.length >= OTHER_HISTORIES) break;
      const key = `${wf.workflowId}/${wf.runId}`;
      if (!own.has(key)) others.push(key);
    }
    for (const key of [...own, ...others]) {
      const slash = key.lastIndexOf('/');
      const handle = h.client.workflow.getHandle(key.slice(0, slash), key.slice(slash + 1));
      let history;
      try {
        history = await handle.fetchHistory();
      } catch (err) {
        if (!own.has(key)) continue; // another test's workflow may be deleted meanwhile
        throw new Error(`cannot fetch history of ${key}: ${describeError(err)}`);
      }
      const raw = Buffer.from(temporal.api.history.v1.History.encode(history).finish());
      const decoded: Buffer[] = [];
      if (own.has(key)) {
        // Decoded through the codec: what the UI with the codec server shows.
        for (const payload of await h.codec.decode(payloadsIn(history))) decoded.push(Buffer.from(payload.data ?? new Uint8Array()));
      }
      scan(`history ${key}`, Buffer.concat([raw, ...decoded]), own.has(key) ? 'own-histories' : 'other-histories');
    }

    // Logs: the worker's output and the stack's server logs.
    scan(`worker log ${logFile}`, await readFile(logFile), 'logs');
    const logDirs = [join(ROOT, '.data', 'logs'), join(ROOT, '.data')];
    for (const dir of logDirs) {
      for (const name of await readdir(dir).catch(() => [] as string[])) {
        if (!name.endsWith('.log')) continue;
        const path = join(dir, name);
        if ((await stat(path)).size > 512 * 1024 * 1024) continue;
        scan(`stack log ${path}`, await readFile(path), 'logs');
      }
    }

    // Catalog: every document of every database.
    const mongo = new MongoClient(stackVar('COFFER_MONGODB_URL'), { serverSelectionTimeoutMS: 5000 });
    await mongo.connect();
    try {
      const { databases } = await mongo.db().admin().listDatabases();
      report.detail(SCENARIO, 'catalog-databases', databases.length);
      const own = h.catalog?.dbName;
      assert.ok(own !== undefined && databases.some((d) => d.name === own), `the worker's catalog database ${own ?? '?'} exists`);
      const runs = await mongo.db(own).collection('runs').countDocuments();
      report.detail(SCENARIO, 'catalog-runs-recorded', runs);
      assert.ok(runs >= 5, `the jobs of this test are in the catalog (${runs} runs)`);
      for (const { name } of databases) {
        const db = mongo.db(name);
        for (const { name: coll } of await db.listCollections().toArray()) {
          const docs = await db.collection(coll).find({}).toArray();
          scan(`catalog ${name}.${coll} (${docs.length} documents)`, Buffer.from(JSON.stringify(docs), 'utf8'), 'catalog-collections');
        }
      }
    } finally {
      await mongo.close();
    }

    // The repository: key files hold the keyring only wrapped; everything else is sealed.
    const backend = new LocalBackend({ root: repo });
    for await (const o of backend.list('')) scan(`repository object ${o.name}`, await backend.load(o.name), 'repository-objects');
    await backend.close();

    report.detail(SCENARIO, 'needles', needles.length);
    assert.deepEqual(problems, []);
    assert.equal(report.figures(SCENARIO).lost, 0);
  });
});
