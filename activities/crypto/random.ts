/**
 * Randomness for keys, nonces, salts and ids: the operating system's CSPRNG
 * through Node's crypto. Never used from workflows (not deterministic).
 */
import { randomBytes as nodeRandomBytes } from 'node:crypto';

export function randomBytes(n: number): Buffer {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`randomBytes: invalid length ${n}`);
  return nodeRandomBytes(n);
}

/** A random identifier: 32 random bytes as 64 lowercase hex characters. */
export function randomId(): string {
  return nodeRandomBytes(32).toString('hex');
}
