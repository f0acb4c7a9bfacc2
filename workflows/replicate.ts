/**
 * replicateWorkflow (3-2-1): copy snapshots of a primary repository, and only
 * the chunks they need, to a secondary repository on another backend, then
 * verify the secondary. Optionally the secondary is created first as a
 * replica sharing the source's chunk-id key. Re-running copies nothing new.
 */
import { setHandler } from '@temporalio/workflow';
import { recordFailure, recordSuccess } from './catalog-steps';
import type { CatalogOutcome } from './catalog-steps';
import type { CopyReport, InitOptions } from '../activities/engine/api';
import type { InitReplicaOutput } from '../activities/replicate';
import type { VerifyOutcome } from '../activities/verify';
import { Codes } from './codes';
import { asJobFailure, userError } from './failures';
import { progressQuery } from './messages';
import type { JobProgress } from './messages';
import { sharedActivities } from './options';

export interface ReplicateInput {
  readonly source: string;
  readonly destination: string;
  /** Snapshot ids to copy; default: every snapshot of the source. */
  readonly snapshots?: readonly string[];
  /** Read every copied byte back at the destination (default: structural check). */
  readonly verifyReadData?: boolean;
  /** Create the destination first as a replica sharing the source's chunk-id key (kept if it already exists). */
  readonly initDestination?: boolean;
  readonly initOptions?: InitOptions;
}

export interface ReplicateResult {
  readonly replica?: InitReplicaOutput;
  readonly copied: CopyReport;
  readonly verify: VerifyOutcome;
  readonly ok: boolean;
  /** Whether the run and audit entry reached the catalog (workflows/catalog-steps.ts). */
  readonly catalog?: CatalogOutcome;
}

export async function replicateWorkflow(input: ReplicateInput): Promise<ReplicateResult> {
  if (typeof input.source !== 'string' || typeof input.destination !== 'string' || input.source === '' || input.destination === '') {
    throw userError(Codes.invalidInput, 'replication needs a source and a destination repository URL');
  }
  if (input.source.replace(/\/+$/, '') === input.destination.replace(/\/+$/, '')) {
    throw userError(Codes.invalidInput, 'source and destination are the same repository');
  }
  const acts = sharedActivities();
  let phase = 'list';
  setHandler(progressQuery, (): JobProgress => ({ job: 'replicate', phase }));
  const startedAt = Date.now();
  // Recorded in the source repository's catalog; the target names the destination without credentials.
  const target = `to ${redactedLocation(input.destination)}`;
  try {
    let replica: InitReplicaOutput | undefined;
    if (input.initDestination === true) {
      phase = 'init';
      replica = await acts.initReplicaRepository({ source: input.source, destination: input.destination, ...(input.initOptions === undefined ? {} : { options: input.initOptions }) });
    }
    phase = 'list';
    const ids = input.snapshots ?? (await acts.listSnapshotEntries({ repo: input.source })).map((s) => s.id);
    phase = 'copy';
    const copied = await acts.replicateSnapshots({ source: input.source, destination: input.destination, snapshotIds: ids });
    phase = 'verify';
    const verify = await acts.verifyRepository({ repo: input.destination, level: input.verifyReadData === true ? 'read-data' : 'structure' });
    phase = 'catalog';
    const catalog = await recordSuccess(
      {
        repo: input.source,
        type: 'replicate',
        action: 'replicate',
        target,
        figures: { snapshotsCopied: copied.snapshotsCopied, snapshotsSkipped: copied.snapshotsSkipped, bytesUploaded: copied.bytesUploaded, findings: verify.findings },
      },
      startedAt,
      input,
    );
    phase = 'done';
    return { ...(replica === undefined ? {} : { replica }), copied, verify, ok: verify.findings === 0, catalog };
  } catch (err) {
    phase = 'failed';
    const failure = asJobFailure(err);
    await recordFailure({ repo: input.source, type: 'replicate', action: 'replicate', target }, startedAt, input, failure);
    throw failure;
  }
}

/** A repository URL without user info or query (SAS tokens, keys): safe to record. */
function redactedLocation(url: string): string {
  return url.replace(/\/\/[^/@]*@/, '//').replace(/[?#].*$/, '');
}
