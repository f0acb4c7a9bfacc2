/**
 * The frame every Coffer activity runs in: it heartbeats (at once, on every
 * engine progress report, and on a timer so a slow step still proves the
 * worker alive and receives cancellation), hands the cancellation signal to
 * the engine, exposes the previous attempt's heartbeat details for resuming,
 * counts failures by code, and maps errors through the one classifier.
 */
import { activityInfo, cancellationSignal, heartbeat } from '@temporalio/activity';
import type { Progress } from './engine/api';
import { errorCode, toTemporalFailure } from './failures';
import type { CofferMetrics } from './metrics';

/** Heartbeat details of every Coffer activity: the progress, plus a cursor where the activity can resume. */
export interface HeartbeatDetails<C = unknown> {
  readonly progress?: Progress;
  readonly cursor?: C;
  readonly phase?: string;
}

export interface ActivityFrame<C> {
  readonly signal: AbortSignal;
  /** Details of the last heartbeat of the previous attempt, if any (resume point). */
  readonly previous: HeartbeatDetails<C> | undefined;
  readonly attempt: number;
  progress(progress: Progress): void;
  cursor(cursor: C): void;
  phase(phase: string): void;
}

const MIN_TIMER_MS = 1_000;
const MAX_TIMER_MS = 10_000;

export async function runActivity<C, T>(
  metrics: CofferMetrics,
  fn: (frame: ActivityFrame<C>) => Promise<T>,
): Promise<T> {
  const info = activityInfo();
  const signal = cancellationSignal();
  const raw = info.heartbeatDetails as unknown;
  const previous = typeof raw === 'object' && raw !== null ? (raw as HeartbeatDetails<C>) : undefined;
  let details: HeartbeatDetails<C> = { ...(previous?.cursor === undefined ? {} : { cursor: previous.cursor }) };
  const beat = (): void => heartbeat(details);
  beat();
  const timeoutMs = info.heartbeatTimeoutMs ?? 0;
  const periodMs = Math.min(MAX_TIMER_MS, Math.max(MIN_TIMER_MS, timeoutMs > 0 ? timeoutMs / 4 : MAX_TIMER_MS));
  const timer = setInterval(beat, periodMs);
  timer.unref();
  const frame: ActivityFrame<C> = {
    signal,
    previous,
    attempt: info.attempt,
    progress(progress) {
      details = { ...details, progress };
      beat();
    },
    cursor(cursor) {
      details = { ...details, cursor };
      beat();
    },
    phase(phase) {
      details = { ...details, phase };
      beat();
    },
  };
  try {
    return await fn(frame);
  } catch (err) {
    const code = errorCode(err);
    // The SDK logs the failure itself; we count it by code for the dashboards.
    if (!signal.aborted) metrics.add('errors', 1, { code, activity: info.activityType });
    throw toTemporalFailure(err, signal);
  } finally {
    clearInterval(timer);
  }
}
