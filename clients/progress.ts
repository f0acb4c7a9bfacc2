/**
 * Waiting for a job with a live progress line on a terminal: polls the
 * workflow's `progress` query, plus the heartbeat details of its running
 * activities (decoded with the same codec) for progress inside a batch or a
 * restore. Off a terminal, or with --json, it just waits.
 */
import type { Client, WorkflowHandle } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import type { Payload } from '@temporalio/common';
import type { Progress } from '../activities/engine/api';
import type { JobProgress } from '../workflows/messages';
import { progressQuery } from '../workflows/messages';

const POLL_MS = 500;

export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit]}`;
}

function fraction(done: number | undefined, total: number | undefined, format: (n: number) => string = String): string | undefined {
  if (done === undefined) return undefined;
  return total === undefined ? format(done) : `${format(done)}/${format(total)}`;
}

export function progressLine(job: JobProgress, live: Progress | undefined): string {
  const files = (job.filesDone ?? 0) + (live?.filesDone ?? 0);
  const bytes = (job.bytesDone ?? 0) + (live?.bytesDone ?? 0);
  const uploaded = (job.bytesUploaded ?? 0) + (live?.bytesUploaded ?? 0);
  const parts = [
    `[${job.job}] ${job.phase}`,
    job.batchesTotal === undefined ? undefined : `batches ${fraction(job.batchesDone, job.batchesTotal)}`,
    files > 0 || job.filesTotal !== undefined ? `files ${fraction(files, job.filesTotal ?? live?.filesTotal)}` : undefined,
    bytes > 0 || job.bytesTotal !== undefined ? `${fraction(bytes, job.bytesTotal ?? live?.bytesTotal, formatBytes)}` : undefined,
    uploaded > 0 ? `uploaded ${formatBytes(uploaded)}` : undefined,
    job.run !== undefined && job.run > 1 ? `run ${job.run}` : undefined,
  ];
  return parts.filter((p): p is string => p !== undefined).join(' · ');
}

async function liveActivityProgress(client: Client, handle: WorkflowHandle): Promise<Progress | undefined> {
  const description = await handle.describe();
  const pending = description.raw.pendingActivities ?? [];
  let sum: { filesDone: number; bytesDone: number; bytesUploaded: number } | undefined;
  for (const activity of pending) {
    const payloads = activity.heartbeatDetails?.payloads;
    if (payloads === undefined || payloads === null || payloads.length === 0) continue;
    const decoded = await client.options.loadedDataConverter.payloadCodecs.reduceRight(
      async (acc, codec) => codec.decode(await acc),
      Promise.resolve(payloads as Payload[]),
    );
    const first = decoded[0];
    if (first === undefined) continue;
    const details = defaultPayloadConverter.fromPayload<{ progress?: Progress }>(first);
    const p = details.progress;
    if (p === undefined) continue;
    sum ??= { filesDone: 0, bytesDone: 0, bytesUploaded: 0 };
    sum.filesDone += p.filesDone;
    sum.bytesDone += p.bytesDone;
    sum.bytesUploaded += p.bytesUploaded ?? 0;
  }
  return sum;
}

export interface WaitOptions {
  /** Draw the live line (stderr is a TTY and output is not JSON). */
  readonly live: boolean;
  readonly stream?: NodeJS.WriteStream;
}

export async function waitForResult<T>(client: Client, handle: WorkflowHandle, options: WaitOptions): Promise<T> {
  const result = handle.result() as Promise<T>;
  if (!options.live) return result;
  const stream = options.stream ?? process.stderr;
  let finished = false;
  const settle = result.then(
    () => undefined,
    () => undefined,
  );
  void settle.then(() => {
    finished = true;
  });
  let lastWidth = 0;
  while (!finished) {
    try {
      const [job, live] = await Promise.all([handle.query(progressQuery), liveActivityProgress(client, handle).catch(() => undefined)]);
      if (!finished) {
        const line = progressLine(job, live).slice(0, (stream.columns || 120) - 1);
        stream.write(`\r${line}${' '.repeat(Math.max(0, lastWidth - line.length))}`);
        lastWidth = line.length;
      }
    } catch {
      // The first workflow task may not have run yet, or the run just continued as new: try again.
    }
    await Promise.race([settle, new Promise((resolve) => setTimeout(resolve, POLL_MS))]);
  }
  if (lastWidth > 0) stream.write(`\r${' '.repeat(lastWidth)}\r`);
  return result;
}
