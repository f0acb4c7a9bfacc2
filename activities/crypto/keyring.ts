/**
 * The repository keyring: repository-lifetime keys, which never rotate (a new
 * chunk-id key or chunker seed would break deduplication against existing
 * data), and per-epoch data and metadata keys, which do. Every encrypted
 * object records the epoch whose key sealed it.
 */
import { KeyFileCorrupt } from './errors';
import { deriveSubkey } from './chunk-id';
import { randomBytes } from './random';

export const KEYRING_VERSION = 1;
const KEY_BYTES = 32;

export interface EpochKeys {
  readonly dataKey: Buffer;
  readonly metadataKey: Buffer;
}

export class UnknownEpoch extends RangeError {
  constructor(readonly epoch: number, known: readonly number[]) {
    super(`key epoch ${epoch} is not in this keyring (known epochs: ${known.join(', ') || 'none'})`);
    this.name = 'UnknownEpoch';
  }
}

interface SerializedKeyring {
  version: number;
  chunkIdKey: string;
  chunkerSeed: string;
  auditMacKey: string;
  currentEpoch: number;
  epochs: { epoch: number; dataKey: string; metadataKey: string }[];
}

export class Keyring {
  private readonly epochs: Map<number, EpochKeys>;

  private constructor(
    /** Keys the BLAKE3 chunk ids. Lifetime of the repository. */
    readonly chunkIdKey: Buffer,
    /** Seeds the chunker's gear table. Lifetime of the repository. */
    readonly chunkerSeed: Buffer,
    /** Keys audit MACs and key-file envelope MACs. Lifetime of the repository. */
    readonly auditMacKey: Buffer,
    epochs: Map<number, EpochKeys>,
    private current: number,
  ) {
    this.epochs = epochs;
  }

  /** A fresh keyring with epoch 1 as the current epoch. */
  static generate(): Keyring {
    const epochs = new Map<number, EpochKeys>([[1, { dataKey: randomBytes(KEY_BYTES), metadataKey: randomBytes(KEY_BYTES) }]]);
    return new Keyring(randomBytes(KEY_BYTES), randomBytes(KEY_BYTES), randomBytes(KEY_BYTES), epochs, 1);
  }

  /** The epoch new objects are sealed with. */
  get currentEpoch(): number {
    return this.current;
  }

  /** Epochs whose keys this keyring holds, ascending. */
  get epochNumbers(): number[] {
    return [...this.epochs.keys()].sort((a, b) => a - b);
  }

  /** Adds an epoch with new random keys, makes it current and returns its number. */
  addEpoch(): number {
    const epoch = Math.max(this.current, ...this.epochs.keys()) + 1;
    this.epochs.set(epoch, { dataKey: randomBytes(KEY_BYTES), metadataKey: randomBytes(KEY_BYTES) });
    this.current = epoch;
    return epoch;
  }

  /**
   * Forgets the keys of every epoch before `epoch` (after everything sealed
   * with them was re-encrypted). The current epoch can never be retired.
   * Returns the retired epoch numbers.
   */
  retireEpochsBefore(epoch: number): number[] {
    if (epoch > this.current) throw new RangeError(`cannot retire the current epoch ${this.current}`);
    const retired: number[] = [];
    for (const [n, keys] of this.epochs) {
      if (n < epoch) {
        keys.dataKey.fill(0);
        keys.metadataKey.fill(0);
        this.epochs.delete(n);
        retired.push(n);
      }
    }
    return retired.sort((a, b) => a - b);
  }

  hasEpoch(epoch: number): boolean {
    return this.epochs.has(epoch);
  }

  private keysOf(epoch: number): EpochKeys {
    const keys = this.epochs.get(epoch);
    if (keys === undefined) throw new UnknownEpoch(epoch, this.epochNumbers);
    return keys;
  }

  dataKey(epoch: number): Buffer {
    return this.keysOf(epoch).dataKey;
  }

  metadataKey(epoch: number): Buffer {
    return this.keysOf(epoch).metadataKey;
  }

  /**
   * A public, non-secret identifier of this keyring's lifetime keys (hex). It
   * is the same for every key file of a repository, so a client that pinned it
   * detects a key file substituted with another keyring.
   */
  fingerprint(): string {
    return deriveSubkey('coffer 2025 keyring fingerprint v1', Buffer.concat([this.chunkIdKey, this.chunkerSeed, this.auditMacKey])).toString('hex');
  }

  /** Versioned JSON with base64 keys. The result is secret: seal it before storing. */
  serialize(): Buffer {
    const doc: SerializedKeyring = {
      version: KEYRING_VERSION,
      chunkIdKey: this.chunkIdKey.toString('base64'),
      chunkerSeed: this.chunkerSeed.toString('base64'),
      auditMacKey: this.auditMacKey.toString('base64'),
      currentEpoch: this.current,
      epochs: this.epochNumbers.map((epoch) => {
        const keys = this.keysOf(epoch);
        return { epoch, dataKey: keys.dataKey.toString('base64'), metadataKey: keys.metadataKey.toString('base64') };
      }),
    };
    return Buffer.from(JSON.stringify(doc), 'utf8');
  }

  /** Parses `serialize()` output; anything malformed is KeyFileCorrupt. */
  static deserialize(buf: Uint8Array): Keyring {
    let doc: unknown;
    try {
      doc = JSON.parse(Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength).toString('utf8'));
    } catch (err) {
      throw new KeyFileCorrupt('keyring is not valid JSON', { cause: err });
    }
    if (typeof doc !== 'object' || doc === null) throw new KeyFileCorrupt('keyring is not a JSON object');
    const d = doc as Record<string, unknown>;
    if (d.version !== KEYRING_VERSION) throw new KeyFileCorrupt(`unsupported keyring version ${JSON.stringify(d.version)}`);
    const current = d.currentEpoch;
    if (!isEpochNumber(current)) throw new KeyFileCorrupt('keyring has an invalid currentEpoch');
    if (!Array.isArray(d.epochs) || d.epochs.length === 0) throw new KeyFileCorrupt('keyring has no epochs');
    const epochs = new Map<number, EpochKeys>();
    for (const e of d.epochs as unknown[]) {
      if (typeof e !== 'object' || e === null) throw new KeyFileCorrupt('keyring has an invalid epoch entry');
      const entry = e as Record<string, unknown>;
      if (!isEpochNumber(entry.epoch) || epochs.has(entry.epoch)) throw new KeyFileCorrupt('keyring has an invalid or duplicate epoch number');
      epochs.set(entry.epoch, { dataKey: key32(entry.dataKey, 'dataKey'), metadataKey: key32(entry.metadataKey, 'metadataKey') });
    }
    if (!epochs.has(current)) throw new KeyFileCorrupt(`keyring's current epoch ${current} has no keys`);
    return new Keyring(key32(d.chunkIdKey, 'chunkIdKey'), key32(d.chunkerSeed, 'chunkerSeed'), key32(d.auditMacKey, 'auditMacKey'), epochs, current);
  }

  /** Overwrites every key in memory; the keyring is unusable afterwards. */
  wipe(): void {
    this.chunkIdKey.fill(0);
    this.chunkerSeed.fill(0);
    this.auditMacKey.fill(0);
    for (const keys of this.epochs.values()) {
      keys.dataKey.fill(0);
      keys.metadataKey.fill(0);
    }
    this.epochs.clear();
  }
}

function isEpochNumber(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= 0xffffffff;
}

function key32(v: unknown, name: string): Buffer {
  if (typeof v !== 'string' || !/^[A-Za-z0-9+/]{43}=$/.test(v)) throw new KeyFileCorrupt(`keyring field ${name} is not a 32-byte base64 key`);
  return Buffer.from(v, 'base64');
}
