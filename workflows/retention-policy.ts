/**
 * Grandfather-father-son retention maths. Pure and deterministic: given the
 * snapshots and a policy, decide which to keep and why. Used by
 * retentionWorkflow (and shown as the dry-run plan).
 *
 * Semantics (close to restic's `forget`):
 * - snapshots are grouped (default by host + sorted paths) and each group is
 *   decided on its own, newest first;
 * - keepLast n keeps the n newest;
 * - keepHourly/Daily/Weekly/Monthly/Yearly n keep the newest snapshot of each
 *   of the n most recent hours/days/ISO weeks/months/years that have one
 *   (calendar buckets in UTC);
 * - keepWithin d keeps everything taken within d of the group's newest
 *   snapshot (not of "now", so a host that stopped backing up keeps its last
 *   window);
 * - keepTags keeps snapshots carrying any of the tags;
 * - a policy with no rule at all, or one that would remove every snapshot of
 *   a group, is refused.
 */
export interface RetentionPolicy {
  readonly keepLast?: number;
  readonly keepHourly?: number;
  readonly keepDaily?: number;
  readonly keepWeekly?: number;
  readonly keepMonthly?: number;
  readonly keepYearly?: number;
  /** Duration such as '30d', '2w', '1y6m', '12h' (y=365d, m=30d, w=7d, d, h). */
  readonly keepWithin?: string;
  readonly keepTags?: readonly string[];
  /** Grouping keys (default ['host', 'paths']). */
  readonly groupBy?: readonly ('host' | 'paths' | 'tags')[];
}

export interface RetentionSnapshot {
  readonly id: string;
  readonly time: string;
  readonly host: string;
  readonly paths: readonly string[];
  readonly tags: readonly string[];
}

export interface Decision {
  readonly id: string;
  readonly time: string;
  /** Why it is kept (e.g. 'last', 'daily 2024-05-01', 'within 30d', 'tag:keep'); empty when removed. */
  readonly reasons: readonly string[];
}

export interface GroupPlan {
  readonly key: string;
  readonly keep: readonly Decision[];
  readonly remove: readonly Decision[];
  /** True when the policy would remove every snapshot of the group (the plan is refused). */
  readonly refused: boolean;
}

export interface RetentionPlan {
  readonly groups: readonly GroupPlan[];
  readonly keep: readonly string[];
  readonly remove: readonly string[];
  readonly refusedGroups: readonly string[];
}

export class RetentionPolicyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RetentionPolicyError';
  }
}

const UNIT_MS: Readonly<Record<string, number>> = {
  y: 365 * 86_400_000,
  m: 30 * 86_400_000,
  w: 7 * 86_400_000,
  d: 86_400_000,
  h: 3_600_000,
};

export function parseDuration(text: string): number {
  const trimmed = text.trim();
  if (!/^(\d+[ymwdh])+$/.test(trimmed)) {
    throw new RetentionPolicyError(`duration '${text}' is not like 30d, 2w, 1y6m or 12h`);
  }
  let total = 0;
  for (const match of trimmed.matchAll(/(\d+)([ymwdh])/g)) {
    total += Number(match[1]) * (UNIT_MS[match[2]]);
  }
  return total;
}

const COUNT_RULES = ['keepLast', 'keepHourly', 'keepDaily', 'keepWeekly', 'keepMonthly', 'keepYearly'] as const;

export function validatePolicy(policy: RetentionPolicy): void {
  for (const rule of COUNT_RULES) {
    const value = policy[rule];
    if (value !== undefined && (!Number.isInteger(value) || value < 0)) {
      throw new RetentionPolicyError(`${rule} must be a non-negative integer`);
    }
  }
  if (policy.keepWithin !== undefined) parseDuration(policy.keepWithin);
  const hasRule =
    COUNT_RULES.some((rule) => (policy[rule] ?? 0) > 0) ||
    (policy.keepWithin !== undefined && parseDuration(policy.keepWithin) > 0) ||
    (policy.keepTags?.length ?? 0) > 0;
  if (!hasRule) throw new RetentionPolicyError('the policy keeps nothing: give at least one keep rule');
}

function pad(n: number, width = 2): string {
  return String(n).padStart(width, '0');
}

/** ISO-8601 week-numbering year and week of a UTC date. */
export function isoWeek(date: Date): { year: number; week: number } {
  const day = new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate()));
  const weekday = day.getUTCDay() === 0 ? 7 : day.getUTCDay();
  day.setUTCDate(day.getUTCDate() + 4 - weekday); // the Thursday of this week decides the year
  const yearStart = Date.UTC(day.getUTCFullYear(), 0, 1);
  const week = Math.ceil(((day.getTime() - yearStart) / 86_400_000 + 1) / 7);
  return { year: day.getUTCFullYear(), week };
}

type Bucketer = (date: Date) => string;

const BUCKETS: readonly [rule: (typeof COUNT_RULES)[number], label: string, bucket: Bucketer][] = [
  ['keepHourly', 'hourly', (d) => `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}T${pad(d.getUTCHours())}`],
  ['keepDaily', 'daily', (d) => `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`],
  [
    'keepWeekly',
    'weekly',
    (d) => {
      const { year, week } = isoWeek(d);
      return `${year}-W${pad(week)}`;
    },
  ],
  ['keepMonthly', 'monthly', (d) => `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}`],
  ['keepYearly', 'yearly', (d) => `${d.getUTCFullYear()}`],
];

export function groupKey(snapshot: RetentionSnapshot, groupBy: RetentionPolicy['groupBy']): string {
  const keys = groupBy ?? ['host', 'paths'];
  const parts: string[] = [];
  if (keys.includes('host')) parts.push(`host=${snapshot.host}`);
  if (keys.includes('paths')) parts.push(`paths=${[...snapshot.paths].sort().join(',')}`);
  if (keys.includes('tags')) parts.push(`tags=${[...snapshot.tags].sort().join(',')}`);
  return parts.join(' ');
}

function compareNewestFirst(a: RetentionSnapshot, b: RetentionSnapshot): number {
  const diff = Date.parse(b.time) - Date.parse(a.time);
  if (diff !== 0) return diff;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

function planGroup(key: string, snapshots: readonly RetentionSnapshot[], policy: RetentionPolicy): GroupPlan {
  const sorted = [...snapshots].sort(compareNewestFirst);
  const reasons = new Map<string, string[]>(sorted.map((s) => [s.id, []]));
  const why = (id: string, reason: string): void => {
    reasons.get(id)?.push(reason);
  };

  sorted.slice(0, policy.keepLast ?? 0).forEach((s) => why(s.id, 'last'));

  for (const [rule, label, bucket] of BUCKETS) {
    let remaining = policy[rule] ?? 0;
    let lastBucket: string | undefined;
    for (const snapshot of sorted) {
      if (remaining <= 0) break;
      const b = bucket(new Date(snapshot.time));
      if (b === lastBucket) continue;
      lastBucket = b;
      why(snapshot.id, `${label} ${b}`);
      remaining -= 1;
    }
  }

  if (policy.keepWithin !== undefined && sorted.length > 0) {
    const window = parseDuration(policy.keepWithin);
    const newest = Date.parse((sorted[0]).time);
    for (const snapshot of sorted) {
      if (newest - Date.parse(snapshot.time) <= window) why(snapshot.id, `within ${policy.keepWithin}`);
    }
  }

  const tags = policy.keepTags ?? [];
  for (const snapshot of sorted) {
    for (const tag of tags) if (snapshot.tags.includes(tag)) why(snapshot.id, `tag:${tag}`);
  }

  const keep: Decision[] = [];
  const remove: Decision[] = [];
  for (const snapshot of sorted) {
    const r = reasons.get(snapshot.id) ?? [];
    (r.length > 0 ? keep : remove).push({ id: snapshot.id, time: snapshot.time, reasons: r });
  }
  return { key, keep, remove, refused: sorted.length > 0 && keep.length === 0 };
}

export function planRetention(snapshots: readonly RetentionSnapshot[], policy: RetentionPolicy): RetentionPlan {
  validatePolicy(policy);
  const groups = new Map<string, RetentionSnapshot[]>();
  for (const snapshot of snapshots) {
    if (Number.isNaN(Date.parse(snapshot.time))) throw new RetentionPolicyError(`snapshot ${snapshot.id} has an invalid time`);
    const key = groupKey(snapshot, policy.groupBy);
    const list = groups.get(key);
    if (list === undefined) groups.set(key, [snapshot]);
    else list.push(snapshot);
  }
  const plans = [...groups.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([key, list]) => planGroup(key, list, policy));
  const refusedGroups = plans.filter((g) => g.refused).map((g) => g.key);
  return {
    groups: plans,
    keep: plans.flatMap((g) => g.keep.map((d) => d.id)),
    // A refused group removes nothing, even though its plan lists what the policy would remove.
    remove: plans.filter((g) => !g.refused).flatMap((g) => g.remove.map((d) => d.id)),
    refusedGroups,
  };
}
