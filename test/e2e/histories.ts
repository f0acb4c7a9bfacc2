/** Fetching every run of a workflow's history, and measuring it (events, payload sizes). */
import type { Client } from '@temporalio/client';
import type { temporal } from '@temporalio/proto';

type History = temporal.api.history.v1.IHistory;

export interface RunHistory {
  readonly workflowId: string;
  readonly runId: string;
  readonly history: History;
}

/** Every run of a workflow, first to last, following continue-as-new. */
export async function fetchAllRuns(client: Client, workflowId: string, firstRunId: string): Promise<RunHistory[]> {
  const runs: RunHistory[] = [];
  let runId: string | undefined = firstRunId;
  while (runId !== undefined && runs.length < 1000) {
    const history: History = await client.workflow.getHandle(workflowId, runId).fetchHistory();
    runs.push({ workflowId, runId, history });
    const next: string | null | undefined = history.events?.at(-1)?.workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId;
    runId = next === null || next === undefined || next === '' ? undefined : next;
  }
  return runs;
}

/** Sizes in bytes of every payload in a history (data plus metadata). */
export function payloadSizes(history: History): number[] {
  const sizes: number[] = [];
  const visit = (value: unknown, depth: number): void => {
    if (depth > 40 || value === null || typeof value !== 'object') return;
    if (value instanceof Uint8Array) return;
    const record = value as Record<string, unknown>;
    if (record.data instanceof Uint8Array && typeof record.metadata === 'object' && record.metadata !== null) {
      let size = record.data.length;
      for (const [k, v] of Object.entries(record.metadata as Record<string, unknown>)) size += k.length + (v instanceof Uint8Array ? v.length : 0);
      sizes.push(size);
      return;
    }
    for (const child of Object.values(record)) visit(child, depth + 1);
  };
  for (const event of history.events ?? []) visit(event, 0);
  return sizes;
}
