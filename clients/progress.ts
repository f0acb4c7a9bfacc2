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

export function formatEta(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '--';
  const s = Math.ceil(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

const BAR_WIDTH = 20;

/** `[########............]  42%` for a fraction in [0, 1]. */
export function bar(fractionDone: number): string {
  const f = Math.min(1, Math.max(0, fractionDone));
  const filled = Math.floor(f * BAR_WIDTH);
  return `[${'#'.repeat(filled)}${'.'.repeat(BAR_WIDTH - filled)}] ${String(Math.floor(f * 100)).padStart(3)}%`;
}

/**
 * Read rate over a sliding window of samples (bytes done at a time), so the
 * rate and the ETA follow the job's recent pace, not its average since start.
 */
export class RateMeter {
  private readonly samples: { readonly at: number; readonly bytes: number }[] = [];

  constructor(private readonly windowMs: number = 5_000) {}

  /** Records `bytes` done at `at` (ms); returns bytes per second, undefined until two samples span some time. */
  sample(bytes: number, at: number): number | undefined {
    const last = this.samples[this.samples.length - 1];
    // A new run (continue-as-new, retry) may report fewer bytes: start over.
    if (last !== undefined && bytes < last.bytes) this.samples.length = 0;
    this.samples.push({ at, bytes });
    while (this.samples.length > 2 && (this.samples[1]?.at ?? at) <= at - this.windowMs) this.samples.shift();
    const first = this.samples[0];
    if (first === undefined || at - first.at < 250) return undefined;
    return ((bytes - first.bytes) * 1000) / (at - first.at);
  }
}

/**
 * One line: job and phase, a bar with the percentage of bytes (or files) when
 * the total is known, bytes and files done of their totals, uploaded bytes,
 * the recent rate and the ETA.
 */
export function progressLine(job: JobProgress, live: Progress | undefined, rate?: number): string {
  const files = (job.filesDone ?? 0) + (live?.filesDone ?? 0);
  const bytes = (job.bytesDone ?? 0) + (live?.bytesDone ?? 0);
  const uploaded = (job.bytesUploaded ?? 0) + (live?.bytesUploaded ?? 0);
  const bytesTotal = job.bytesTotal ?? live?.bytesTotal;
  const filesTotal = job.filesTotal ?? live?.filesTotal;
  const done = job.phase === 'done';
  const share = done ? 1 : bytesTotal !== undefined && bytesTotal > 0 ? bytes / bytesTotal : filesTotal !== undefined && filesTotal > 0 ? files / filesTotal : undefined;
  const remaining = bytesTotal === undefined ? undefined : Math.max(0, bytesTotal - bytes);
  const eta = remaining === undefined || rate === undefined ? undefined : remaining === 0 ? 0 : rate > 0 ? remaining / rate : Number.POSITIVE_INFINITY;
  const parts = [
    `[${job.job}] ${job.phase}`,
    share === undefined ? undefined : bar(share),
    bytes > 0 || bytesTotal !== undefined ? `${fraction(bytes, bytesTotal, formatBytes)}` : undefined,
    files > 0 || filesTotal !== undefined ? `files ${fraction(files, filesTotal)}` : undefined,
    job.batchesTotal === undefined || job.batchesTotal < 2 ? undefined : `batches ${fraction(job.batchesDone, job.batchesTotal)}`,
    uploaded > 0 ? `uploaded ${formatBytes(uploaded)}` : undefined,
    rate === undefined ? undefined : `${formatBytes(Math.max(0, Math.round(rate)))}/s`,
    bytesTotal === undefined ? undefined : `ETA ${eta === undefined ? '--' : formatEta(eta)}`,
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
  const meter = new RateMeter();
  const startedAt = Date.now();
  while (!finished) {
    try {
      const [job, live] = await Promise.all([handle.query(progressQuery), liveActivityProgress(client, handle).catch(() => undefined)]);
      if (!finished) {
        const rate = meter.sample((job.bytesDone ?? 0) + (live?.bytesDone ?? 0), Date.now());
        const line = progressLine(job, live, rate).slice(0, (stream.columns || 120) - 1);
        stream.write(`\r${line}${' '.repeat(Math.max(0, lastWidth - line.length))}`);
        lastWidth = line.length;
      }
    } catch {
      // The first workflow task may not have run yet, or the run just continued as new: try again.
    }
    await Promise.race([settle, new Promise((resolve) => setTimeout(resolve, POLL_MS))]);
  }
  if (lastWidth > 0) {
    // Leave the finished bar on screen (with the average rate), like a download tool; a failed job's line is cleared.
    const final = await result.then(
      async () => handle.query(progressQuery).catch(() => undefined),
      () => undefined,
    );
    const seconds = (Date.now() - startedAt) / 1000;
    const line = final === undefined ? '' : `${progressLine(final, undefined, (final.bytesDone ?? 0) / Math.max(seconds, 0.001)).replace(/ · ETA .*$/, '')} · ${seconds.toFixed(1)} s`;
    stream.write(`\r${line.slice(0, (stream.columns || 120) - 1).padEnd(lastWidth)}${line === '' ? '\r' : '\n'}`);
  }
  return result;
}
