/**
 * Scenario 4 — the network to storage misbehaves.
 *
 * scripts/chaos/fault-proxy.ts sits between Coffer and the stack's real
 * servers: MinIO (S3) behind a TCP-level proxy (resets, truncated streams,
 * stalls) and behind an HTTP-level proxy (503 SlowDown, resets, responses
 * lost after the request executed, truncated bodies, stalls); sshd (SFTP)
 * behind the TCP proxy. Through the retrying wrapper (openBackend's default)
 * a ~50 MiB dataset is backed up, restored and verified (read-data) over the
 * faulty link. A run is ok when the restore is byte-identical to the hash
 * manifest and verify is clean; the retries it took are counted.
 *
 * Default rate 10%; COFFER_CHAOS_HEAVY=1 adds runs at 5% and 20%.
 * A last test cuts the link dead (no FIN, no RST) and expects a storage call
 * to fail by itself, retryably, instead of hanging the job.
 */
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startFaultProxy } from '../../scripts/chaos/fault-proxy';
import type { FaultProxy } from '../../scripts/chaos/fault-proxy';
import type { Backend } from '../../activities/storage/backend';
import { CofferError } from '../../activities/errors';
import { newRetryStats } from '../../activities/storage/retrying';
import { openBackend } from '../../activities/storage/url';
import { KDF_CHEAP_FOR_TESTS } from '../../activities/crypto/kdf';
import { stackEnv, stackVar } from '../helpers/stack';
import { ChaosReport } from './report';
import { PASS, chaosEngine, describeError, manifestDiff, manifestOf, removeDir, tempDir, writeDataset } from './helpers';
import type { Manifest } from './helpers';

const SCENARIO = 'faulty-storage';
const HEAVY = process.env.COFFER_CHAOS_HEAVY === '1';
const DATA_MIB = Number(process.env.COFFER_CHAOS_FAULT_MIB ?? 50);
const DEAD_PEER_MS = Number(process.env.COFFER_CHAOS_DEAD_PEER_MS ?? 45_000);
/** A run whose storage traffic stops this long is stuck (a call that never settles), not slow. */
const STUCK_MS = 60_000;

/**
 * Rejects once the proxy has relayed less than 64 KiB in STUCK_MS: the job is
 * stuck on a call that never settles. (Lock lease renewals, a few hundred
 * bytes every few seconds, go on even then: they do not count as progress.)
 */
function watchdog(proxy: FaultProxy, what: string): { promise: Promise<never>; stop(): void } {
  let mark = 0;
  let markedAt = Date.now();
  let timer: NodeJS.Timeout | undefined;
  const promise = new Promise<never>((_, reject) => {
    timer = setInterval(() => {
      const now = proxy.stats.bytesRelayed;
      if (now - mark >= 64 * 1024) {
        mark = now;
        markedAt = Date.now();
      } else if (Date.now() - markedAt > STUCK_MS) {
        reject(new Error(`${what}: under 64 KiB of storage traffic in ${STUCK_MS / 1000} s after faults ${JSON.stringify(proxy.stats.injected)}: a storage call never settled`));
      }
    }, 1000);
  });
  return { promise, stop: () => clearInterval(timer) };
}

interface Run {
  readonly name: string;
  readonly backend: 's3' | 'sftp';
  readonly mode: 'tcp' | 'http';
  readonly rate: number;
}

const RUNS: Run[] = [
  { name: 's3-tcp-10%', backend: 's3', mode: 'tcp', rate: 0.1 },
  { name: 's3-http-10%', backend: 's3', mode: 'http', rate: 0.1 },
  { name: 'sftp-tcp-10%', backend: 'sftp', mode: 'tcp', rate: 0.1 },
];
if (HEAVY) {
  for (const rate of [0.05, 0.2]) {
    RUNS.push({ name: `s3-tcp-${Math.round(rate * 100)}%`, backend: 's3', mode: 'tcp', rate });
    RUNS.push({ name: `s3-http-${Math.round(rate * 100)}%`, backend: 's3', mode: 'http', rate });
    RUNS.push({ name: `sftp-tcp-${Math.round(rate * 100)}%`, backend: 'sftp', mode: 'tcp', rate });
  }
}

const report = new ChaosReport();
report.declare(SCENARIO);

void describe('chaos: backup, restore and verify through a fault-injecting proxy', () => {
  let work: string;
  let src: string;
  let manifest: Manifest;
  let knownHosts: string;
  const prefixes: { backend: 's3' | 'sftp'; prefix: string }[] = [];

  before(async () => {
    work = await tempDir('faulty');
    src = join(work, 'source');
    // ~50 MiB: large random files (multi-chunk, several packs) and many small text files.
    const big = Math.max(1, Math.round((DATA_MIB * 0.75) / 4.5));
    await writeDataset(join(src, 'big'), 401, { files: big, minSize: 3 * 1024 * 1024, maxSize: 6 * 1024 * 1024, dirs: 1, textShare: 0.2 });
    await writeDataset(join(src, 'small'), 402, { files: Math.round(DATA_MIB * 3), minSize: 10_000, maxSize: 150_000, dirs: 4, textShare: 0.5 });
    manifest = await manifestOf(src);
    knownHosts = join(work, 'known_hosts');
  });

  after(async () => {
    for (const { backend, prefix } of prefixes) {
      try {
        if (backend === 'sftp') await removeDir(join(stackVar('COFFER_SFTP_ROOT'), prefix));
        else await removeAll(await openBackend(`s3://${stackVar('COFFER_S3_BUCKET')}/${prefix}`, { retry: {} }, stackEnv()));
      } catch (err) {
        console.error(`faulty-storage: cleanup of ${prefix} failed: ${describeError(err)}`);
      }
    }
    await removeDir(work);
  });

  async function removeAll(backend: Backend): Promise<void> {
    try {
      const names: string[] = [];
      for await (const o of backend.list('')) names.push(o.name);
      for (const n of names) await backend.remove(n);
    } finally {
      await backend.close();
    }
  }

  /** Opens the backend through the proxy (injection off while connecting: openBackend's probe is not retried). */
  async function openThrough(run: Run, proxy: FaultProxy, prefix: string, stats: ReturnType<typeof newRetryStats>): Promise<Backend> {
    const retry = { stats, maxAttempts: 10, baseDelayMs: 50, maxDelayMs: 2000 };
    if (run.backend === 's3') {
      return openBackend(`s3://${stackVar('COFFER_S3_BUCKET')}/${prefix}`, { retry, s3: { endpoint: `http://127.0.0.1:${proxy.port}` } }, stackEnv());
    }
    // The pinned host key, listed for the proxy's port.
    const line = (await readFile(stackVar('COFFER_SFTP_KNOWN_HOSTS'), 'utf8')).replace(/\[127\.0\.0\.1\]:\d+/g, `[127.0.0.1]:${proxy.port}`);
    await writeFile(knownHosts, line);
    const url = `sftp://${stackVar('COFFER_SFTP_USER')}@127.0.0.1:${proxy.port}${stackVar('COFFER_SFTP_ROOT')}/${prefix}`;
    return openBackend(url, { retry, sftp: { knownHostsFile: knownHosts } }, stackEnv());
  }

  function targetOf(run: Run): { host: string; port: number } {
    if (run.backend === 's3') {
      const u = new URL(stackVar('COFFER_S3_ENDPOINT'));
      return { host: u.hostname, port: Number(u.port) };
    }
    return { host: stackVar('COFFER_SFTP_HOST'), port: Number(stackVar('COFFER_SFTP_PORT')) };
  }

  for (const [i, run] of RUNS.entries()) {
    void it(`${run.name}: ~${DATA_MIB} MiB backed up, restored byte-identical and verified clean`, { timeout: 15 * 60_000 }, async () => {
      const proxy = await startFaultProxy({ mode: run.mode, target: targetOf(run), rate: 0, seed: 4000 + i, stallMs: [100, 1500] });
      const prefix = `chaos-faulty-${process.pid}-${Date.now()}-${i}`;
      prefixes.push({ backend: run.backend, prefix });
      const stats = newRetryStats();
      const target = join(work, `restore-${i}`);
      let outcome: 'ok' | 'lost' | 'other' = 'other';
      const stuck = watchdog(proxy, run.name);
      const closers: (() => Promise<void>)[] = [];
      try {
        await Promise.race([stuck.promise, (async () => {
        const backend = await openThrough(run, proxy, prefix, stats);
        closers.push(() => backend.close());
        proxy.setRate(run.rate);
        const started = Date.now();
        const engine = chaosEngine({ cpuWorkers: 1 });
        const repo = await engine.init(backend, PASS, { averageChunkSize: 256 * 1024, packSize: 2 * 1024 * 1024, kdf: KDF_CHEAP_FOR_TESTS });
        closers.push(() => repo.close());
        let snapId: string;
        try {
          const snap = await repo.backup({ paths: [src], host: 'chaos' });
          snapId = snap.id;
          assert.equal(snap.stats.errors, 0);
        } finally {
          await repo.close();
        }
        // A fresh open, as another process would: everything below reads through the faults too.
        const again = await engine.open(backend, PASS);
        closers.push(() => again.close());
        let findings: number;
        try {
          await again.restore({ snapshot: snapId, target });
          const diff = manifestDiff(manifest, await manifestOf(join(target, basename(src))));
          const verified = await again.verify({ level: 'read-data' });
          findings = verified.findings.length;
          outcome = diff.length === 0 && findings === 0 ? 'ok' : 'lost';
          assert.deepEqual(diff.slice(0, 10), [], 'restore is byte-identical');
          assert.deepEqual(verified.findings, [], 'verify read-data is clean');
        } finally {
          await again.close();
          await backend.close();
        }
        const injected = Object.entries(proxy.stats.injected).filter(([, n]) => n > 0).map(([k, n]) => `${k}:${n}`).join(',');
        report.detail(SCENARIO, `${run.name}.retries`, stats.retries);
        report.detail(SCENARIO, `${run.name}.injected`, injected === '' ? 'none' : injected);
        report.detail(SCENARIO, `${run.name}.seconds`, Math.round((Date.now() - started) / 1000));
        report.count(SCENARIO, 'retries', stats.retries);
        assert.ok(Object.values(proxy.stats.injected).reduce((a, b) => a + b, 0) > 0, 'the proxy did inject faults');
        assert.ok(stats.retries > 0, 'the retrying wrapper did retry');
        })()]);
      } catch (err) {
        if (outcome === 'other') report.detail(SCENARIO, `${run.name}.error`, JSON.stringify(describeError(err).slice(0, 160)));
        throw err;
      } finally {
        stuck.stop();
        report.run(SCENARIO, outcome);
        await proxy.close();
        // Idempotent closes; bounded, since a stuck run may never let them finish.
        for (const close of closers.reverse()) await Promise.race([close().catch(() => undefined), new Promise((r) => setTimeout(r, 2000).unref())]);
        await removeDir(target);
      }
    });
  }

  for (const backendKind of ['s3', 'sftp'] as const) {
    void it(`${backendKind}: a dead link (no FIN, no RST) fails a storage call within ${DEAD_PEER_MS / 1000} s, retryably, instead of hanging`, { timeout: DEAD_PEER_MS + 60_000 }, async () => {
      const run: Run = { name: `${backendKind}-dead`, backend: backendKind, mode: 'tcp', rate: 0 };
      const proxy = await startFaultProxy({ mode: 'tcp', target: targetOf(run), rate: 0, seed: 9 });
      const prefix = `chaos-dead-${process.pid}-${Date.now()}`;
      prefixes.push({ backend: backendKind, prefix });
      const backend = await openThrough(run, proxy, prefix, newRetryStats());
      try {
        await backend.save('probe', Buffer.from('alive'));
        proxy.freeze();
        const started = Date.now();
        const outcome = await Promise.race([
          backend.stat('probe', {}).then(() => 'answered', (err: unknown) => err),
          new Promise((resolve) => setTimeout(() => resolve('hung'), DEAD_PEER_MS).unref()),
        ]);
        assert.notEqual(outcome, 'hung', `${backendKind} call still pending after ${DEAD_PEER_MS} ms on a dead link: no idle/request timeout`);
        assert.ok(outcome instanceof CofferError && outcome.retryable, `expected a retryable storage error, got ${describeError(outcome)}`);
        report.detail(SCENARIO, `${backendKind}.dead-link-failed-after-ms`, Date.now() - started);
      } finally {
        await proxy.close();
        await Promise.race([backend.close(), new Promise((r) => setTimeout(r, 2000).unref())]);
      }
    });
  }
});
