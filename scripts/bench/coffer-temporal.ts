/**
 * "Coffer through Temporal": the same operations as the engine runner, but
 * each one is a real workflow (initRepositoryWorkflow, backupWorkflow,
 * restoreWorkflow, verifyWorkflow) on the local stack's Temporal server,
 * executed by a real Coffer worker running as a child process
 * (`node --import tsx workers/main.ts`, or dist/workers/main.js when the
 * benchmark itself runs compiled).
 *
 * Timed: from the client's workflow start to its result, as a user of the CLI
 * waits for it. The worker is started (and its workflow bundle built) in
 * setup(), like a long-running service, so its start-up is not timed; it
 * keeps the unlocked repository between operations, as a deployed worker
 * does, so only the first workflow of the run pays the key derivation (init's).
 * The restore workflow restores into a staging directory, compares it byte for
 * byte with the snapshot and only then swaps it into the target: that
 * compare is part of what it costs. Peak RSS is the worker's (VmHWM, reset
 * through /proc/<pid>/clear_refs before each operation when the kernel allows).
 *
 * Needs the stack (`npm run stack -- up`): TEMPORAL_ADDRESS from .data/stack.env.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { readStackEnv } from '../../activities/config/env-file';
import { createDataConverter } from '../../workers/data-converter';
import { EncryptionCodec } from '../../workers/codec';
import type { BackupResult } from '../../workflows/backup';
import type { RestoreOutput } from '../../workflows/restore';
import type { VerifyResult } from '../../workflows/verify';
import { duBytes } from './measure';
import { projectRoot, runningCompiled } from './paths';
import type { BenchContext, OpResult, Runner } from './runner';

/** How long the worker may take to bundle its workflows and connect. */
const WORKER_READY_MS = 180_000;

interface WorkerChild {
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
}

function startWorker(env: NodeJS.ProcessEnv, logFile: string): { worker: WorkerChild; ready: Promise<void> } {
  const root = projectRoot();
  const compiled = join(root, 'dist', 'workers', 'main.js');
  const args = runningCompiled() && existsSync(compiled) ? [compiled] : ['--import', 'tsx', join(root, 'workers', 'main.ts')];
  const log = createWriteStream(logFile, { flags: 'a' });
  const child = spawn(process.execPath, args, { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
  const ready = new Promise<void>((done, fail) => {
    let seen = '';
    const timer = setTimeout(() => fail(new Error(`the Coffer worker was not ready after ${WORKER_READY_MS / 1000} s; see ${logFile}`)), WORKER_READY_MS);
    child.stdout?.on('data', (c: Buffer) => {
      seen = (seen + c.toString('utf8')).slice(-4096);
      if (/coffer worker .*: namespace/.test(seen)) {
        clearTimeout(timer);
        done();
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      fail(new Error(`the Coffer worker exited (${String(code)}) before it was ready; see ${logFile}`));
    });
  });
  ready.catch(() => undefined);
  child.stdout?.pipe(log, { end: false });
  child.stderr?.pipe(log, { end: false });
  void exited.then(() => log.end());
  // Never leave a worker behind, whatever ends the benchmark.
  const killOnExit = (): void => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  process.once('exit', killOnExit);
  void exited.then(() => process.removeListener('exit', killOnExit));
  return { worker: { child, exited }, ready };
}

/** Resets the process's peak RSS counter (Linux: clear_refs 5); false when not allowed. */
function resetPeakRss(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5\n');
    return true;
  } catch {
    return false;
  }
}

function peakRssKiB(pid: number): number | undefined {
  try {
    const match = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match === null ? undefined : Number(match[1]);
  } catch {
    return undefined;
  }
}

export function createCofferTemporalRunner(ctx: BenchContext): Runner {
  const repo = join(ctx.workDir, 'repo');
  const runId = `${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
  const taskQueue = `coffer-bench-${runId}`;
  const host = `bench-${runId}`;
  const hostQueue = `${taskQueue}@${host}`;
  const codecKeyFile = join(ctx.workDir, 'codec.key');
  let worker: WorkerChild | undefined;
  let connection: Connection | undefined;
  let client: Client | undefined;
  let peakResettable = false;
  let address = '';
  /** Runs so far per operation: restore and verify run in several rounds, each its own workflow. */
  const runsOf = new Map<string, number>();

  const run = async <R>(op: string, workflow: string, input: unknown): Promise<{ result: R; op: OpResult }> => {
    if (client === undefined || worker?.child.pid === undefined) throw new Error('coffer-temporal: setup() did not run');
    const pid = worker.child.pid;
    if (worker.child.exitCode !== null) throw new Error(`coffer-temporal: the worker exited; see ${join(ctx.workDir, 'worker.log')}`);
    if (peakResettable) resetPeakRss(pid);
    const n = (runsOf.get(op) ?? 0) + 1;
    runsOf.set(op, n);
    const workflowId = `bench/${runId}/${op}-${n}`;
    const started = performance.now();
    const result = (await client.workflow.execute(workflow, { taskQueue, workflowId, args: [input] })) as R;
    const seconds = (performance.now() - started) / 1000;
    return { result, op: { seconds, peakRssKiB: peakResettable ? peakRssKiB(pid) : undefined, detail: { workflowId } } };
  };

  return {
    name: 'coffer-temporal',
    async describe() {
      return `Coffer through Temporal workflows (${address}), one worker child process (${runningCompiled() ? 'compiled' : 'tsx'}) started before the timed runs, local-directory repository, default init options; restore includes the staging compare and swap`;
    },
    async setup() {
      await mkdir(ctx.workDir, { recursive: true });
      const stack = readStackEnv();
      const temporal = process.env.TEMPORAL_ADDRESS ?? stack?.TEMPORAL_ADDRESS;
      if (temporal === undefined) throw new Error('coffer-temporal needs the local stack (`npm run stack -- up`): no TEMPORAL_ADDRESS in .data/stack.env');
      address = temporal;
      const namespace = process.env.TEMPORAL_NAMESPACE ?? stack?.TEMPORAL_NAMESPACE ?? 'default';
      // Creates the payload key both sides use.
      const codec = EncryptionCodec.fromKeyFile(codecKeyFile, true);
      connection = await Connection.connect({ address });
      client = new Client({ connection, namespace, dataConverter: createDataConverter(codec) });
      const env: NodeJS.ProcessEnv = {
        ...process.env,
        TEMPORAL_ADDRESS: address,
        TEMPORAL_NAMESPACE: namespace,
        COFFER_TASK_QUEUE: taskQueue,
        COFFER_HOST: host,
        COFFER_HOST_TASK_QUEUE: hostQueue,
        COFFER_CODEC_KEY_FILE: codecKeyFile,
        COFFER_CODEC_KEY_CREATE: 'false',
        COFFER_PASSWORD: ctx.passphrase,
        COFFER_METRICS_BIND: 'off',
        COFFER_CATALOG: 'off',
        COFFER_SCRATCH_DIR: join(ctx.workDir, 'scratch'),
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      };
      const started = performance.now();
      const spawned = startWorker(env, join(ctx.workDir, 'worker.log'));
      worker = spawned.worker;
      await spawned.ready;
      peakResettable = worker.child.pid !== undefined && resetPeakRss(worker.child.pid);
      ctx.log(`coffer-temporal: worker ready in ${((performance.now() - started) / 1000).toFixed(1)} s on ${taskQueue}`);
      await run('init', 'initRepositoryWorkflow', { repo });
    },
    async firstBackup() {
      const { result, op } = await run<BackupResult>('first-backup', 'backupWorkflow', { repo, paths: [ctx.source], host, hostQueue });
      return { ...op, detail: { ...op.detail, snapshot: result.snapshot.id, batches: result.plan.batches, totals: result.totals } };
    },
    async secondBackup() {
      const { result, op } = await run<BackupResult>('second-backup', 'backupWorkflow', { repo, paths: [ctx.source], host, hostQueue });
      return { ...op, detail: { ...op.detail, snapshot: result.snapshot.id, parent: result.snapshot.parent, totals: result.totals } };
    },
    async restore(target) {
      const { result, op } = await run<RestoreOutput>('restore', 'restoreWorkflow', { repo, snapshot: 'latest', target, host, hostQueue });
      if (result.verified.differences !== 0) throw new Error(`coffer-temporal: the restore workflow reported ${result.verified.differences} difference(s)`);
      return { ...op, detail: { ...op.detail, files: result.files, bytes: result.bytes, workflowMs: result.durationMs } };
    },
    restoredRoot: (target) => [join(target, ctx.source), join(target, basename(ctx.source)), target].find((c) => existsSync(join(c, 'small'))) ?? target,
    async verify() {
      const { result, op } = await run<VerifyResult>('verify', 'verifyWorkflow', { repo, level: 'read-data' });
      if (!result.ok || result.findings !== 0) throw new Error(`coffer-temporal: verify reported ${result.findings} finding(s)`);
      return { ...op, detail: { ...op.detail, packsChecked: result.packsChecked } };
    },
    repoSizeBytes: () => duBytes(repo),
    async close() {
      if (worker !== undefined && worker.child.exitCode === null && worker.child.signalCode === null) {
        worker.child.kill('SIGTERM');
        const stopped = await Promise.race([worker.exited.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 15_000).unref())]);
        if (!stopped) worker.child.kill('SIGKILL');
        await worker.exited;
      }
      await connection?.close();
    },
  };
}
