import { randomBytes } from 'node:crypto';

/** Temporary entries restore creates next to their final name; a crashed run's leftovers match TEMP_NAME. */
const PREFIX = '.coffer-tmp-';
export const TEMP_NAME = /^\.coffer-tmp-[0-9a-f]{16}$/;

export function tempName(): string {
  return PREFIX + randomBytes(8).toString('hex');
}
