/**
 * Codec server for the Temporal Web UI and `temporal` CLI: POST /decode and
 * /encode take `{ payloads: [{ metadata: {k: base64}, data: base64 }] }` and
 * answer in the same shape, so the UI can show decrypted inputs and results.
 * It holds the codec key, so bind it to loopback (the default) or put it
 * behind authentication; CORS allows only the configured UI origin.
 *
 * Run: node --import tsx workers/codec-server.ts [--port 8888] [--origin http://127.0.0.1:8233]
 * then in the UI: Settings (gear) -> Codec Server -> http://127.0.0.1:8888
 */
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Payload, PayloadCodec } from '@temporalio/common';
import { environmentWithStack } from '../activities/config/env-file';
import { EncryptionCodec } from './codec';
import { loadTemporalConfig } from './config';

interface JsonPayload {
  metadata?: Record<string, string> | null;
  data?: string | null;
}

const MAX_BODY_BYTES = 8 * 1024 * 1024;

function fromJson(json: JsonPayload): Payload {
  return {
    metadata: Object.fromEntries(Object.entries(json.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64')])),
    data: json.data === undefined || json.data === null ? undefined : Buffer.from(json.data, 'base64'),
  };
}

function toJson(payload: Payload): JsonPayload {
  return {
    metadata: Object.fromEntries(
      Object.entries(payload.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v ?? new Uint8Array()).toString('base64')]),
    ),
    data: payload.data === undefined || payload.data === null ? undefined : Buffer.from(payload.data).toString('base64'),
  };
}

async function readBody(req: IncomingMessage): Promise<string> {
  const parts: Buffer[] = [];
  let size = 0;
  for await (const part of req) {
    const buf = part as Buffer;
    size += buf.length;
    if (size > MAX_BODY_BYTES) throw new Error('request body too large');
    parts.push(buf);
  }
  return Buffer.concat(parts).toString('utf8');
}

function parsePayloads(body: string): Payload[] {
  const parsed = JSON.parse(body) as { payloads?: unknown };
  if (!Array.isArray(parsed.payloads)) throw new Error('body must be { "payloads": [...] }');
  return (parsed.payloads as JsonPayload[]).map(fromJson);
}

export interface CodecServerOptions {
  readonly codec: PayloadCodec;
  /** Origins allowed by CORS (the Temporal UI), e.g. http://127.0.0.1:8233. */
  readonly allowedOrigins: readonly string[];
}

export function createCodecServer(options: CodecServerOptions): Server {
  return createServer((req: IncomingMessage, res: ServerResponse) => {
    const origin = req.headers.origin;
    if (origin !== undefined && (options.allowedOrigins.includes(origin) || options.allowedOrigins.includes('*'))) {
      res.setHeader('Access-Control-Allow-Origin', origin);
      res.setHeader('Vary', 'Origin');
      res.setHeader('Access-Control-Allow-Methods', 'POST, OPTIONS');
      res.setHeader('Access-Control-Allow-Headers', 'content-type, x-namespace, authorization');
      res.setHeader('Access-Control-Allow-Credentials', 'true');
    }
    if (req.method === 'OPTIONS') {
      res.writeHead(204).end();
      return;
    }
    const route = req.url?.split('?')[0];
    if (req.method !== 'POST' || (route !== '/encode' && route !== '/decode')) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('POST /encode or /decode\n');
      return;
    }
    readBody(req)
      .then(async (body) => {
        const payloads = parsePayloads(body);
        const result = route === '/encode' ? await options.codec.encode(payloads) : await options.codec.decode(payloads);
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ payloads: result.map(toJson) }));
      })
      .catch((err: unknown) => {
        // The message never holds key material: codec errors name key ids only.
        const message = err instanceof Error ? err.message : String(err);
        res.writeHead(400, { 'content-type': 'text/plain' }).end(`${message}\n`);
      });
  });
}

function argument(name: string): string | undefined {
  const index = process.argv.indexOf(name);
  return index >= 0 ? process.argv[index + 1] : undefined;
}

async function main(): Promise<void> {
  const env = environmentWithStack();
  const config = loadTemporalConfig(env);
  const port = Number(argument('--port') ?? env.COFFER_CODEC_SERVER_PORT ?? 8888);
  const bind = argument('--bind') ?? '127.0.0.1';
  const origins = (argument('--origin') ?? env.COFFER_TEMPORAL_UI ?? 'http://127.0.0.1:8233').split(',');
  const codec = EncryptionCodec.fromKeyFile(config.codecKeyFile, config.codecKeyCreate);
  const server = createCodecServer({ codec, allowedOrigins: origins });
  await new Promise<void>((resolveListen, reject) => {
    server.once('error', reject);
    server.listen(port, bind, resolveListen);
  });
  console.log(`codec server on http://${bind}:${port} (key ${codec.activeKeyId}); CORS origin(s): ${origins.join(', ')}`);
  const stop = (): void => {
    server.close();
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
