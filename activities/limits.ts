/**
 * Bounds on what activities return: results travel in Temporal payloads and
 * stay in the history, so lists are sampled and counted, never unbounded.
 */
export const SAMPLE_LIMIT = 20;
export const FINDINGS_LIMIT = 100;

export function sample<T>(items: readonly T[], limit: number = SAMPLE_LIMIT): T[] {
  return items.slice(0, limit);
}
