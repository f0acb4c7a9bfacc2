/**
 * What Coffer tells people about: a failed workflow, a failed verify, every
 * drill result. Plain JSON-safe data; no secrets.
 */
export type NotificationKind = 'workflow-failed' | 'verify-failed' | 'drill-result' | 'approval-requested' | (string & {});
export type Severity = 'info' | 'warning' | 'error';

export interface NotificationEvent {
  readonly kind: NotificationKind;
  readonly severity: Severity;
  /** One line, e.g. "Backup of db01 failed". */
  readonly title: string;
  /** A few lines for humans. */
  readonly summary: string;
  /** ISO-8601. */
  readonly time: string;
  readonly repoId?: string;
  readonly workflowId?: string;
  /** Small key/value facts (error code, RTO, findings count). */
  readonly details?: Readonly<Record<string, string | number | boolean>>;
}

/** The event as plain text: the body of e-mails and the fallback text of chat messages. */
export function renderText(event: NotificationEvent): string {
  const lines = [`[${event.severity.toUpperCase()}] ${event.title}`, '', event.summary, ''];
  lines.push(`time: ${event.time}`);
  if (event.repoId !== undefined) lines.push(`repository: ${event.repoId}`);
  if (event.workflowId !== undefined) lines.push(`workflow: ${event.workflowId}`);
  for (const [key, value] of Object.entries(event.details ?? {})) lines.push(`${key}: ${String(value)}`);
  return lines.join('\n');
}
