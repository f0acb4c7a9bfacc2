/**
 * A minimal SMTP client (RFC 5321) over node:net or node:tls: EHLO, optional
 * AUTH PLAIN, MAIL FROM, RCPT TO, DATA, QUIT. Enough to hand a plain-text
 * message to a relay; no STARTTLS, no attachments. Lines are CRLF, the body
 * is base64 so any UTF-8 text survives 7-bit relays, and header values are
 * stripped of CR/LF so an event cannot inject headers.
 */
import { connect as netConnect } from 'node:net';
import type { Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { randomUUID } from 'node:crypto';
import { NotificationFailed } from './errors';
import type { EmailTarget } from './targets';

export interface MailMessage {
  readonly subject: string;
  readonly text: string;
}

interface Reply {
  readonly code: number;
  readonly lines: readonly string[];
}

/** Reads SMTP replies (possibly multi-line: "250-…" continues, "250 …" ends) from a socket. */
class ReplyReader {
  private buffer = '';
  private lines: string[] = [];
  private readonly replies: Reply[] = [];
  private waiting: { resolve: (reply: Reply) => void; reject: (err: Error) => void } | undefined;
  private failure: Error | undefined;

  constructor(socket: Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => this.onData(chunk));
    socket.on('error', (err) => this.fail(err));
    socket.on('close', () => this.fail(new Error('connection closed by the server')));
  }

  next(): Promise<Reply> {
    const ready = this.replies.shift();
    if (ready !== undefined) return Promise.resolve(ready);
    if (this.failure !== undefined) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject };
    });
  }

  fail(err: Error): void {
    if (this.failure !== undefined) return;
    this.failure = err;
    const waiting = this.waiting;
    this.waiting = undefined;
    waiting?.reject(err);
  }

  private onData(chunk: string): void {
    this.buffer += chunk;
    let end: number;
    while ((end = this.buffer.indexOf('\n')) >= 0) {
      const line = this.buffer.slice(0, end).replace(/\r$/, '');
      this.buffer = this.buffer.slice(end + 1);
      this.lines.push(line);
      if (/^\d{3}(?: |$)/.test(line)) {
        const reply = { code: Number(line.slice(0, 3)), lines: this.lines.map((l) => l.slice(4)) };
        this.lines = [];
        const waiting = this.waiting;
        this.waiting = undefined;
        if (waiting !== undefined) waiting.resolve(reply);
        else this.replies.push(reply);
      }
    }
  }
}

export async function sendMail(target: EmailTarget, message: MailMessage, signal: AbortSignal): Promise<void> {
  if (target.to.length === 0) throw new NotificationFailed('the e-mail target has no recipients');
  for (const address of [target.from, ...target.to]) {
    if (!/^[^\s<>@]+@[^\s<>@]+$/.test(address)) throw new NotificationFailed(`invalid e-mail address ${JSON.stringify(address)}`);
  }
  if (target.auth !== undefined && target.secure !== true && !isLoopback(target.host)) {
    throw new NotificationFailed('refusing to send SMTP credentials without TLS; set secure: true (SMTPS)');
  }
  const where = `${target.host}:${target.port}`;
  const socket: Socket = target.secure === true
    ? tlsConnect({ host: target.host, port: target.port, servername: target.host })
    : netConnect({ host: target.host, port: target.port });
  const reader = new ReplyReader(socket);
  const onAbort = (): void => {
    reader.fail(new Error('timed out'));
    socket.destroy();
  };
  if (signal.aborted) onAbort();
  signal.addEventListener('abort', onAbort, { once: true });

  const expect = async (step: string, accepted: readonly number[]): Promise<Reply> => {
    let reply: Reply;
    try {
      reply = await reader.next();
    } catch (err) {
      throw new NotificationFailed(`SMTP ${where}: ${step}: ${err instanceof Error ? err.message : String(err)}`);
    }
    if (!accepted.includes(reply.code)) {
      throw new NotificationFailed(`SMTP ${where}: ${step} refused: ${reply.code} ${reply.lines.join(' ').slice(0, 200)}`);
    }
    return reply;
  };
  const send = (line: string): void => {
    socket.write(`${line}\r\n`);
  };

  try {
    await expect('greeting', [220]);
    send(`EHLO ${target.clientName ?? 'coffer'}`);
    await expect('EHLO', [250]);
    if (target.auth !== undefined) {
      const token = Buffer.from(`\0${target.auth.user}\0${target.auth.pass}`, 'utf8').toString('base64');
      send(`AUTH PLAIN ${token}`);
      await expect('AUTH', [235]);
    }
    send(`MAIL FROM:<${target.from}>`);
    await expect('MAIL FROM', [250]);
    for (const to of target.to) {
      send(`RCPT TO:<${to}>`);
      await expect(`RCPT TO <${to}>`, [250, 251]);
    }
    send('DATA');
    await expect('DATA', [354]);
    socket.write(formatMessage(target, message));
    await expect('message', [250]);
    send('QUIT');
    await expect('QUIT', [221]).catch(() => undefined); // delivered already; a rude close is fine
  } finally {
    signal.removeEventListener('abort', onAbort);
    socket.end();
    socket.destroy();
  }
}

/** Headers and a base64 body, CRLF line ends, terminated by "<CRLF>.<CRLF>" (base64 never starts a line with '.'). */
export function formatMessage(target: EmailTarget, message: MailMessage, now: Date = new Date()): string {
  const body = Buffer.from(message.text.replace(/\r?\n/g, '\r\n'), 'utf8').toString('base64').replace(/.{1,76}/g, '$&\r\n');
  const headers = [
    `From: ${headerValue(target.from)}`,
    `To: ${target.to.map(headerValue).join(', ')}`,
    `Subject: ${encodeHeader(message.subject)}`,
    `Date: ${now.toUTCString().replace('GMT', '+0000')}`,
    `Message-ID: <${randomUUID()}@coffer>`,
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    'Content-Transfer-Encoding: base64',
    'X-Mailer: coffer',
  ];
  return `${headers.join('\r\n')}\r\n\r\n${body}.\r\n`;
}

function headerValue(value: string): string {
  return value.replace(/[\r\n]+/g, ' ');
}

/** RFC 2047 encoded-word for non-ASCII subjects. */
function encodeHeader(value: string): string {
  const clean = headerValue(value);
  return /^[\x20-\x7e]*$/.test(clean) ? clean : `=?UTF-8?B?${Buffer.from(clean, 'utf8').toString('base64')}?=`;
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.');
}
