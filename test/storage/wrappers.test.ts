import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryBackend } from '../../activities/storage/memory';
import { LocalBackend } from '../../activities/storage/local';
import { FaultyBackend, seededRandom } from '../../activities/storage/faulty';
import { RetryingBackend, newRetryStats } from '../../activities/storage/retrying';
import { ThrottledBackend } from '../../activities/storage/throttled';
import { probeBackend } from '../../activities/storage/probe';
import { crc32cBase64 } from '../../activities/storage/crc32c';
import { AlreadyExists, NotFound, RetentionLocked, Transient, Unreachable } from '../../activities/storage/errors';

void describe('storage wrappers', () => {
  void it('retrying: backs off on Transient/Unreachable, gives up after maxAttempts, never retries permanent errors', async () => {
    const inner = new MemoryBackend();
    await inner.save('a', Buffer.from('1'));
    const faulty = new FaultyBackend(inner, { rules: [
      { method: 'load', fault: { kind: 'fail' }, nth: [1, 2] },
      { method: 'stat', fault: { kind: 'fail', error: () => new Unreachable('down') } },
    ] });
    const stats = newRetryStats();
    const delays: number[] = [];
    const retrying = new RetryingBackend(faulty, { maxAttempts: 4, baseDelayMs: 10, random: () => 0.999, stats, onRetry: (i) => delays.push(i.delayMs) });
    assert.equal((await retrying.load('a')).toString(), '1');
    assert.deepEqual(delays, [9, 19], 'full jitter scaled by a doubling cap');
    await assert.rejects(retrying.stat('a'), Unreachable);
    assert.equal(stats.exhausted, 1);
    assert.equal(stats.attempts, 3 + 4);
    const before = stats.attempts;
    await assert.rejects(retrying.load('missing'), NotFound);
    assert.equal(stats.attempts - before, 1);
  });

  void it('retrying: a save whose response was lost succeeds when the stored bytes are ours', async () => {
    const inner = new MemoryBackend();
    const faulty = new FaultyBackend(inner, { rules: [{ method: 'save', fault: { kind: 'fail-after' }, nth: [1] }] });
    const retrying = new RetryingBackend(faulty, { baseDelayMs: 1 });
    await retrying.save('x', Buffer.from('mine'));
    assert.equal((await inner.load('x')).toString(), 'mine');
    // Different bytes under the name are still a real conflict.
    const faulty2 = new FaultyBackend(inner, { rules: [{ method: 'save', fault: { kind: 'fail' }, nth: [1] }] });
    await assert.rejects(new RetryingBackend(faulty2, { baseDelayMs: 1 }).save('x', Buffer.from('other')), AlreadyExists);
  });

  void it('retrying: an abort during backoff rejects with the signal reason', async () => {
    const faulty = new FaultyBackend(new MemoryBackend(), { rules: [{ method: 'stat', fault: { kind: 'fail' } }] });
    const controller = new AbortController();
    const retrying = new RetryingBackend(faulty, { baseDelayMs: 10_000, maxDelayMs: 10_000, random: () => 0.99 });
    setTimeout(() => controller.abort(new Error('stop')), 20);
    const started = Date.now();
    await assert.rejects(retrying.stat('x', { signal: controller.signal }), /stop/);
    assert.ok(Date.now() - started < 2000);
  });

  void it('retrying: a listing broken midway restarts without duplicates', async () => {
    const inner = new MemoryBackend();
    for (let i = 0; i < 30; i++) await inner.save(`n/${i}`, Buffer.from([i]));
    const faulty = new FaultyBackend(inner, { rules: [{ method: 'list', fault: { kind: 'fail-after' }, nth: [1] }] });
    const names: string[] = [];
    for await (const info of new RetryingBackend(faulty, { baseDelayMs: 1 }).list('n/')) names.push(info.name);
    assert.equal(names.length, 30);
    assert.equal(new Set(names).size, 30);
  });

  void it('faulty: truncation and bit flips are reproducible from the seed', async () => {
    const inner = new MemoryBackend();
    const data = Buffer.alloc(1000, 7);
    await inner.save('d', data);
    const make = (): FaultyBackend => new FaultyBackend(inner, { seed: 99, rules: [
      { method: 'load', fault: { kind: 'flip', bits: 3 }, nth: [1] },
      { method: 'load', fault: { kind: 'truncate', keep: 10 }, nth: [2] },
      { method: 'load', fault: { kind: 'delay', ms: 30 }, nth: [3] },
    ] });
    const a = make();
    const b = make();
    const flippedA = await a.load('d');
    const flippedB = await b.load('d');
    assert.ok(flippedA.equals(flippedB));
    assert.ok(!flippedA.equals(data));
    assert.equal(flippedA.length, 1000);
    assert.equal((await a.load('d')).length, 10);
    const started = performance.now();
    assert.ok((await a.load('d')).equals(data));
    assert.ok(performance.now() - started >= 25);
    assert.deepEqual(a.stats.injected.load, 3);
    const rate = new FaultyBackend(inner, { seed: 5, rules: [{ method: 'stat', fault: { kind: 'fail' }, rate: 0.1 }] });
    let failures = 0;
    for (let i = 0; i < 2000; i++) await rate.stat('d').catch((err: unknown) => { if (err instanceof Transient) failures++; });
    assert.ok(failures > 140 && failures < 260, `${failures} failures at a 10% rate`);
    assert.ok(seededRandom(1)() === seededRandom(1)());
  });

  void it('throttled: holds uploads and downloads to the configured rate', async () => {
    const inner = new MemoryBackend();
    const throttled = new ThrottledBackend(inner, { upBytesPerSecond: 1_000_000, downBytesPerSecond: 2_000_000, burstSeconds: 0.1 });
    const started = performance.now();
    for (let i = 0; i < 5; i++) await throttled.save(`t/${i}`, Buffer.alloc(100_000));
    const upMs = performance.now() - started;
    assert.ok(upMs >= 350 && upMs < 1500, `500 kB at 1 MB/s (100 kB burst) took ${upMs} ms`);
    const t1 = performance.now();
    for (let i = 0; i < 5; i++) await throttled.load(`t/${i}`);
    const downMs = performance.now() - t1;
    assert.ok(downMs >= 150 && downMs < 1000, `500 kB at 2 MB/s took ${downMs} ms`);
  });

  void it('memory backend enforces retention against its clock', async () => {
    let now = new Date('2030-01-01T00:00:00Z');
    const mem = new MemoryBackend({ now: () => now });
    await mem.save('l', Buffer.from('x'), { retainUntil: new Date('2030-01-02T00:00:00Z') });
    await assert.rejects(mem.remove('l'), RetentionLocked);
    now = new Date('2030-01-03T00:00:00Z');
    await mem.remove('l');
    await assert.rejects(mem.stat('l'), NotFound);
  });

  void it('crc32c matches the standard check value', () => {
    assert.equal(Buffer.from(crc32cBase64(Buffer.from('123456789')), 'base64').readUInt32BE(), 0xe3069283);
    assert.equal(crc32cBase64(Buffer.alloc(0)), 'AAAAAA==');
  });

  void it('probe reports a healthy local backend and cleans up after itself', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'coffer-probe-'));
    try {
      const backend = new LocalBackend({ root: dir });
      const result = await probeBackend(backend, { largeBytes: 8 * 1024 * 1024 });
      assert.equal(result.ok, true, JSON.stringify(result.checks));
      assert.equal(result.supports.refusesOverwrite, true);
      assert.equal(result.supports.atomicCreate, true);
      assert.equal(result.supports.retention, 'unsupported');
      assert.ok(result.checks.length >= 8);
      assert.ok(result.throughput !== undefined && result.throughput.upMBps > 0);
      const left: string[] = [];
      for await (const info of backend.list('')) left.push(info.name);
      assert.deepEqual(left, []);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  void it('probe verifies retention on a backend that has it', async () => {
    const result = await probeBackend(new MemoryBackend(), { largeBytes: 1024 * 1024, retentionSeconds: 1 });
    assert.equal(result.ok, true, JSON.stringify(result.checks));
    assert.equal(result.supports.retention, 'verified');
  });
});
