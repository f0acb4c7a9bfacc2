import { randomBytes } from 'node:crypto';

/** Temporary entries restore creates next to their final name; a crashed run's leftovers match TEMP_NAME. */
const PREFIX = '.coffer-tmp-';
export const TEMP_NAME = /^\.coffer-tmp-[0-9a-f]{16}$/;

/** Random bytes drawn in bulk: one call per thousand names instead of one per restored file. */
let pool = Buffer.alloc(0);
let used = 0;

export function tempName(): string {
  if (used + 8 > pool.length) {
    pool = randomBytes(8 * 1024);
    used = 0;
  }
  used += 8;
  return PREFIX + pool.toString('hex', used - 8, used);
}
