import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import type { Backend } from '../../activities/storage/backend';
import {
  AlreadyExists, AuthFailed, BadLocation, InvalidRange, NotFound, RetentionLocked, Unsupported,
} from '../../activities/storage/errors';
import { FaultyBackend, seededRandom } from '../../activities/storage/faulty';
import { RetryingBackend, newRetryStats } from '../../activities/storage/retrying';

/**
 * The one storage conformance suite. Every backend runs exactly these tests
 * against its real server; the suite prints
 * `storage-conformance <backend> passed=<n> failed=<n>` when it ends.
 */
export interface ConformanceTarget {
  readonly name: 'local' | 's3' | 'gcs' | 'sftp' | 'azure';
  /** Opens the raw backend (no wrappers) rooted at a fresh prefix, with small listing pages. */
  open(prefix: string): Promise<Backend>;
  /** Opens the same location with wrong credentials; undefined + reason when the server has no auth. */
  openWithWrongCredentials?: (prefix: string) => Promise<Backend>;
  readonly noAuthReason?: string;
  /** Opens a backend whose container/bucket does not exist. */
  openMissingLocation?: (prefix: string) => Promise<Backend>;
  /** Opens a backend on a retention-capable (Object Lock) bucket, if the server has one. */
  openRetention?: (prefix: string) => Promise<Backend>;
  /** Lists leftover files a crashed/aborted save could leave (temp files), bypassing the backend. */
  leftovers?: (prefix: string) => Promise<string[]>;
}

const MiB = 1024 * 1024;

function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

async function collect(iter: AsyncIterable<{ name: string; size: number }>): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for await (const info of iter) {
    assert.ok(!out.has(info.name), `listing returned ${info.name} twice`);
    out.set(info.name, info.size);
  }
  return out;
}

async function inParallel<T>(items: readonly T[], width: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, async () => {
    while (next < items.length) await fn(items[next++]);
  }));
}

export function runConformance(target: ConformanceTarget): void {
  // Developer convenience only: COFFER_CONFORMANCE_ONLY=s3,gcs runs a subset; CI runs all.
  const only = process.env.COFFER_CONFORMANCE_ONLY;
  if (only !== undefined && only !== '' && !only.split(',').includes(target.name)) return;
  const prefix = `conformance-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
  let backend: Backend | undefined;
  let openError: unknown;
  let passed = 0;
  let failed = 0;
  let save64Ms = 200;

  const b = (): Backend => {
    if (backend === undefined) throw openError instanceof Error ? openError : new Error(`could not open ${target.name}`);
    return backend;
  };

  /** A test whose outcome is counted for the summary line. */
  const check = (title: string, fn: () => Promise<void>): void => {
    void it(title, async () => {
      try {
        await fn();
        passed++;
      } catch (err) {
        failed++;
        throw err;
      }
    });
  };

  void describe(`storage conformance: ${target.name}`, () => {
    before(async () => {
      try {
        backend = await target.open(prefix);
      } catch (err) {
        openError = err;
      }
    });

    after(async () => {
      if (backend !== undefined) {
        const names: string[] = [];
        try {
          for await (const info of backend.list('')) names.push(info.name);
          await inParallel(names, 16, async (name) => { await backend?.remove(name).catch(() => undefined); });
        } finally {
          await backend.close();
        }
      }
      process.stdout.write(`storage-conformance ${target.name} passed=${passed} failed=${failed}\n`);
    });

    check('objects of 0 B, 1 B, 5 MiB and 64 MiB round-trip byte-exactly', async () => {
      for (const size of [0, 1, 5 * MiB, 64 * MiB]) {
        const data = randomBytes(size);
        const name = `roundtrip/obj-${size}`;
        const started = performance.now();
        await b().save(name, data);
        if (size === 64 * MiB) save64Ms = performance.now() - started;
        const loaded = await b().load(name);
        assert.equal(loaded.length, size, `${size} B object came back with ${loaded.length} B`);
        assert.equal(sha256(loaded), sha256(data), `${size} B object differs`);
        assert.deepEqual(await b().stat(name), { name, size });
      }
    });

    check('range reads: inside, to the end, clipped past the end, empty at the end, InvalidRange beyond', async () => {
      const data = randomBytes(100_000);
      await b().save('range/obj', data);
      assert.ok((await b().load('range/obj', { offset: 10, length: 1000 })).equals(data.subarray(10, 1010)));
      assert.ok((await b().load('range/obj', { offset: 0, length: 1 })).equals(data.subarray(0, 1)));
      assert.ok((await b().load('range/obj', { offset: 99_000 })).equals(data.subarray(99_000)));
      assert.ok((await b().load('range/obj', { offset: 99_990, length: 500 })).equals(data.subarray(99_990)), 'range past the end is clipped');
      assert.equal((await b().load('range/obj', { offset: 100_000 })).length, 0, 'offset == size gives empty');
      assert.equal((await b().load('range/obj', { offset: 5, length: 0 })).length, 0, 'length 0 gives empty');
      await assert.rejects(b().load('range/obj', { offset: 100_001 }), InvalidRange);
      await assert.rejects(b().load('range/obj', { offset: 200_000, length: 10 }), InvalidRange);
      await assert.rejects(b().load('range/obj', { offset: -1 }), InvalidRange);
      await b().save('range/empty', new Uint8Array(0));
      assert.equal((await b().load('range/empty', { offset: 0 })).length, 0);
      await assert.rejects(b().load('range/empty', { offset: 1 }), InvalidRange);
      await assert.rejects(b().load('range/missing', { offset: 0, length: 10 }), NotFound);
    });

    check('save-if-absent refuses an existing name and leaves its content untouched', async () => {
      const first = randomBytes(4096);
      await b().save('absent/obj', first);
      await assert.rejects(b().save('absent/obj', randomBytes(4096)), AlreadyExists);
      await assert.rejects(b().save('absent/obj', new Uint8Array(0)), AlreadyExists);
      assert.equal(sha256(await b().load('absent/obj')), sha256(first));
    });

    check('a missing object gives NotFound for load and stat', async () => {
      await assert.rejects(b().load('missing/nothing-here'), NotFound);
      await assert.rejects(b().stat('missing/nothing-here'), NotFound);
      await assert.rejects(b().stat('missing'), NotFound);
    });

    check('remove is idempotent', async () => {
      await b().save('remove/obj', randomBytes(10));
      await b().remove('remove/obj');
      await assert.rejects(b().stat('remove/obj'), NotFound);
      await b().remove('remove/obj');
      await b().remove('remove/never-existed');
      await b().save('remove/obj', randomBytes(10)); // the name is free again
    });

    check('invalid object names are refused with BadLocation', async () => {
      for (const name of ['', '../escape', 'a/../../b', '.hidden', 'a//b', '/abs', 'a/', 'sp ace']) {
        await assert.rejects(b().save(name, randomBytes(1)), BadLocation, `name ${JSON.stringify(name)}`);
      }
    });

    check('listing over 1,000 objects paginates completely and honours the prefix', async () => {
      const names = Array.from({ length: 1100 }, (_, i) => `many/${i % 2 === 0 ? 'even' : 'odd'}/obj-${String(i).padStart(5, '0')}`);
      await inParallel(names, 32, async (name) => { await b().save(name, Buffer.from(name)); });
      const all = await collect(b().list('many/'));
      assert.equal(all.size, 1100);
      for (const name of names) assert.equal(all.get(name), Buffer.byteLength(name), `listing lacks ${name}`);
      const even = await collect(b().list('many/even/'));
      assert.equal(even.size, 550);
      const partial = await collect(b().list('many/odd/obj-0000'));
      assert.deepEqual([...partial.keys()].sort(), ['many/odd/obj-00001', 'many/odd/obj-00003', 'many/odd/obj-00005', 'many/odd/obj-00007', 'many/odd/obj-00009']);
      assert.equal((await collect(b().list('nothing-under-this/'))).size, 0);
      const everything = await collect(b().list(''));
      assert.ok(everything.size >= 1100);
      await inParallel(names, 32, async (name) => { await b().remove(name); });
      assert.equal((await collect(b().list('many/'))).size, 0);
    });

    check('8 concurrent saves of one name: exactly one wins, the others get AlreadyExists', async () => {
      const contents = Array.from({ length: 8 }, () => randomBytes(256 * 1024));
      const results = await Promise.allSettled(contents.map((c) => b().save('race/one', c)));
      const winners = results.flatMap((r, i) => (r.status === 'fulfilled' ? [i] : []));
      assert.equal(winners.length, 1, `winners: ${winners.length}`);
      for (const r of results) {
        if (r.status === 'rejected') assert.ok(r.reason instanceof AlreadyExists, `loser failed with ${String(r.reason)}`);
      }
      assert.equal(sha256(await b().load('race/one')), sha256(contents[winners[0]]));
    });

    check('many different names saved in parallel all land', async () => {
      const items = Array.from({ length: 64 }, (_, i) => ({ name: `parallel/p-${i}`, data: randomBytes(1000 + i) }));
      await Promise.all(items.map((x) => b().save(x.name, x.data)));
      const loaded = await Promise.all(items.map((x) => b().load(x.name)));
      loaded.forEach((data, i) => assert.ok(data.equals(items[i].data)));
    });

    check('an upload interrupted midway or aborted leaves no partial object visible', async () => {
      const data = randomBytes(64 * MiB);
      // Interrupt at about half of a measured full upload, so the abort lands mid-transfer.
      const faulty = new FaultyBackend(b(), { rules: [{ method: 'save', fault: { kind: 'interrupt', afterMs: Math.max(5, Math.floor(save64Ms / 4)) } }], seed: 7 });
      await assert.rejects(faulty.save('interrupt/big', data, {}), (err: Error) => /interrupted/.test(err.message));
      const controller = new AbortController();
      const pending = b().save('interrupt/aborted', data, { signal: controller.signal });
      setTimeout(() => controller.abort(new Error('test abort')), Math.max(2, Math.floor(save64Ms / 6)));
      await assert.rejects(pending, /test abort/);
      const pre = new AbortController();
      pre.abort(new Error('aborted before start'));
      await assert.rejects(b().save('interrupt/pre', randomBytes(10), { signal: pre.signal }), /aborted before start/);
      await assert.rejects(b().stat('interrupt/pre'), NotFound);
      // A remote store may still commit an upload whose last bytes were sent as the client gave up (seen with
      // fake-gcs-server on a fast machine): harmless for put-if-absent, content-addressed objects, as long as what
      // is visible is the whole object. A partial one never may be.
      const visible = await collect(b().list('interrupt/'));
      for (const [name, size] of visible) {
        assert.equal(size, data.length, `a partial object is listed: ${name} (${size} of ${data.length} bytes)`);
        assert.ok((await b().load(name)).equals(data), `${name} is listed but is not the uploaded bytes`);
      }
      if (target.leftovers !== undefined) assert.deepEqual(await target.leftovers(prefix), [], 'temporary files left behind');
      // The names are still free unless the whole object landed: a later complete save works.
      if (!visible.has('interrupt/big')) await b().save('interrupt/big', data.subarray(0, MiB));
    });

    check('the retry wrapper rides out 10% transient faults; permanent errors fail fast with one attempt', async () => {
      const faulty = new FaultyBackend(b(), { seed: 42, rules: [{ method: '*', fault: { kind: 'fail' }, rate: 0.1 }] });
      const stats = newRetryStats();
      const retrying = new RetryingBackend(faulty, { random: seededRandom(4242), baseDelayMs: 2, maxDelayMs: 20, maxAttempts: 8, stats });
      const items = Array.from({ length: 60 }, (_, i) => ({ name: `retry/r-${i}`, data: randomBytes(2000 + i) }));
      await inParallel(items, 8, async (x) => {
        await retrying.save(x.name, x.data);
        assert.ok((await retrying.load(x.name)).equals(x.data));
        assert.equal((await retrying.stat(x.name)).size, x.data.length);
      });
      assert.equal((await collect(retrying.list('retry/'))).size, 60);
      await inParallel(items, 8, async (x) => { await retrying.remove(x.name); });
      const injected = Object.values(faulty.stats.injected).reduce((s, n) => s + n, 0);
      assert.ok(injected >= 10, `only ${injected} faults injected`);
      assert.equal(stats.retries, injected, 'every injected fault was retried');
      assert.equal(stats.exhausted, 0);

      const clean = newRetryStats();
      const strict = new RetryingBackend(b(), { stats: clean, baseDelayMs: 1 });
      await assert.rejects(strict.load('retry/never-there'), NotFound);
      assert.equal(clean.attempts, 1, 'NotFound was retried');
      const authFaulty = new FaultyBackend(b(), { rules: [{ method: 'stat', fault: { kind: 'fail', error: () => new AuthFailed('injected') }, nth: [1] }] });
      const auth = newRetryStats();
      await assert.rejects(new RetryingBackend(authFaulty, { stats: auth, baseDelayMs: 1 }).stat('retry/x'), AuthFailed);
      assert.equal(auth.attempts, 1, 'AuthFailed was retried');
    });

    if (target.openWithWrongCredentials !== undefined) {
      const openWrong = target.openWithWrongCredentials;
      check('wrong credentials give AuthFailed', async () => {
        let wrong: Backend | undefined;
        try {
          wrong = await openWrong(prefix);
          await wrong.save('auth/obj', randomBytes(10));
          assert.fail('save with wrong credentials succeeded');
        } catch (err) {
          assert.ok(err instanceof AuthFailed, `got ${String(err)}`);
          assert.doesNotMatch(err.message, /secret|wrong-key|PRIVATE KEY/i, 'the message leaks a credential');
        } finally {
          await wrong?.close();
        }
      });
    }

    if (target.openMissingLocation !== undefined) {
      const openMissing = target.openMissingLocation;
      check('a missing bucket/container gives BadLocation', async () => {
        await assert.rejects(openMissing(prefix), BadLocation);
      });
    }

    if (target.openRetention !== undefined) {
      const openRetention = target.openRetention;
      check('a retention-locked object cannot be removed until its retention ends', async () => {
        const locked = await openRetention(prefix);
        try {
          assert.equal(locked.capabilities.retention, true);
          const data = randomBytes(1000);
          const until = new Date(Date.now() + 4000);
          await locked.save('locked/obj', data, { retainUntil: until });
          await assert.rejects(locked.remove('locked/obj'), RetentionLocked);
          assert.ok((await locked.load('locked/obj')).equals(data), 'locked object changed');
          await new Promise((resolve) => setTimeout(resolve, Math.max(0, until.getTime() - Date.now()) + 1500));
          await locked.remove('locked/obj');
          await assert.rejects(locked.stat('locked/obj'), NotFound);
        } finally {
          await locked.close();
        }
      });
    } else {
      check('retention is refused with Unsupported where the backend cannot lock', async () => {
        assert.equal(b().capabilities.retention, false);
        await assert.rejects(b().save('locked/obj', randomBytes(10), { retainUntil: new Date(Date.now() + 60_000) }), Unsupported);
        await assert.rejects(b().stat('locked/obj'), NotFound);
      });
    }
  });
}
