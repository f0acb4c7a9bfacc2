/**
 * Local receivers for notification tests: an HTTP endpoint, an SMTP sink that
 * speaks enough SMTP (EHLO/HELO, AUTH PLAIN, MAIL, RCPT, DATA, RSET, NOOP,
 * QUIT) to accept a message, and syslog listeners over UDP and TCP. All bind
 * 127.0.0.1 on a free port.
 */
import { createServer as createHttpServer } from 'node:http';
import type { IncomingHttpHeaders } from 'node:http';
import { createServer as createTcpServer } from 'node:net';
import type { AddressInfo, Socket } from 'node:net';
import { createSocket } from 'node:dgram';

export interface HttpRequestSeen {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

export interface HttpReceiver {
  readonly url: string;
  readonly requests: HttpRequestSeen[];
  /** Status to answer with; 'hang' never answers. */
  status: number | 'hang';
  next(): Promise<HttpRequestSeen>;
  close(): Promise<void>;
}

export async function startHttpReceiver(): Promise<HttpReceiver> {
  const requests: HttpRequestSeen[] = [];
  const waiters: Array<(r: HttpRequestSeen) => void> = [];
  const receiver = {
    url: '',
    requests,
    status: 200 as number | 'hang',
    next: () => new Promise<HttpRequestSeen>((resolve) => {
      const seen = requests.shift();
      if (seen) resolve(seen);
      else waiters.push(resolve);
    }),
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  const server = createHttpServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const seen = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
      const waiter = waiters.shift();
      if (waiter) waiter(seen);
      else requests.push(seen);
      if (receiver.status === 'hang') return;
      res.writeHead(receiver.status, { 'content-type': 'text/plain' });
      res.end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return receiver;
}

export interface MailSeen {
  readonly helo: string;
  readonly from: string;
  readonly to: string[];
  readonly data: string;
  readonly auth?: string;
  /** Every command line received, in order. */
  readonly commands: string[];
}

export interface SmtpSink {
  readonly port: number;
  readonly mails: MailSeen[];
  /** Reply code for RCPT TO, e.g. 550 to refuse every recipient. */
  rcptReply: number;
  next(): Promise<MailSeen>;
  close(): Promise<void>;
}

export async function startSmtpSink(): Promise<SmtpSink> {
  const mails: MailSeen[] = [];
  const waiters: Array<(m: MailSeen) => void> = [];
  const sockets = new Set<Socket>();
  const sink = {
    port: 0,
    mails,
    rcptReply: 250,
    next: () => new Promise<MailSeen>((resolve) => {
      const seen = mails.shift();
      if (seen) resolve(seen);
      else waiters.push(resolve);
    }),
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  const server = createTcpServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    const reply = (line: string): void => {
      socket.write(`${line}\r\n`);
    };
    let buffer = '';
    let inData = false;
    let data: string[] = [];
    let helo = '';
    let from = '';
    let to: string[] = [];
    let auth: string | undefined;
    const commands: string[] = [];
    reply('220 sink.test ESMTP coffer-test-sink');
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      let end: number;
      while ((end = buffer.indexOf('\r\n')) >= 0) {
        const line = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        if (inData) {
          if (line === '.') {
            inData = false;
            const mail: MailSeen = { helo, from, to, data: data.join('\r\n'), ...(auth !== undefined ? { auth } : {}), commands: [...commands] };
            const waiter = waiters.shift();
            if (waiter) waiter(mail);
            else mails.push(mail);
            data = [];
            to = [];
            reply('250 2.0.0 queued');
          } else {
            data.push(line.startsWith('..') ? line.slice(1) : line);
          }
          continue;
        }
        commands.push(line);
        const verb = line.slice(0, 4).toUpperCase();
        if (verb === 'EHLO' || verb === 'HELO') {
          helo = line.slice(5);
          socket.write('250-sink.test greets you\r\n250-AUTH PLAIN\r\n250 8BITMIME\r\n');
        } else if (verb === 'AUTH') {
          auth = Buffer.from(line.split(' ')[2] ?? '', 'base64').toString('utf8');
          reply('235 2.7.0 authenticated');
        } else if (verb === 'MAIL') {
          from = /<([^>]*)>/.exec(line)?.[1] ?? '';
          reply('250 2.1.0 ok');
        } else if (verb === 'RCPT') {
          if (sink.rcptReply === 250) to.push(/<([^>]*)>/.exec(line)?.[1] ?? '');
          reply(sink.rcptReply === 250 ? '250 2.1.5 ok' : `${sink.rcptReply} 5.1.1 no such user`);
        } else if (verb === 'DATA') {
          inData = true;
          reply('354 end with <CRLF>.<CRLF>');
        } else if (verb === 'RSET' || verb === 'NOOP') {
          reply('250 ok');
        } else if (verb === 'QUIT') {
          reply('221 bye');
          socket.end();
        } else {
          reply('502 5.5.2 command not recognised');
        }
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  sink.port = (server.address() as AddressInfo).port;
  return sink;
}

export interface SyslogReceiver {
  readonly port: number;
  next(): Promise<string>;
  close(): Promise<void>;
}

export async function startUdpSyslog(): Promise<SyslogReceiver> {
  const socket = createSocket('udp4');
  const queue = messageQueue();
  socket.on('message', (msg) => queue.push(msg.toString('utf8')));
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return {
    port: socket.address().port,
    next: queue.next,
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}

/** TCP syslog with octet-counting framing (RFC 6587): "<length> <message>". */
export async function startTcpSyslog(): Promise<SyslogReceiver> {
  const queue = messageQueue();
  const sockets = new Set<Socket>();
  const server = createTcpServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    let buffer = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      for (;;) {
        const space = buffer.indexOf(0x20);
        if (space < 0) return;
        const length = Number(buffer.subarray(0, space).toString('ascii'));
        if (buffer.length < space + 1 + length) return;
        queue.push(buffer.subarray(space + 1, space + 1 + length).toString('utf8'));
        buffer = buffer.subarray(space + 1 + length);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    next: queue.next,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function messageQueue(): { push: (m: string) => void; next: () => Promise<string> } {
  const items: string[] = [];
  const waiters: Array<(m: string) => void> = [];
  return {
    push: (m) => {
      const waiter = waiters.shift();
      if (waiter) waiter(m);
      else items.push(m);
    },
    next: () => new Promise<string>((resolve) => {
      const item = items.shift();
      if (item !== undefined) resolve(item);
      else waiters.push(resolve);
    }),
  };
}
