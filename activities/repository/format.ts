/**
 * Constants of the repository format (docs/design.md is the normative text)
 * and the names of stored objects. Everything format-related that a reader
 * must agree on lives here.
 */
import { InvalidInput } from '../errors';

/** The format version this code writes and reads. */
export const FORMAT_VERSION = 1;

/** Object type names used in associated data (and, as codes, in envelopes). */
export const ObjectType = {
  config: 'config',
  index: 'index',
  snapshot: 'snapshot',
  lock: 'lock',
  plan: 'plan',
  planFiles: 'plan-files',
  batch: 'batch',
  packHeader: 'pack-header',
  chunkData: 'chunk-data',
  chunkTree: 'chunk-tree',
  auditHead: 'audit-head',
  drillReport: 'drill-report',
} as const;
export type ObjectTypeName = (typeof ObjectType)[keyof typeof ObjectType];

/** Envelope type codes (one byte in the cleartext envelope header). */
export const OBJECT_TYPE_CODES: Readonly<Record<ObjectTypeName, number>> = {
  config: 1,
  index: 2,
  snapshot: 3,
  lock: 4,
  plan: 5,
  batch: 6,
  'pack-header': 7,
  'chunk-data': 8,
  'chunk-tree': 9,
  'plan-files': 10,
  'audit-head': 11,
  'drill-report': 12,
};

export type ChunkType = 'data' | 'tree';

export function chunkObjectType(type: ChunkType): ObjectTypeName {
  return type === 'data' ? ObjectType.chunkData : ObjectType.chunkTree;
}

const HEX64 = /^[0-9a-f]{64}$/;

export function isObjectId(id: string): boolean {
  return HEX64.test(id);
}

export const Names = {
  config: 'config',
  /** Written first when the config is replaced (key rotation); read if `config` is missing. */
  configNext: 'config-next',
  keysPrefix: 'keys/',
  key: (id: string): string => `keys/${id}`,
  dataPrefix: 'data/',
  pack: (id: string): string => `data/${id.slice(0, 2)}/${id}`,
  indexPrefix: 'index/',
  index: (id: string): string => `index/${id}`,
  snapshotsPrefix: 'snapshots/',
  /** Snapshots carry their epoch in the name so re-encryption can write beside the old copy. */
  snapshot: (id: string, epoch: number): string => `snapshots/${id}.e${epoch}`,
  locksPrefix: 'locks/',
  lock: (id: string): string => `locks/${id}`,
  plansPrefix: 'plans/',
  planPrefix: (planId: string): string => `plans/${planId}/`,
  plan: (planId: string): string => `plans/${planId}/plan`,
  planFiles: (planId: string, batch: number): string => `plans/${planId}/files-${batch}`,
  batch: (planId: string, batch: number): string => `plans/${planId}/batch-${batch}`,
  batchPartPrefix: (planId: string, batch: number): string => `plans/${planId}/part-${batch}-`,
  batchPart: (planId: string, batch: number, part: number): string => `plans/${planId}/part-${batch}-${part}`,
  /** Audit chain checkpoints; the zero-padded seq makes names sort in seq order. */
  auditPrefix: 'audit/',
  auditHead: (seqPadded: string): string => `audit/head-${seqPadded}`,
  /** DR drill reports, named by a keyed hash of the drill id. */
  drillsPrefix: 'drills/',
  drillReport: (id: string): string => `drills/${id}`,
} as const;

/** Parses `data/ab/<id>` into the pack id, or undefined for foreign names. */
export function packIdOfName(name: string): string | undefined {
  const m = /^data\/([0-9a-f]{2})\/([0-9a-f]{64})$/.exec(name);
  if (m === null || m[2].slice(0, 2) !== m[1]) return undefined;
  return m[2];
}

export function snapshotNameParts(name: string): { id: string; epoch: number } | undefined {
  const m = /^snapshots\/([0-9a-f]{64})\.e([0-9]{1,10})$/.exec(name);
  if (m === null) return undefined;
  return { id: m[1], epoch: Number(m[2]) };
}

export function lastSegment(name: string): string {
  const i = name.lastIndexOf('/');
  return i < 0 ? name : name.slice(i + 1);
}

/** Limits that keep hostile metadata from exhausting memory. */
export const Limits = {
  /** Largest decompressed metadata object (index, plan, snapshot...). */
  maxMetadataBytes: 1024 * 1024 * 1024,
  /** Largest pack header in bytes. */
  maxPackHeaderBytes: 64 * 1024 * 1024,
  /** Packs must stay below 4 GiB: offsets are u32. */
  maxPackSize: 2 ** 32 - 1,
} as const;

export interface RepoConfigInput {
  readonly averageChunkSize: number;
  readonly packSize: number;
  readonly compressionLevel: number;
}

export const DEFAULTS = {
  averageChunkSize: 1024 * 1024,
  packSize: 16 * 1024 * 1024,
  compressionLevel: 1,
} as const;

export function checkConfigInput(input: RepoConfigInput): void {
  const { averageChunkSize, packSize, compressionLevel } = input;
  if (!Number.isInteger(averageChunkSize) || averageChunkSize < 256 || averageChunkSize > 64 * 1024 * 1024 || (averageChunkSize & (averageChunkSize - 1)) !== 0) {
    throw new InvalidInput(`average chunk size must be a power of two between 256 B and 64 MiB (got ${averageChunkSize})`);
  }
  if (!Number.isInteger(packSize) || packSize < 4096 || packSize > 1024 * 1024 * 1024) {
    throw new InvalidInput(`pack size must be between 4 KiB and 1 GiB (got ${packSize})`);
  }
  if (!Number.isInteger(compressionLevel) || compressionLevel < 1 || compressionLevel > 19) {
    throw new InvalidInput(`compression level must be between 1 and 19 (got ${compressionLevel})`);
  }
}
