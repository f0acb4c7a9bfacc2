/**
 * Sends one event to every configured target at once. Each target has its
 * own timeout and its own result: one broken target never hides the others'
 * outcomes, and notify itself never throws for a delivery failure.
 */
import { isCofferError } from '../errors';
import { renderText } from './event';
import type { NotificationEvent } from './event';
import { sendMail } from './smtp';
import { sendSyslog } from './syslog';
import { describeTarget } from './targets';
import type { NotifyTarget } from './targets';
import { sendSlack, sendWebhook } from './webhook';

export interface NotifyResult {
  /** Safe description of the target (no secrets). */
  readonly target: string;
  readonly type: NotifyTarget['type'];
  readonly ok: boolean;
  readonly durationMs: number;
  readonly error?: { readonly code: string; readonly message: string };
}

export interface NotifyOptions {
  /** Per-target time limit (default 10 s). */
  readonly timeoutMs?: number;
  /** Cancels every delivery still in flight (an activity's cancellation signal). */
  readonly signal?: AbortSignal;
}

export async function notify(event: NotificationEvent, targets: readonly NotifyTarget[], options: NotifyOptions = {}): Promise<NotifyResult[]> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  return Promise.all(targets.map((target) => deliver(event, target, timeoutMs, options.signal)));
}

async function deliver(event: NotificationEvent, target: NotifyTarget, timeoutMs: number, outer: AbortSignal | undefined): Promise<NotifyResult> {
  const started = Date.now();
  const signal = outer === undefined ? AbortSignal.timeout(timeoutMs) : AbortSignal.any([outer, AbortSignal.timeout(timeoutMs)]);
  const base = { target: describeTarget(target), type: target.type };
  try {
    switch (target.type) {
      case 'webhook':
        await sendWebhook(target, event, signal);
        break;
      case 'slack':
        await sendSlack(target, event, signal);
        break;
      case 'email':
        await sendMail(target, { subject: `[coffer] ${event.title}`, text: renderText(event) }, signal);
        break;
      case 'syslog':
        await sendSyslog(target, event, signal);
        break;
      default:
        throw new Error(`unknown notification target type ${JSON.stringify((target as { type: unknown }).type)}`);
    }
    return { ...base, ok: true, durationMs: Date.now() - started };
  } catch (err) {
    const code = isCofferError(err) ? err.code : 'COFFER-E520';
    const message = err instanceof Error ? err.message : String(err);
    return { ...base, ok: false, durationMs: Date.now() - started, error: { code, message } };
  }
}
