/**
 * Coffer's own counters. Activities count through this small interface; the
 * worker backs it with the Temporal runtime's metric meter so the counters
 * appear on the same Prometheus endpoint as the SDK's metrics (see
 * workers/metrics.ts). Tests use the in-memory implementation.
 */
export type CofferCounter =
  | 'bytes_read'
  | 'bytes_uploaded'
  | 'chunks_new'
  | 'chunks_deduplicated'
  | 'files_backed_up'
  | 'files_restored'
  | 'bytes_restored'
  | 'errors';

export const COUNTER_DESCRIPTIONS: Readonly<Record<CofferCounter, string>> = {
  bytes_read: 'Source bytes read by backups',
  bytes_uploaded: 'Bytes sent to storage after dedup, compression and encryption',
  chunks_new: 'Chunks stored for the first time',
  chunks_deduplicated: 'Chunks already present in the repository',
  files_backed_up: 'Files processed by backup batches',
  files_restored: 'Files written by restores',
  bytes_restored: 'Bytes written by restores',
  errors: 'Activity failures by error code',
};

export type MetricLabels = Readonly<Record<string, string>>;

export interface CofferMetrics {
  add(counter: CofferCounter, value: number, labels?: MetricLabels): void;
}

/** Counts in memory; keyed `name{label="value",…}` like the Prometheus text format. */
export class InMemoryMetrics implements CofferMetrics {
  private readonly values = new Map<string, number>();

  add(counter: CofferCounter, value: number, labels: MetricLabels = {}): void {
    if (!Number.isFinite(value) || value <= 0) return;
    const key = metricKey(counter, labels);
    this.values.set(key, (this.values.get(key) ?? 0) + value);
  }

  get(counter: CofferCounter, labels: MetricLabels = {}): number {
    return this.values.get(metricKey(counter, labels)) ?? 0;
  }

  snapshot(): Record<string, number> {
    return Object.fromEntries(this.values);
  }
}

function metricKey(counter: CofferCounter, labels: MetricLabels): string {
  const entries = Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  if (entries.length === 0) return `coffer_${counter}`;
  return `coffer_${counter}{${entries.map(([k, v]) => `${k}="${v}"`).join(',')}}`;
}

/** Fans one count out to several sinks (e.g. the runtime meter and an in-memory copy). */
export class TeeMetrics implements CofferMetrics {
  constructor(private readonly sinks: readonly CofferMetrics[]) {}
  add(counter: CofferCounter, value: number, labels?: MetricLabels): void {
    for (const sink of this.sinks) sink.add(counter, value, labels);
  }
}
