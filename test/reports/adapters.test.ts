/**
 * Report inputs built from real records: an audit chain verified by the real
 * verifier (intact, then edited), the repository's algorithm constants, and a
 * stored drill record.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { GENESIS_MAC, sealAuditEntry, verifyAuditChain } from '../../activities/audit/chain';
import type { AuditEntry } from '../../activities/audit/chain';
import { KDF_MODERATE } from '../../activities/crypto/kdf';
import { ALGORITHMS } from '../../activities/repository/config';
import type { RepoConfig } from '../../activities/repository/config';
import { algorithmsFromRepoConfig, auditEvidenceFromVerify, complianceReportJson, drillResultFromRecord } from '../../activities/reports';
import { COMPLIANCE_DATA } from './fixtures';

function chain(key: Uint8Array, n: number): AuditEntry[] {
  const entries: AuditEntry[] = [];
  let prevMac = GENESIS_MAC;
  for (let seq = 1; seq <= n; seq++) {
    const entry = sealAuditEntry(key, {
      repoId: 'r1', seq, eventId: `e${seq}`, time: new Date(Date.UTC(2025, 0, 1, 0, seq)).toISOString(),
      principal: 'alice', action: 'backup', target: 'prod', outcome: 'succeeded', workflowId: `backup/${seq}`, prevMac,
    });
    entries.push(entry);
    prevMac = entry.mac;
  }
  return entries;
}

void test('audit evidence: verified through the head, or broken at the first tampered entry', () => {
  const key = randomBytes(32);
  const entries = chain(key, 20);
  const intact = auditEvidenceFromVerify(verifyAuditChain(entries, key, { repoId: 'r1' }));
  assert.equal(intact.verifiedThroughSeq, 20);
  assert.equal(intact.brokenAtSeq, undefined);
  assert.equal(complianceReportJson({ ...COMPLIANCE_DATA, audit: intact }).audit.status, 'verified');

  const tampered = entries.map((e) => (e.seq === 13 ? { ...e, outcome: 'failed' } : e));
  const broken = auditEvidenceFromVerify(verifyAuditChain(tampered, key, { repoId: 'r1' }), '2025-01-02T00:00:00.000Z');
  assert.equal(broken.brokenAtSeq, 13);
  assert.equal(broken.verifiedThroughSeq, 12);
  assert.ok(broken.problems.some((p) => p.seq === 13));
  const json = complianceReportJson({ ...COMPLIANCE_DATA, audit: broken });
  assert.equal(json.audit.status, 'broken');
  assert.ok(json.findings.some((f) => f.area === 'audit' && /broken at seq 13 \(verified up to seq 12\)/.test(f.message)));
});

void test('algorithms come from the repository config', () => {
  const config: RepoConfig = {
    formatVersion: 1, repoId: 'ab'.repeat(32), created: '2025-01-01T00:00:00.000Z', algorithms: ALGORITHMS,
    chunker: { minSize: 512 * 1024, avgSize: 1024 * 1024, maxSize: 8 * 1024 * 1024 }, packSize: 16 * 1024 * 1024, compressionLevel: 3, openPacks: 2,
  };
  const a = algorithmsFromRepoConfig(config, KDF_MODERATE);
  assert.deepEqual(a, {
    aead: ALGORITHMS.aead, kdf: ALGORITHMS.kdf, kdfParams: { opsLimit: KDF_MODERATE.opsLimit, memLimitBytes: KDF_MODERATE.memLimitBytes },
    chunkId: ALGORITHMS.chunkId, chunker: ALGORITHMS.chunker, compression: ALGORITHMS.compression, compressionLevel: 3, formatVersion: 1,
  });
});

void test('a stored drill record becomes a drill result (snapshot time = drill time − RPO)', () => {
  const r = drillResultFromRecord({
    repoId: 'r1', drillId: 'drill/r1/1', snapshotId: 'abc', time: '2025-03-01T06:00:00.000Z', passed: false,
    rtoMs: 1_140_000, rpoMs: 7_200_000, objectives: { rtoMs: 900_000, rpoMs: 93_600_000 }, figures: { files: 10, bytes: 2048 }, problems: ['RTO missed'],
  });
  assert.equal(r.snapshotTime, '2025-03-01T04:00:00.000Z');
  assert.equal(r.rtoSeconds, 1140);
  assert.equal(r.filesVerified, 10);
  assert.deepEqual(r.gaps, ['RTO missed']);
});
