/**
 * Coffer's counters on the Temporal runtime's metric meter: with the
 * Prometheus exporter installed (workers/main.ts), they are scraped from the
 * same /metrics endpoint as the SDK's own metrics, as `coffer_<name>`.
 */
import type { MetricCounter, MetricMeter } from '@temporalio/common';
import { COUNTER_DESCRIPTIONS } from '../activities/metrics';
import type { CofferCounter, CofferMetrics, MetricLabels } from '../activities/metrics';

const UNITS: Readonly<Partial<Record<CofferCounter, string>>> = {
  bytes_read: 'bytes',
  bytes_uploaded: 'bytes',
  bytes_restored: 'bytes',
};

export class MeterMetrics implements CofferMetrics {
  private readonly counters = new Map<CofferCounter, MetricCounter>();

  constructor(private readonly meter: MetricMeter) {}

  add(counter: CofferCounter, value: number, labels: MetricLabels = {}): void {
    if (!Number.isFinite(value) || value <= 0) return;
    let metric = this.counters.get(counter);
    if (metric === undefined) {
      metric = this.meter.createCounter(`coffer_${counter}`, UNITS[counter], COUNTER_DESCRIPTIONS[counter]);
      this.counters.set(counter, metric);
    }
    metric.add(Math.round(value), { ...labels });
  }
}
