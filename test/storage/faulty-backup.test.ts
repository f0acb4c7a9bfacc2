/**
 * Issue 4's done condition: a 200 MiB backup through the fault-injecting
 * wrapper at 10% transient faults (half failing before the call reaches the
 * server, half losing the response after it did), wrapped by the retrying
 * wrapper exactly as openBackend stacks them, completes, verifies read-data
 * clean and restores byte-identical; on local disk and on MinIO (the stack's
 * S3; the test fails if the stack is down).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createCipheriv, createHash } from 'node:crypto';
import { mkdtemp, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { KDF_CHEAP_FOR_TESTS } from '../../activities/crypto/kdf';
import { createEngine } from '../../activities/engine';
import type { Backend } from '../../activities/storage/backend';
import { FaultyBackend } from '../../activities/storage/faulty';
import { newRetryStats, RetryingBackend } from '../../activities/storage/retrying';
import { openBackend } from '../../activities/storage/url';
import { stackEnv } from '../helpers/stack';

const MiB = 1024 * 1024;
const TOTAL = 200 * MiB;
const PASS = { passphrase: 'faulty backup passphrase' } as const;

/** Seeded pseudo-random bytes (AES-256-CTR keystream): fast and reproducible. */
function seededBytes(size: number, seed: number): Buffer {
  const key = createHash('sha256').update(`coffer faulty-backup seed ${seed}`).digest();
  return createCipheriv('aes-256-ctr', key, Buffer.alloc(16)).update(Buffer.alloc(size));
}

/** Compressible, log-like text built from a seeded vocabulary. */
function seededText(size: number, seed: number): Buffer {
  const noise = seededBytes(size / 4, seed);
  const words = ['backup', 'restore', 'chunk', 'pack', 'index', 'snapshot', 'verify', 'error', 'ok', 'latency', 'bytes', 'host'];
  const parts: string[] = [];
  let length = 0;
  for (let i = 0; length < size; i++) {
    const line = `2026-03-01T12:${String(noise[i % noise.length] % 60).padStart(2, '0')}:00Z ${words[noise[(i * 7) % noise.length] % words.length]} id=${noise.readUInt32LE((i * 4) % (noise.length - 4))} ${words[i % words.length]}\n`;
    parts.push(line);
    length += line.length;
  }
  return Buffer.from(parts.join(''), 'utf8').subarray(0, size);
}

/** 200 MiB: large random files, compressible text, a duplicate region (dedup), many small files. */
async function makeDataset(root: string): Promise<void> {
  const big = seededBytes(64 * MiB, 1);
  await mkdir(join(root, 'big'), { recursive: true });
  await writeFile(join(root, 'big', 'random-1.bin'), big);
  await writeFile(join(root, 'big', 'random-2.bin'), seededBytes(48 * MiB, 2));
  await writeFile(join(root, 'big', 'duplicate-of-part.bin'), big.subarray(8 * MiB, 24 * MiB));
  await mkdir(join(root, 'logs'), { recursive: true });
  for (let i = 0; i < 4; i++) await writeFile(join(root, 'logs', `app-${i}.log`), seededText(10 * MiB, 10 + i));
  // 32 MiB in 1,024 small files of 32 KiB, half random, half text.
  for (let d = 0; d < 16; d++) {
    const dir = join(root, 'small', `d${d}`);
    await mkdir(dir, { recursive: true });
    for (let f = 0; f < 64; f++) {
      const n = d * 64 + f;
      await writeFile(join(dir, `f${f}.dat`), n % 2 === 0 ? seededBytes(32 * 1024, 1000 + n) : seededText(32 * 1024, 1000 + n));
    }
  }
  const used = 64 * MiB + 48 * MiB + 16 * MiB + 40 * MiB + 32 * MiB;
  await writeFile(join(root, 'rest.bin'), seededBytes(TOTAL - used, 3));
}

/** Path → SHA-256 of every regular file under a directory (an independent check of the restore). */
async function hashTree(root: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) await walk(path);
      else if (entry.isFile()) out.set(relative(root, path), createHash('sha256').update(await readFile(path)).digest('hex'));
    }
  };
  await walk(root);
  return out;
}

async function removeAll(backend: Backend): Promise<void> {
  const names: string[] = [];
  for await (const o of backend.list('')) names.push(o.name);
  for (const name of names) await backend.remove(name);
}

interface Target {
  readonly name: string;
  open(prefix: string): Promise<Backend>;
}

const localRoot = { dir: '' };
const targets: Target[] = [
  {
    name: 'local',
    open: async (prefix) => {
      localRoot.dir ||= await mkdtemp(join(tmpdir(), 'coffer-faulty-repo-'));
      return openBackend(`local:${join(localRoot.dir, prefix)}`, { retry: false }, {});
    },
  },
  {
    name: 's3',
    open: async (prefix) => {
      const env = stackEnv(); // throws when the stack is down: the test fails, never skips
      return openBackend(`s3://${env.COFFER_S3_BUCKET}/faulty-backup/${prefix}`, { retry: false }, env);
    },
  },
];

void describe('200 MiB backup through 10% transient faults', () => {
  for (const target of targets) {
    void it(`completes, verifies and restores byte-identical on ${target.name}`, { timeout: 10 * 60_000 }, async () => {
      const work = await mkdtemp(join(tmpdir(), 'coffer-faulty-backup-'));
      const source = join(work, 'source');
      const restored = join(work, 'restored');
      const raw = await target.open(`run-${Date.now()}-${process.pid}`);
      try {
        await makeDataset(source);
        // Stacked as openBackend does (retrying outermost), with the faults between it and the server.
        const faulty = new FaultyBackend(raw, {
          seed: 4,
          rules: [
            { method: '*', rate: 0.05, fault: { kind: 'fail' } },
            { method: '*', rate: 0.05, fault: { kind: 'fail-after' } },
          ],
        });
        const retryStats = newRetryStats();
        const backend = new RetryingBackend(faulty, { stats: retryStats, maxAttempts: 8 });

        const started = Date.now();
        const engine = createEngine();
        const repo = await engine.init(backend, PASS, { packSize: 16 * MiB, kdf: KDF_CHEAP_FOR_TESTS });
        const snapshot = await repo.backup({ paths: [source], host: 'faulty-test' });
        assert.equal(snapshot.stats.bytes, TOTAL);
        assert.equal(snapshot.stats.errors, 0);
        await repo.close();

        const reopened = await engine.open(backend, PASS);
        const report = await reopened.verify({ level: 'read-data' });
        assert.deepEqual(report.findings, [], 'read-data verification is clean');
        assert.ok(report.bytesRead > 100 * MiB, `verify read ${report.bytesRead} bytes`);

        await reopened.restore({ snapshot: snapshot.id, target: restored });
        assert.deepEqual((await reopened.compare({ snapshot: snapshot.id, target: restored })).differences, []);
        await reopened.close();
        const expected = await hashTree(source);
        const actual = await hashTree(join(restored, 'source'));
        assert.equal(actual.size, expected.size);
        assert.deepEqual(actual, expected, 'every restored file hashes like its source');

        const faults = Object.values(faulty.stats.injected).reduce((a, b) => a + b, 0);
        const calls = Object.values(faulty.stats.calls).reduce((a, b) => a + b, 0);
        assert.ok(faults >= calls * 0.05, `faults ${faults} of ${calls} calls`);
        assert.ok(retryStats.retries >= faults * 0.5, `retries ${retryStats.retries}`);
        assert.equal(retryStats.exhausted, 0);
        console.log(`faulty-backup ${target.name} size=200MiB faults=${faults} retries=${retryStats.retries} ok (calls=${calls}, ${((Date.now() - started) / 1000).toFixed(1)} s)`);
      } finally {
        await removeAll(raw).catch(() => undefined);
        await raw.close();
        await rm(work, { recursive: true, force: true });
        if (localRoot.dir !== '') await rm(localRoot.dir, { recursive: true, force: true });
      }
    });
  }
});
