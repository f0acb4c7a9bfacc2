/**
 * The two workers of a Coffer host, sharing one connection:
 * - the shared queue (default `coffer`) runs every workflow and the
 *   repository-only activities;
 * - the host queue (`coffer@<host>`) runs only activities that read or write
 *   this machine's files (backup batches, restore, compare, drill scratch),
 *   with few slots because each of them is heavy.
 * Both register the same activity object.
 */
import { Worker } from '@temporalio/worker';
import type { NativeConnection, WorkflowBundleOption } from '@temporalio/worker';
import type { DataConverter, Duration } from '@temporalio/common';
import { greet } from '../activities/smoke';
import { workflowsPath } from './bundle';

export interface CofferWorkersOptions {
  readonly connection: NativeConnection;
  readonly namespace: string;
  readonly taskQueue: string;
  readonly hostTaskQueue: string;
  readonly activities: object;
  readonly dataConverter: DataConverter;
  /** Pre-built bundle (tests); default: bundle from workflows/ at start-up. */
  readonly workflowBundle?: WorkflowBundleOption;
  readonly hostActivitySlots?: number;
  readonly identity?: string;
  readonly shutdownGraceTime?: Duration;
  /** Most time between heartbeats sent to the server (the live progress bar's refresh); default 2 s. */
  readonly heartbeatInterval?: Duration;
}

export interface CofferWorkers {
  readonly shared: Worker;
  readonly host: Worker;
  /** Runs both until shutdown() (or a runtime shutdown signal); rejects if either fails. */
  run(): Promise<void>;
  shutdown(): void;
}

export async function createCofferWorkers(options: CofferWorkersOptions): Promise<CofferWorkers> {
  const activities = { ...options.activities, greet };
  const common = {
    connection: options.connection,
    namespace: options.namespace,
    dataConverter: options.dataConverter,
    shutdownGraceTime: options.shutdownGraceTime ?? ('20s'),
    // Heartbeats carry the progress the CLI's live bar shows; the SDK's default throttle (80% of the 30 s heartbeat
    // timeout) would let it move once per 24 s. One heartbeat call per running activity every 2 s is cheap.
    maxHeartbeatThrottleInterval: options.heartbeatInterval ?? '2s',
    defaultHeartbeatThrottleInterval: options.heartbeatInterval ?? '2s',
    ...(options.identity === undefined ? {} : { identity: options.identity }),
  };
  const shared = await Worker.create({
    ...common,
    taskQueue: options.taskQueue,
    activities,
    ...(options.workflowBundle === undefined ? { workflowsPath } : { workflowBundle: options.workflowBundle }),
  });
  const host = await Worker.create({
    ...common,
    taskQueue: options.hostTaskQueue,
    activities,
    maxConcurrentActivityTaskExecutions: options.hostActivitySlots ?? 4,
  });
  const stop = (): void => {
    for (const worker of [shared, host]) {
      if (worker.getState() === 'RUNNING') worker.shutdown();
    }
  };
  return {
    shared,
    host,
    async run() {
      // If one worker fails, stop the other so the process does not limp on half-registered.
      await Promise.all([shared.run().catch((err: unknown) => { stop(); throw err; }), host.run().catch((err: unknown) => { stop(); throw err; })]);
    },
    shutdown: stop,
  };
}
