/**
 * Report inputs shaped like what the drill workflow and the catalog record:
 * a series of weekly drills (some failing on RTO, one on RPO, one on a
 * restore difference) and a growing repository. One snapshot path carries
 * markup, as user data can.
 */
import type { ComplianceReportData, DrillReportData, DrillResult } from '../../activities/reports';

export const XSS_PATH = '/srv/<script>window.__pwned = 1</script><img src=x onerror="window.__pwned=2">';
export const NOW = '2025-03-03T09:00:00.000Z';

const DAY_MS = 86_400_000;

function weeksAgo(n: number, hour = 6): string {
  return new Date(Date.parse(NOW) - n * 7 * DAY_MS - (9 - hour) * 3_600_000).toISOString();
}

function drill(weeks: number, rtoSeconds: number, rpoSeconds: number, gaps: readonly string[] = [], extra: Partial<DrillResult> = {}): DrillResult {
  const time = weeksAgo(weeks);
  return {
    time,
    drillId: `drill/prod/${time}`,
    snapshotId: `${(weeks * 7919).toString(16).padStart(8, '0')}c0ffee${'ab'.repeat(26)}`,
    snapshotTime: new Date(Date.parse(time) - rpoSeconds * 1000).toISOString(),
    rtoSeconds,
    rpoSeconds,
    filesVerified: 120_000 + weeks * 311,
    bytesVerified: 48_000_000_000 - weeks * 900_000_000,
    passed: gaps.length === 0,
    gaps,
    host: 'web-1',
    paths: ['/etc', '/srv/www'],
    ...extra,
  };
}

export const OBJECTIVES = { rtoSeconds: 900, rpoSeconds: 93_600 };

export const DRILLS: readonly DrillResult[] = [
  drill(7, 610, 30_000),
  drill(6, 655, 41_000),
  drill(5, 1_140, 38_500, ['RTO 19m exceeded the objective of 15m']),
  drill(4, 700, 35_000, [], { paths: [XSS_PATH, '/srv/www'] }),
  drill(3, 720, 120_000, ['RPO 1d 9h exceeded the objective of 1d 2h: the nightly backup of web-1 did not run']),
  drill(2, 690, 33_000),
  drill(1, 760, 36_000, ['restore differs from snapshot: /srv/www/index.html content mismatch']),
  drill(0, 705, 31_000),
];

export const FAILED = DRILLS.filter((d) => !d.passed).length;

export const GROWTH = Array.from({ length: 10 }, (_, i) => ({
  time: new Date(Date.parse(NOW) - (9 - i) * 6 * DAY_MS).toISOString(),
  bytes: Math.round(30e9 * (1 + 0.06 * i + 0.004 * i * i)),
}));

export const DRILL_DATA: DrillReportData = {
  repository: 's3://coffer/prod',
  objectives: OBJECTIVES,
  drills: DRILLS,
  growth: GROWTH,
  generatedAt: NOW,
};

export const COMPLIANCE_DATA: ComplianceReportData = {
  repository: { url: 's3://coffer/prod', repoId: '9f2c4e7a1b3d5f60718293a4b5c6d7e8f90112233445566778899aabbccddeef', created: '2023-11-02T10:00:00.000Z' },
  standard: 'ISO/IEC 27001:2022 A.8.13 (information backup)',
  algorithms: {
    aead: 'xchacha20-poly1305',
    kdf: 'argon2id',
    kdfParams: { opsLimit: 3, memLimitBytes: 256 * 1024 * 1024 },
    chunkId: 'blake3-keyed',
    chunker: 'fastcdc-normalized-2',
    compression: 'zstd',
    compressionLevel: 3,
    formatVersion: 1,
  },
  keys: [
    { keyId: 'a1b2c3d4e5f60718', kind: 'passphrase', label: 'ops team', createdAt: '2023-11-02T10:00:00.000Z' },
    { keyId: 'b2c3d4e5f6071829', kind: 'x25519', label: 'break-glass <recovery> key', createdAt: '2024-09-01T10:00:00.000Z' },
    { keyId: 'epoch-1', kind: 'epoch', epoch: 1, createdAt: '2023-11-02T10:00:00.000Z', retiredAt: '2024-11-05T12:00:00.000Z' },
    { keyId: 'epoch-2', kind: 'epoch', epoch: 2, createdAt: '2024-11-05T10:00:00.000Z' },
  ],
  rotations: [{ time: '2024-11-05T10:00:00.000Z', fromEpoch: 1, toEpoch: 2, status: 'completed', workflowId: 'rotate-keys/prod/2024-11-05' }],
  retention: [{ name: 'prod', policy: { keepDaily: 14, keepWeekly: 8, keepMonthly: 12, keepWithin: '2d' }, schedule: 'prune (0 5 * * 0)', lastRun: '2025-03-02T05:00:00.000Z', lastOutcome: 'succeeded' }],
  sources: [
    { name: 'etc', host: 'web-1', paths: ['/etc'], lastSuccess: { time: '2025-03-03T02:30:00.000Z', snapshotId: 'ee01ff0011223344' } },
    { name: 'www', host: 'web-1', paths: [XSS_PATH], lastSuccess: { time: '2025-03-03T02:31:00.000Z', snapshotId: 'ee01ff0011223355' } },
    { name: 'pg', host: 'db-1', paths: ['mydb.dump'], lastSuccess: { time: '2025-02-26T02:30:00.000Z', snapshotId: 'dd01ff0011223366' } },
    { name: 'mail', host: 'mx-1', paths: ['/var/mail'] },
  ],
  drills: { objectives: OBJECTIVES, results: DRILLS },
  audit: {
    entries: 1_204,
    verifiedThroughSeq: 1_187,
    brokenAtSeq: 1_188,
    problems: [{ kind: 'mac-mismatch', seq: 1_188, detail: 'entry 1188 was modified after it was written' }],
    verifiedAt: NOW,
  },
  generatedAt: NOW,
};
