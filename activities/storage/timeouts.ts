import { InvalidInput } from '../errors';
import { Transient } from './errors';

/**
 * Timeouts for network backends (S3, SFTP), so that no storage call can hang
 * on a dead or stalled link: a peer that vanished without FIN or RST (a
 * crashed NAT, a pulled cable, a frozen VM) otherwise leaves a request
 * waiting forever, and with it the Temporal activity that made it.
 *
 * A call that stops making progress fails with Transient (retryable). The
 * backend then treats the link as silent for `deadLinkCooldownMs`: new calls
 * fail fast instead of each waiting out another full timeout, so the
 * in-process retries (RetryingBackend, seconds) give up quickly and a long
 * outage is left to Temporal's retry policy, as docs/storage.md describes.
 * Any reply from the server ends the cool-down at once.
 */
export interface StorageTimeouts {
  /** Establishing a connection (TCP connect for S3; TCP + SSH handshake + SFTP subsystem for SFTP). Default 10 s. */
  readonly connectTimeoutMs?: number;
  /** A call with no progress (no byte received, no SFTP reply) for this long is abandoned as Transient. Default 30 s. */
  readonly idleTimeoutMs?: number;
  /** After a call was abandoned for silence, new calls fail fast (Transient) for this long unless the server answers. Default 15 s; 0 disables. */
  readonly deadLinkCooldownMs?: number;
  /** SFTP: SSH keepalive interval. Default 5 s. */
  readonly keepaliveIntervalMs?: number;
  /** SFTP: unanswered keepalives before the connection is declared dead. Default 3. */
  readonly keepaliveCountMax?: number;
}

export type ResolvedTimeouts = Required<StorageTimeouts>;

export const DEFAULT_TIMEOUTS: ResolvedTimeouts = Object.freeze({
  connectTimeoutMs: 10_000,
  idleTimeoutMs: 30_000,
  deadLinkCooldownMs: 15_000,
  keepaliveIntervalMs: 5_000,
  keepaliveCountMax: 3,
});

/** Fills in defaults and refuses nonsense (InvalidInput), so a typo cannot turn a timeout off. */
export function resolveTimeouts(given: StorageTimeouts | undefined): ResolvedTimeouts {
  const out = { ...DEFAULT_TIMEOUTS, ...stripUndefined(given ?? {}) };
  for (const [key, value] of Object.entries(out)) {
    const min = key === 'deadLinkCooldownMs' ? 0 : 1;
    if (!Number.isSafeInteger(value) || value < min) {
      throw new InvalidInput(`storage timeout ${key} must be an integer >= ${min} (got ${String(value)})`);
    }
  }
  return out;
}

function stripUndefined(t: StorageTimeouts): StorageTimeouts {
  return Object.fromEntries(Object.entries(t).filter(([, v]) => v !== undefined));
}

/**
 * The state of one backend's link: a small circuit breaker. `markSilent`
 * after a call was abandoned for lack of progress opens it for the cool-down;
 * `markAlive` on any server reply closes it. `check` throws Transient while
 * it is open.
 */
export class LinkHealth {
  private silentUntil = 0;
  private silentSince = 0;

  constructor(private readonly cooldownMs: number, private readonly location: string, private readonly now: () => number = Date.now) {}

  check(): void {
    if (this.silentUntil === 0) return;
    const now = this.now();
    if (now >= this.silentUntil) {
      this.silentUntil = 0; // half-open: let the next call find out
      return;
    }
    throw new Transient(
      `the link to ${this.location} went silent ${Math.round((now - this.silentSince) / 1000)} s ago; not trying again for ${Math.ceil((this.silentUntil - now) / 1000)} s`,
      { hint: 'check the network path to the storage server; the job is retried later' },
    );
  }

  markSilent(): void {
    if (this.cooldownMs <= 0) return;
    const now = this.now();
    if (this.silentUntil === 0) this.silentSince = now;
    this.silentUntil = now + this.cooldownMs;
  }

  markAlive(): void {
    this.silentUntil = 0;
  }

  get silent(): boolean {
    return this.silentUntil !== 0 && this.now() < this.silentUntil;
  }
}

/**
 * Settles like `work`, or rejects with `onTimeout()` after `ms` (and calls it
 * only then, so it can tear the connection down). The timer never keeps the
 * process alive.
 */
export function withDeadline<T>(work: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(onTimeout()), ms);
    timer.unref();
    work.then((value) => {
      clearTimeout(timer);
      resolve(value);
    }, (err: unknown) => {
      clearTimeout(timer);
      reject(err instanceof Error ? err : new Error(String(err)));
    });
  });
}

/**
 * Node/SDK error shapes that mean "the peer went quiet", as opposed to refused
 * or reset. The AWS SDK's HTTP handler names ECONNRESET and EPIPE
 * `TimeoutError` too: those are a live peer hanging up, not silence.
 */
export function isStallError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: unknown }).code;
  if (code === 'ECONNRESET' || code === 'EPIPE') return false;
  return err.name === 'TimeoutError' || code === 'ETIMEDOUT' || code === 'ESOCKETTIMEDOUT'
    || /Keepalive timeout|Timed out while waiting for handshake/i.test(err.message);
}
