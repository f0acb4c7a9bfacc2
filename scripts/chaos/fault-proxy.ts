/**
 * A fault-injecting proxy for the chaos suite, in front of a real server.
 *
 * tcp mode (any protocol: S3's HTTP, SSH/SFTP): bytes are relayed both ways;
 * for every `unitBytes` relayed (default 1 MiB) — and once when a connection
 * opens — a fault fires with probability `rate`:
 *   reset     both sockets are destroyed with a TCP RST;
 *   truncate  part of the current data chunk is relayed, then both sides are
 *             closed cleanly (FIN) — a stream cut short;
 *   stall     relaying stops for stallMs, then resumes (a slow network).
 *
 * http mode (S3): a reverse proxy that reads each request and, with
 * probability `rate`, answers it with a fault instead of (or after)
 * forwarding it:
 *   slowdown       503 with S3's SlowDown error document (request not forwarded);
 *   reset          the client connection is reset before anything is forwarded;
 *   lost-response  the request IS forwarded and executed, then the client
 *                  connection is reset: the caller cannot know it succeeded;
 *   truncate       the response headers and half of its body are sent, then
 *                  the connection is closed;
 *   stall          the response is held back for stallMs.
 * The Host header is forwarded unchanged, so SigV4 signatures stay valid.
 *
 * Faults are drawn from a seeded PRNG, so a run is reproducible. Counters of
 * what was injected are kept in `stats`. `blackhole` mode (either) makes every
 * new connection accept bytes and never answer: a dead peer, for timeout tests.
 *
 * Run standalone: node --import tsx scripts/chaos/fault-proxy.ts <mode> <listenPort> <targetHost:port> [rate] [seed]
 */
import { request as httpRequest } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer as createHttpServer } from 'node:http';
import { connect, createServer } from 'node:net';
import type { AddressInfo, Server, Socket } from 'node:net';

export type FaultKind = 'reset' | 'truncate' | 'stall' | 'slowdown' | 'lost-response';

export interface FaultProxyOptions {
  readonly mode: 'tcp' | 'http';
  readonly target: { readonly host: string; readonly port: number };
  /** Listen port (0: any free port). */
  readonly port?: number;
  /** Probability of a fault per unit (tcp: per connection and per unitBytes; http: per request). */
  readonly rate: number;
  readonly seed?: number;
  /** Which faults to draw from (default: every fault of the mode). */
  readonly faults?: readonly FaultKind[];
  /** tcp mode: bytes relayed per fault draw (default 1 MiB). */
  readonly unitBytes?: number;
  /** Stall length bounds in ms (default 200–1500). */
  readonly stallMs?: readonly [number, number];
}

export interface FaultProxyStats {
  connections: number;
  requests: number;
  bytesRelayed: number;
  injected: Record<FaultKind, number>;
}

export interface FaultProxy {
  readonly port: number;
  readonly stats: FaultProxyStats;
  /** Turns injection on or off (relaying continues). */
  setRate(rate: number): void;
  /** Every new connection becomes a black hole (accepts, never answers) until turned off. */
  setBlackhole(on: boolean): void;
  /** tcp mode: established connections silently drop every byte from now on (a dead peer, no FIN, no RST). */
  freeze(): void;
  close(): Promise<void>;
}

const TCP_FAULTS: readonly FaultKind[] = ['reset', 'truncate', 'stall'];
const HTTP_FAULTS: readonly FaultKind[] = ['slowdown', 'reset', 'lost-response', 'truncate', 'stall'];

/** mulberry32 (same generator as the storage fault wrapper). */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export async function startFaultProxy(options: FaultProxyOptions): Promise<FaultProxy> {
  const random = seeded(options.seed ?? 1);
  let rate = options.rate;
  let blackhole = false;
  let frozen = false;
  const kinds = options.faults ?? (options.mode === 'tcp' ? TCP_FAULTS : HTTP_FAULTS);
  const [stallMin, stallMax] = options.stallMs ?? [200, 1500];
  const stats: FaultProxyStats = {
    connections: 0, requests: 0, bytesRelayed: 0,
    injected: { reset: 0, truncate: 0, stall: 0, slowdown: 0, 'lost-response': 0 },
  };
  const sockets = new Set<Socket>();
  const draw = (): FaultKind | undefined => (random() < rate ? kinds[Math.floor(random() * kinds.length)] : undefined);
  const stallFor = (): number => stallMin + Math.floor(random() * (stallMax - stallMin + 1));
  const track = (s: Socket): void => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => undefined);
  };
  const holdOpen = (client: Socket): void => {
    // A dead peer: read and discard, never answer.
    client.on('data', () => undefined);
  };

  let server: Server;
  if (options.mode === 'tcp') {
    server = createServer((client) => {
      track(client);
      stats.connections++;
      if (blackhole) return holdOpen(client);
      const upstream = connect(options.target.port, options.target.host);
      track(upstream);
      relayTcp(client, upstream);
    });
  } else {
    const http = createHttpServer((req, res) => void handleHttp(req, res));
    http.keepAliveTimeout = 5000;
    http.on('connection', (client: Socket) => {
      track(client);
      stats.connections++;
      if (blackhole) {
        // Detach the HTTP parser: bytes arrive and nothing ever answers.
        client.removeAllListeners('data');
        holdOpen(client);
      }
    });
    server = http;
  }

  /** Relays both directions, drawing a fault per connection and per unitBytes relayed. */
  function relayTcp(client: Socket, upstream: Socket): void {
    const unit = options.unitBytes ?? 1024 * 1024;
    let sinceDraw = 0;
    let dead = false;
    const kill = (kind: 'reset' | 'truncate'): void => {
      dead = true;
      stats.injected[kind]++;
      if (kind === 'reset') {
        client.resetAndDestroy();
        upstream.resetAndDestroy();
      } else {
        client.end();
        upstream.end();
        setTimeout(() => {
          client.destroy();
          upstream.destroy();
        }, 200).unref();
      }
    };
    const pipe = (from: Socket, to: Socket): void => {
      from.on('data', (chunk: Buffer) => {
        if (dead || frozen) return;
        stats.bytesRelayed += chunk.length;
        sinceDraw += chunk.length;
        let fault: FaultKind | undefined;
        while (sinceDraw >= unit && fault === undefined) {
          sinceDraw -= unit;
          fault = draw();
        }
        if (fault === 'reset') return kill('reset');
        if (fault === 'truncate') {
          to.write(chunk.subarray(0, Math.floor(chunk.length / 2)));
          return kill('truncate');
        }
        if (!to.write(chunk)) {
          from.pause();
          to.once('drain', () => from.resume());
        }
        if (fault === 'stall') {
          stats.injected.stall++;
          from.pause();
          setTimeout(() => {
            if (!dead) from.resume();
          }, stallFor()).unref();
        }
      });
      from.on('end', () => {
        if (!dead) to.end();
      });
      from.on('close', () => {
        if (!dead) to.destroy();
      });
    };
    pipe(client, upstream);
    pipe(upstream, client);
    // The per-connection draw: a fault right at the start (handshake, first request).
    const first = draw();
    if (first === 'reset' || first === 'truncate') {
      upstream.once('connect', () => kill(first));
    } else if (first === 'stall') {
      stats.injected.stall++;
      client.pause();
      setTimeout(() => {
        if (!dead) client.resume();
      }, stallFor()).unref();
    }
  }

  async function handleHttp(req: IncomingMessage, res: ServerResponse): Promise<void> {
    stats.requests++;
    const parts: Buffer[] = [];
    for await (const part of req) parts.push(part as Buffer);
    const body = Buffer.concat(parts);
    stats.bytesRelayed += body.length;
    const fault = draw();
    if (fault !== undefined) stats.injected[fault]++;
    if (fault === 'slowdown') {
      const xml = '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message><Resource>' +
        `${req.url ?? ''}</Resource><RequestId>chaos</RequestId></Error>`;
      res.writeHead(503, { 'Content-Type': 'application/xml', 'Content-Length': Buffer.byteLength(xml), 'Retry-After': '1' });
      res.end(xml);
      return;
    }
    if (fault === 'reset') {
      req.socket.resetAndDestroy();
      return;
    }
    if (fault === 'stall') await new Promise((r) => setTimeout(r, stallFor()));
    const headers = { ...req.headers };
    const upstream = httpRequest({ host: options.target.host, port: options.target.port, method: req.method, path: req.url, headers }, (up) => {
      if (fault === 'lost-response') {
        up.resume();
        up.on('end', () => req.socket.resetAndDestroy());
        return;
      }
      res.writeHead(up.statusCode ?? 502, up.headers);
      if (fault !== 'truncate') {
        up.on('data', (c: Buffer) => {
          stats.bytesRelayed += c.length;
        });
        up.pipe(res);
        return;
      }
      const chunks: Buffer[] = [];
      up.on('data', (c: Buffer) => chunks.push(c));
      up.on('end', () => {
        const all = Buffer.concat(chunks);
        if (all.length < 2) {
          // Nothing to cut short: drop the connection instead.
          req.socket.resetAndDestroy();
          return;
        }
        res.write(all.subarray(0, Math.floor(all.length / 2)), () => req.socket.destroy());
      });
    });
    upstream.on('error', () => req.socket.resetAndDestroy());
    upstream.end(body);
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    stats,
    setRate: (r: number) => {
      rate = r;
    },
    setBlackhole: (on: boolean) => {
      blackhole = on;
    },
    freeze: () => {
      frozen = true;
      blackhole = true;
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

async function main(argv: readonly string[]): Promise<void> {
  const [mode, port, target, rate, seed] = argv;
  const [host, targetPort] = (target ?? '').split(':');
  if ((mode !== 'tcp' && mode !== 'http') || port === undefined || host === undefined || targetPort === undefined) {
    console.error('usage: fault-proxy.ts tcp|http <listenPort> <targetHost:port> [rate=0.1] [seed=1]');
    process.exitCode = 2;
    return;
  }
  const proxy = await startFaultProxy({
    mode, port: Number(port), target: { host, port: Number(targetPort) }, rate: Number(rate ?? 0.1), seed: Number(seed ?? 1),
  });
  console.log(`fault-proxy: ${mode} 127.0.0.1:${proxy.port} -> ${host}:${targetPort} rate=${rate ?? 0.1}`);
  const report = (): void => console.log(`fault-proxy: ${JSON.stringify(proxy.stats)}`);
  process.on('SIGINT', () => {
    report();
    void proxy.close().then(() => process.exit(0));
  });
  setInterval(report, 10_000).unref();
}

if (require.main === module) void main(process.argv.slice(2));
