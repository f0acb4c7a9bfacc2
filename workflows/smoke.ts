import { proxyActivities } from '@temporalio/workflow';
import type * as smokeActivities from '../activities/smoke';

const { greet } = proxyActivities<typeof smokeActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { maximumAttempts: 3 },
});

export interface SmokeInput {
  name: string;
}

export interface SmokeResult {
  greeting: string;
}

/** A trivial workflow that calls one activity: the stack's and the worker's smoke test. */
export async function smokeWorkflow(input: SmokeInput): Promise<SmokeResult> {
  const { greeting } = await greet({ name: input.name });
  return { greeting };
}
