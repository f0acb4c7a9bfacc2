/**
 * Syslog messages in RFC 5424 format, sent over UDP (one datagram each,
 * RFC 5426) or TCP (octet-counted framing, RFC 6587).
 */
import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import { hostname } from 'node:os';
import { NotificationFailed } from './errors';
import type { NotificationEvent, Severity } from './event';
import type { SyslogTarget } from './targets';

/** Our private-use SD-ID (32473 is the enterprise number RFC 5612 reserves for examples and documentation). */
export const STRUCTURED_DATA_ID = 'coffer@32473';

const SYSLOG_SEVERITY: Record<Severity, number> = { error: 3, warning: 4, info: 6 };

export function formatSyslog(target: SyslogTarget, event: NotificationEvent): string {
  const facility = target.facility ?? 1;
  if (!Number.isInteger(facility) || facility < 0 || facility > 23) throw new NotificationFailed(`syslog facility must be 0–23, got ${facility}`);
  const pri = facility * 8 + (SYSLOG_SEVERITY[event.severity] ?? 6);
  const params: Array<[string, string]> = [['kind', event.kind]];
  if (event.repoId !== undefined) params.push(['repo', event.repoId]);
  if (event.workflowId !== undefined) params.push(['workflow', event.workflowId]);
  for (const [k, v] of Object.entries(event.details ?? {})) params.push([k, String(v)]);
  const sd = `[${STRUCTURED_DATA_ID}${params.map(([k, v]) => ` ${paramName(k)}="${escapeParam(v)}"`).join('')}]`;
  const time = new Date(event.time);
  const timestamp = Number.isNaN(time.getTime()) ? '-' : time.toISOString();
  const msg = `${event.title} - ${event.summary}`.replace(/[\r\n]+/g, ' ');
  return `<${pri}>1 ${timestamp} ${headerField(target.hostname ?? hostname(), 255)} ${headerField(target.appName ?? 'coffer', 48)} ${process.pid} ${headerField(event.kind, 32)} ${sd} ${msg}`;
}

export async function sendSyslog(target: SyslogTarget, event: NotificationEvent, signal: AbortSignal): Promise<void> {
  const message = Buffer.from(formatSyslog(target, event), 'utf8');
  if (target.protocol === 'udp') await sendUdp(target, message, signal);
  else await sendTcp(target, Buffer.concat([Buffer.from(`${message.length} `, 'ascii'), message]), signal);
}

function sendUdp(target: SyslogTarget, message: Buffer, signal: AbortSignal): Promise<void> {
  const socket = createSocket(target.host.includes(':') ? 'udp6' : 'udp4');
  return new Promise<void>((resolve, reject) => {
    const onAbort = (): void => finish(new NotificationFailed(`syslog udp://${target.host}:${target.port}: timed out`));
    const finish = (err?: Error): void => {
      signal.removeEventListener('abort', onAbort);
      socket.close();
      if (err !== undefined) reject(err);
      else resolve();
    };
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    socket.send(message, target.port, target.host, (err) => {
      finish(err ? new NotificationFailed(`syslog udp://${target.host}:${target.port}: ${err.message}`) : undefined);
    });
  });
}

function sendTcp(target: SyslogTarget, frame: Buffer, signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const where = `syslog tcp://${target.host}:${target.port}`;
    const socket = connect({ host: target.host, port: target.port });
    let done = false;
    const finish = (err?: Error): void => {
      if (done) return;
      done = true;
      signal.removeEventListener('abort', onAbort);
      socket.destroy();
      if (err !== undefined) reject(err);
      else resolve();
    };
    const onAbort = (): void => finish(new NotificationFailed(`${where}: timed out`));
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    socket.on('error', (err) => finish(new NotificationFailed(`${where}: ${err.message}`)));
    socket.on('connect', () => {
      socket.end(frame, () => finish());
    });
  });
}

function escapeParam(value: string): string {
  return value.replace(/[\\"\]]/g, (c) => `\\${c}`).replace(/[\r\n]+/g, ' ');
}

/** SD-PARAM names: printable US-ASCII without '=', ' ', ']', '"'; at most 32 characters. */
function paramName(name: string): string {
  return name.replace(/[^\x21-\x7e]|[= \]"]/g, '_').slice(0, 32) || '_';
}

/** Header fields: printable US-ASCII, no spaces, '-' when empty. */
function headerField(value: string, max: number): string {
  const clean = value.replace(/[^\x21-\x7e]/g, '_').slice(0, max);
  return clean === '' ? '-' : clean;
}
