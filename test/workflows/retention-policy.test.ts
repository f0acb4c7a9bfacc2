/** The GFS retention maths (pure): keep rules, buckets, grouping, refusals. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isoWeek, parseDuration, planRetention, RetentionPolicyError } from '../../workflows/retention-policy';
import type { RetentionSnapshot } from '../../workflows/retention-policy';

let counter = 0;
function snap(time: string, extra: Partial<RetentionSnapshot> = {}): RetentionSnapshot {
  counter += 1;
  return { id: `s${String(counter).padStart(4, '0')}-${time}`, time, host: 'h1', paths: ['/data'], tags: [], ...extra };
}

/** One snapshot per day at 03:00 UTC for `days` days ending on 2024-06-30. */
function daily(days: number, extra: Partial<RetentionSnapshot> = {}): RetentionSnapshot[] {
  const end = Date.UTC(2024, 5, 30, 3);
  return Array.from({ length: days }, (_, i) => snap(new Date(end - i * 86_400_000).toISOString(), extra));
}

void describe('retention policy', () => {
  void test('keepLast keeps the n newest, whatever the input order', () => {
    const snaps = daily(10).reverse();
    const plan = planRetention(snaps, { keepLast: 3 });
    assert.deepEqual(plan.keep, snaps.slice(-3).reverse().map((s) => s.id));
    assert.equal(plan.remove.length, 7);
    assert.deepEqual(plan.groups[0]?.keep.map((d) => d.reasons), [['last'], ['last'], ['last']]);
  });

  void test('daily keeps the newest snapshot of each of the last n days that have one', () => {
    const base = Date.UTC(2024, 0, 10, 0);
    const snaps = [
      snap(new Date(base + 1 * 3_600_000).toISOString()),
      snap(new Date(base + 20 * 3_600_000).toISOString()), // newest of Jan 10
      snap(new Date(base - 10 * 3_600_000).toISOString()), // Jan 9
      snap(new Date(base - 3 * 86_400_000).toISOString()), // Jan 7 (gap days do not count)
      snap(new Date(base - 4 * 86_400_000).toISOString()), // Jan 6
    ];
    const plan = planRetention(snaps, { keepDaily: 3 });
    const kept = plan.groups[0]?.keep.map((d) => d.reasons[0]);
    assert.deepEqual(kept, ['daily 2024-01-10', 'daily 2024-01-09', 'daily 2024-01-07']);
    assert.equal(plan.remove.length, 2);
  });

  void test('GFS: daily 7, weekly 4, monthly 6, yearly 2 over 400 daily snapshots', () => {
    const snaps = daily(400);
    const plan = planRetention(snaps, { keepDaily: 7, keepWeekly: 4, keepMonthly: 6, keepYearly: 2 });
    const group = plan.groups[0];
    assert.ok(group !== undefined);
    const reasons = group.keep.flatMap((d) => d.reasons);
    assert.equal(reasons.filter((r) => r.startsWith('daily')).length, 7);
    assert.equal(reasons.filter((r) => r.startsWith('weekly')).length, 4);
    assert.equal(reasons.filter((r) => r.startsWith('monthly')).length, 6);
    assert.equal(reasons.filter((r) => r.startsWith('yearly')).length, 2);
    // Newest snapshot is kept by every rule; the yearly rule reaches into 2023 (2023-12-31).
    assert.deepEqual(group.keep[0]?.reasons, ['daily 2024-06-30', 'weekly 2024-W26', 'monthly 2024-06', 'yearly 2024']);
    assert.ok(group.keep.some((d) => d.reasons.includes('yearly 2023') && d.time.startsWith('2023-12-31')));
    // Distinct kept snapshots: 7 daily + weekly beyond the first week + month-ends beyond June + 2023-12-31.
    assert.equal(plan.keep.length + plan.remove.length, 400);
    assert.ok(plan.keep.length >= 14 && plan.keep.length <= 19, `kept ${plan.keep.length}`);
  });

  void test('hourly buckets by UTC hour', () => {
    const snaps = [snap('2024-03-01T10:05:00Z'), snap('2024-03-01T10:55:00Z'), snap('2024-03-01T09:59:59Z'), snap('2024-03-01T08:00:00Z')];
    const plan = planRetention(snaps, { keepHourly: 2 });
    assert.deepEqual(plan.groups[0]?.keep.map((d) => d.time), ['2024-03-01T10:55:00Z', '2024-03-01T09:59:59Z']);
  });

  void test('ISO weeks: the year of the week is that of its Thursday', () => {
    assert.deepEqual(isoWeek(new Date('2021-01-03T12:00:00Z')), { year: 2020, week: 53 });
    assert.deepEqual(isoWeek(new Date('2024-12-30T00:00:00Z')), { year: 2025, week: 1 });
    assert.deepEqual(isoWeek(new Date('2024-06-30T03:00:00Z')), { year: 2024, week: 26 });
  });

  void test('keepWithin is measured from the group newest snapshot, not from now', () => {
    const snaps = daily(30);
    const plan = planRetention(snaps, { keepWithin: '1w' });
    assert.equal(plan.keep.length, 8); // days 0..7 inclusive of the 7-day window edge
    assert.ok(plan.groups[0]?.keep.every((d) => d.reasons.includes('within 1w')));
  });

  void test('keepTags keeps tagged snapshots regardless of age', () => {
    const snaps = daily(10);
    const tagged = snap('2020-01-01T00:00:00Z', { tags: ['keep', 'audit'] });
    const plan = planRetention([...snaps, tagged], { keepLast: 1, keepTags: ['audit'] });
    assert.ok(plan.keep.includes(tagged.id));
    assert.equal(plan.keep.length, 2);
  });

  void test('groups by host and paths: each group decided alone', () => {
    const a = daily(5, { host: 'alpha' });
    const b = daily(5, { host: 'beta' });
    const c = daily(5, { host: 'alpha', paths: ['/etc'] });
    const plan = planRetention([...a, ...b, ...c], { keepLast: 2 });
    assert.equal(plan.groups.length, 3);
    assert.equal(plan.keep.length, 6);
    assert.deepEqual(plan.groups.map((g) => g.key), ['host=alpha paths=/data', 'host=alpha paths=/etc', 'host=beta paths=/data']);
    const byHostOnly = planRetention([...a, ...b, ...c], { keepLast: 2, groupBy: ['host'] });
    assert.equal(byHostOnly.groups.length, 2);
  });

  void test('a group the policy would empty is refused and removes nothing', () => {
    const tagged = daily(3, { host: 'alpha', tags: ['keep'] });
    const untagged = daily(3, { host: 'beta' });
    const plan = planRetention([...tagged, ...untagged], { keepTags: ['keep'] });
    assert.deepEqual(plan.refusedGroups, ['host=beta paths=/data']);
    assert.equal(plan.groups.find((g) => g.refused)?.remove.length, 3);
    assert.ok(untagged.every((s) => !plan.remove.includes(s.id)));
  });

  void test('policies that keep nothing or are malformed are rejected', () => {
    assert.throws(() => planRetention(daily(3), {}), RetentionPolicyError);
    assert.throws(() => planRetention(daily(3), { keepLast: 0 }), RetentionPolicyError);
    assert.throws(() => planRetention(daily(3), { keepDaily: -1 }), RetentionPolicyError);
    assert.throws(() => planRetention(daily(3), { keepLast: 1.5 }), RetentionPolicyError);
    assert.throws(() => planRetention(daily(3), { keepWithin: '3 days' }), RetentionPolicyError);
    assert.throws(() => planRetention([snap('not a time')], { keepLast: 1 }), RetentionPolicyError);
  });

  void test('durations', () => {
    assert.equal(parseDuration('12h'), 12 * 3_600_000);
    assert.equal(parseDuration('1y6m'), (365 + 180) * 86_400_000);
    assert.equal(parseDuration('2w3d'), 17 * 86_400_000);
  });

  void test('an empty repository yields an empty plan', () => {
    const plan = planRetention([], { keepLast: 1 });
    assert.deepEqual(plan, { groups: [], keep: [], remove: [], refusedGroups: [] });
  });
});
