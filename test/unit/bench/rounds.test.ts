import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { medianRun, rotated, roundsFromEnv } from '../../../scripts/bench/rounds';

describe('benchmark rounds', () => {
  it('rotates the order so every tool leads once', () => {
    const tools = ['coffer', 'restic', 'borg'];
    assert.deepEqual(rotated(tools, 0), ['coffer', 'restic', 'borg']);
    assert.deepEqual(rotated(tools, 1), ['restic', 'borg', 'coffer']);
    assert.deepEqual(rotated(tools, 2), ['borg', 'coffer', 'restic']);
    assert.deepEqual(rotated(tools, 3), tools);
    assert.deepEqual(rotated([], 2), []);
  });

  it('reports the median run, the highest peak RSS and every run', () => {
    const r = medianRun([
      { seconds: 5.2, peakRssKiB: 500, detail: { opSeconds: 4.9 } },
      { seconds: 4.1, peakRssKiB: 620, detail: { opSeconds: 3.8 } },
      { seconds: 4.6, peakRssKiB: 510, detail: { opSeconds: 4.3 } },
    ]);
    assert.equal(r.seconds, 4.6);
    assert.equal(r.peakRssKiB, 620);
    assert.deepEqual(r.detail, { opSeconds: 4.3, runSeconds: [5.2, 4.1, 4.6] });
  });

  it('takes the slower middle run for an even count, and copes with unmeasured RSS', () => {
    const r = medianRun([{ seconds: 3, peakRssKiB: undefined }, { seconds: 1, peakRssKiB: undefined }]);
    assert.equal(r.seconds, 3);
    assert.equal(r.peakRssKiB, undefined);
    assert.throws(() => medianRun([]), RangeError);
  });

  it('reads COFFER_BENCH_ROUNDS, refusing nonsense', () => {
    assert.equal(roundsFromEnv({}), 3);
    assert.equal(roundsFromEnv({ COFFER_BENCH_ROUNDS: '1' }), 1);
    assert.equal(roundsFromEnv({ COFFER_BENCH_ROUNDS: '5' }), 5);
    for (const bad of ['0', '-1', '2.5', 'x', '21']) assert.throws(() => roundsFromEnv({ COFFER_BENCH_ROUNDS: bad }), RangeError);
  });
});
