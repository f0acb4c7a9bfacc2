/** A private Temporal dev server (the stack's binary, own port and SQLite file) that a chaos test may kill and restart. */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createServer, connect } from 'node:net';
import { resolve } from 'node:path';

const TEMPORAL_BIN = resolve(__dirname, '..', '..', '.tools', 'bin', 'temporal');

export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}

async function accepting(port: number): Promise<boolean> {
  return new Promise((resolveProbe) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolveProbe(true);
    });
    socket.once('error', () => resolveProbe(false));
  });
}

/**
 * Starts a private server on a free port. The dev server also binds ports
 * derived from the frontend's (HTTP API at +1000, internal services), which a
 * free frontend port does not guarantee: a start that fails at once is tried
 * again on another port.
 */
export async function startPrivateTemporal(dbFile: string, attempts = 4): Promise<PrivateTemporal> {
  let last: unknown;
  for (let i = 0; i < attempts; i++) {
    const server = new PrivateTemporal(await freePort(), dbFile);
    try {
      await server.start();
      return server;
    } catch (err) {
      last = err;
      await server.kill();
    }
  }
  throw last instanceof Error ? last : new Error(String(last));
}

export class PrivateTemporal {
  private child: ChildProcess | undefined;
  private log = '';

  constructor(
    readonly port: number,
    private readonly dbFile: string,
  ) {}

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const child = spawn(TEMPORAL_BIN, ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(this.port), '--headless', '--db-filename', this.dbFile, '--log-level', 'error'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.on('data', (d: Buffer) => (this.log += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (this.log += d.toString()));
    this.child = child;
    const deadline = Date.now() + 30_000;
    while (!(await accepting(this.port))) {
      if (child.exitCode !== null) throw new Error(`temporal dev server exited with status ${child.exitCode}: ${this.log.slice(-2000) || '(no output)'}`);
      if (Date.now() > deadline) throw new Error('temporal dev server did not start within 30 s');
      await new Promise((r) => setTimeout(r, 200));
    }
    // The frontend accepts connections slightly before the namespace is served.
    await new Promise((r) => setTimeout(r, 1500));
  }

  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const child = this.child;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill(signal);
    await exited;
  }
}
