/**
 * Generic JSON webhooks and Slack-compatible incoming webhooks: one POST
 * each, 2xx means delivered. Error messages name the origin only, since
 * webhook paths are often the secret.
 */
import { NotificationFailed } from './errors';
import type { NotificationEvent } from './event';
import type { SlackTarget, WebhookTarget } from './targets';

export async function postJson(url: string, body: unknown, headers: Readonly<Record<string, string>>, signal: AbortSignal): Promise<void> {
  let origin = '(invalid URL)';
  try {
    origin = new URL(url).origin;
  } catch (err) {
    throw new NotificationFailed('the webhook URL is not valid', { cause: err });
  }
  let response: Response;
  try {
    response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': 'coffer', ...headers },
      body: JSON.stringify(body),
      signal,
    });
  } catch (err) {
    throw new NotificationFailed(`POST to ${origin} failed: ${err instanceof Error ? err.message : String(err)}`);
  }
  await response.arrayBuffer().catch(() => undefined); // drain so the connection is released
  if (!response.ok) throw new NotificationFailed(`POST to ${origin} answered HTTP ${response.status}`);
}

/** The generic webhook body: the event itself, marked with its source. */
export function webhookPayload(event: NotificationEvent): Record<string, unknown> {
  return { source: 'coffer', ...event };
}

export async function sendWebhook(target: WebhookTarget, event: NotificationEvent, signal: AbortSignal): Promise<void> {
  await postJson(target.url, webhookPayload(event), target.headers ?? {}, signal);
}

const SEVERITY_EMOJI = { info: ':information_source:', warning: ':warning:', error: ':rotating_light:' } as const;

/** Slack's incoming-webhook shape: `text` (also the notification fallback) plus Block Kit blocks. */
export function slackPayload(event: NotificationEvent): { text: string; blocks: unknown[] } {
  const fields = [
    ...(event.repoId !== undefined ? [`*Repository:* ${event.repoId}`] : []),
    ...(event.workflowId !== undefined ? [`*Workflow:* ${event.workflowId}`] : []),
    ...Object.entries(event.details ?? {}).map(([k, v]) => `*${k}:* ${String(v)}`),
  ];
  const emoji = (SEVERITY_EMOJI as Record<string, string>)[event.severity] ?? '';
  return {
    text: `${emoji} ${event.title}`.trim(),
    blocks: [
      { type: 'header', text: { type: 'plain_text', text: event.title.slice(0, 150) } },
      { type: 'section', text: { type: 'mrkdwn', text: event.summary.slice(0, 3000) } },
      ...(fields.length > 0 ? [{ type: 'section', fields: fields.slice(0, 10).map((text) => ({ type: 'mrkdwn', text })) }] : []),
      { type: 'context', elements: [{ type: 'mrkdwn', text: `${event.severity} · ${event.kind} · ${event.time}` }] },
    ],
  };
}

export async function sendSlack(target: SlackTarget, event: NotificationEvent, signal: AbortSignal): Promise<void> {
  await postJson(target.url, slackPayload(event), {}, signal);
}

