import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import { TaskPool } from '../../../activities/engine/restore/task-pool';

void describe('TaskPool.enqueue', () => {
  void it('runs queued tasks in order, never more than the limit at once, and drain waits for all of them', async () => {
    const pool = new TaskPool(2, new AbortController());
    const started: number[] = [];
    let running = 0;
    let peak = 0;
    for (let i = 0; i < 7; i++) {
      pool.enqueue(async () => {
        started.push(i);
        running++;
        peak = Math.max(peak, running);
        await sleep(5);
        running--;
      });
    }
    // enqueue returned at once although only two could start.
    assert.deepEqual(started, [0, 1]);
    await pool.drain();
    assert.deepEqual(started, [0, 1, 2, 3, 4, 5, 6]);
    assert.equal(peak, 2);
  });

  void it('after a failure nothing queued starts, the shared signal is aborted and drain rethrows the failure', async () => {
    const controller = new AbortController();
    const pool = new TaskPool(1, controller);
    const started: number[] = [];
    pool.enqueue(async () => {
      started.push(0);
      await sleep(1);
      throw new Error('first failed');
    });
    for (let i = 1; i < 4; i++) pool.enqueue(async () => void started.push(i));
    await assert.rejects(pool.drain(), /first failed/);
    assert.deepEqual(started, [0]);
    assert.equal(controller.signal.aborted, true);
  });

  void it('cancel drops what is queued and waits for what runs', async () => {
    const pool = new TaskPool(1, new AbortController());
    let finished = false;
    let queuedRan = false;
    pool.enqueue(async () => {
      await sleep(10);
      finished = true;
    });
    pool.enqueue(async () => {
      queuedRan = true;
    });
    await pool.cancel(new Error('stop'));
    assert.equal(finished, true);
    assert.equal(queuedRan, false);
  });
});
