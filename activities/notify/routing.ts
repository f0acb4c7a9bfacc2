/**
 * Which configured targets an event goes to. A target configured in a
 * profile can ask for a minimum severity and for only some event kinds;
 * targets given without filters (e.g. COFFER_NOTIFY_WEBHOOK_URLS) get every
 * event.
 */
import type { NotificationEvent, Severity } from './event';
import type { NotifyTarget } from './targets';

export interface RoutedNotifyTarget {
  readonly target: NotifyTarget;
  /** Events below this severity are not sent (default: every severity). */
  readonly minSeverity?: Severity;
  /** Only these event kinds (default: every kind). */
  readonly kinds?: readonly string[];
}

const RANK: Readonly<Record<Severity, number>> = { info: 0, warning: 1, error: 2 };

export function isRouted(value: NotifyTarget | RoutedNotifyTarget): value is RoutedNotifyTarget {
  return 'target' in value;
}

/** The targets that want `event`, in configuration order. */
export function targetsFor(event: NotificationEvent, configured: readonly (NotifyTarget | RoutedNotifyTarget)[]): NotifyTarget[] {
  const out: NotifyTarget[] = [];
  for (const entry of configured) {
    if (!isRouted(entry)) {
      out.push(entry);
      continue;
    }
    if (entry.minSeverity !== undefined && RANK[event.severity] < RANK[entry.minSeverity]) continue;
    if (entry.kinds !== undefined && !entry.kinds.includes(event.kind)) continue;
    out.push(entry.target);
  }
  return out;
}
