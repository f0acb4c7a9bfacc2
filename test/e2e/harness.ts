/**
 * End-to-end harness: the real Temporal dev server of the stack, real
 * in-process Coffer workers (shared + host queue, unique per harness), the
 * real engine on real storage, and a client using the same encrypting data
 * converter. Workflows are bundled once per test process.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import type { WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { DataConverter, Duration } from '@temporalio/common';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import type { WorkflowBundle } from '@temporalio/worker';
import type { EngineOptions } from '../../activities/engine';
import type { InitOptions } from '../../activities/engine/api';
import { InMemoryMetrics } from '../../activities/metrics';
import type { NotifyTarget } from '../../activities/notify/targets';
import type { RoutedNotifyTarget } from '../../activities/notify/routing';
import { bundleCofferWorkflows } from '../../workers/bundle';
import { EncryptionCodec } from '../../workers/codec';
import { createWorkerActivities } from '../../workers/activities';
import { createCofferWorkers } from '../../workers/create-workers';
import type { CofferWorkers } from '../../workers/create-workers';
import { createDataConverter } from '../../workers/data-converter';
import { commandPolicy } from '../../workers/config';
import { createWorkerDeps } from '../../workers/deps';
import type { WorkerDeps } from '../../workers/deps';
import { stackEnv, stackVar } from '../helpers/stack';

let bundlePromise: Promise<WorkflowBundle> | undefined;
let runtimeInstalled = false;

/** Worker logs at WARN so test output shows what matters (install once, before any worker). */
function installQuietRuntime(): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  try {
    Runtime.install({ logger: new DefaultLogger('WARN') });
  } catch {
    // another harness or test installed one already
  }
}

/** The workflow bundle, built once per test process (~3-5 s). */
export async function workflowBundle(): Promise<WorkflowBundle> {
  bundlePromise ??= bundleCofferWorkflows();
  return bundlePromise;
}

/** Cheap Argon2 and small chunks/packs: tests exercise the format, not the KDF cost. */
export const TEST_INIT_OPTIONS: InitOptions = {
  kdf: { opsLimit: 1, memLimitBytes: 8 * 1024 * 1024 },
  averageChunkSize: 64 * 1024,
  packSize: 1024 * 1024,
};

export const TEST_PASSWORD = 'correct horse battery staple';

export interface HarnessOptions {
  readonly engine?: EngineOptions;
  /** Run workers (default true); false = client only (e.g. a child-process worker). */
  readonly workers?: boolean;
  /** Temporal frontend (default: the stack's TEMPORAL_ADDRESS), e.g. a private server a chaos test restarts. */
  readonly address?: string;
  /**
   * Give the workers a catalog on the stack's MongoDB (COFFER_MONGODB_URL):
   * true = a fresh database named after the harness; or a chosen database
   * (e.g. one per test file). Default: no catalog.
   */
  readonly catalog?: boolean | { readonly dbName: string; readonly url?: string };
  /** Notification targets of the workers. */
  readonly notifyTargets?: readonly (NotifyTarget | RoutedNotifyTarget)[];
  /** Programs command sources and hooks may run on the workers (COFFER_ALLOW_COMMANDS; default none). */
  readonly allowCommands?: readonly string[];
  /** Heartbeat interval of the workers (default the workers' 2 s); a test of the live bar wants it short. */
  readonly heartbeatInterval?: string;
  /** Wraps the registered activities (fault injection: e.g. fail an activity once after it did its work). */
  readonly wrapActivities?: (activities: Record<string, (input: never) => Promise<unknown>>) => object;
}

export interface Harness {
  readonly id: string;
  readonly client: Client;
  readonly taskQueue: string;
  readonly hostQueue: string;
  readonly host: string;
  readonly tmp: string;
  readonly codecKeyFile: string;
  readonly codec: EncryptionCodec;
  readonly dataConverter: DataConverter;
  readonly metrics: InMemoryMetrics;
  readonly deps: WorkerDeps | undefined;
  /** The catalog the workers write to (connect with Catalog.open to inspect it); undefined without one. */
  readonly catalog?: { readonly url: string; readonly dbName: string };
  /** Stack env plus what a CLI or worker child process needs to join this harness. */
  childEnv(extra?: Record<string, string>): NodeJS.ProcessEnv;
  start<R>(workflow: string, input: unknown, workflowId?: string): Promise<{ handle: WorkflowHandleWithFirstExecutionRunId; result: Promise<R> }>;
  run<R>(workflow: string, input: unknown, workflowId?: string): Promise<R>;
  close(): Promise<void>;
}

export function uniqueId(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
}

export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  installQuietRuntime();
  const id = uniqueId('e2e');
  const address = options.address ?? stackVar('TEMPORAL_ADDRESS');
  const namespace = stackEnv().TEMPORAL_NAMESPACE ?? 'default';
  const tmp = await mkdtemp(join(tmpdir(), 'coffer-e2e-'));
  const codecKeyFile = join(tmp, 'codec.key');
  const codec = EncryptionCodec.fromKeyFile(codecKeyFile, true);
  const dataConverter = createDataConverter(codec);
  const taskQueue = `coffer-test-${id}`;
  const host = `host-${id}`;
  const hostQueue = `${taskQueue}@${host}`;
  const metrics = new InMemoryMetrics();
  const storageEnv: Record<string, string> = {};
  for (const [k, v] of Object.entries({ ...stackEnv(), ...process.env })) if (v !== undefined) storageEnv[k] = v;

  const connection = await Connection.connect({ address });
  const client = new Client({ connection, namespace, dataConverter });

  let nativeConnection: NativeConnection | undefined;
  let workers: CofferWorkers | undefined;
  let running: Promise<void> | undefined;
  let deps: WorkerDeps | undefined;
  const catalog =
    options.catalog === undefined || options.catalog === false
      ? undefined
      : {
          url: options.catalog === true || options.catalog.url === undefined ? stackVar('COFFER_MONGODB_URL') : options.catalog.url,
          dbName: options.catalog === true ? `coffer_${id.replace(/[^A-Za-z0-9]/g, '_')}` : options.catalog.dbName,
        };
  if (options.workers !== false) {
    nativeConnection = await NativeConnection.connect({ address });
    deps = createWorkerDeps(
      { secrets: { password: TEST_PASSWORD }, scratchDir: join(tmp, 'scratch'), storageEnv, engine: {}, commands: commandPolicy(options.allowCommands?.join(','), process.env) },
      metrics,
      options.engine,
      { ...(catalog === undefined ? {} : { catalog }), notifyTargets: options.notifyTargets ?? [] },
    );
    workers = await createCofferWorkers({
      connection: nativeConnection,
      namespace,
      taskQueue,
      hostTaskQueue: hostQueue,
      activities: options.wrapActivities === undefined ? createWorkerActivities(deps) : options.wrapActivities(createWorkerActivities(deps) as Record<string, (input: never) => Promise<unknown>>),
      dataConverter,
      workflowBundle: await workflowBundle(),
      shutdownGraceTime: '2s',
      ...(options.heartbeatInterval === undefined ? {} : { heartbeatInterval: options.heartbeatInterval as Duration }),
    });
    running = workers.run();
  }

  const harness: Harness = {
    id,
    client,
    taskQueue,
    hostQueue,
    host,
    tmp,
    codecKeyFile,
    codec,
    dataConverter,
    metrics,
    deps,
    ...(catalog === undefined ? {} : { catalog }),
    childEnv(extra = {}) {
      return {
        ...process.env,
        COFFER_TASK_QUEUE: taskQueue,
        COFFER_HOST: host,
        COFFER_HOST_TASK_QUEUE: hostQueue,
        COFFER_CODEC_KEY_FILE: codecKeyFile,
        COFFER_PASSWORD: TEST_PASSWORD,
        COFFER_METRICS_BIND: 'off',
        COFFER_SCRATCH_DIR: join(tmp, 'scratch'),
        ...(options.allowCommands === undefined ? {} : { COFFER_ALLOW_COMMANDS: options.allowCommands.join(',') }),
        TEMPORAL_ADDRESS: address,
        ...(catalog === undefined ? { COFFER_CATALOG: 'off' } : { COFFER_MONGODB_URL: catalog.url, COFFER_CATALOG_DB: catalog.dbName }),
        ...extra,
      };
    },
    async start<R>(workflow: string, input: unknown, workflowId = uniqueId(workflow)) {
      const handle = await client.workflow.start(workflow, { taskQueue, workflowId, args: [input] });
      return { handle, result: handle.result() as Promise<R> };
    },
    async run<R>(workflow: string, input: unknown, workflowId?: string) {
      const { result } = await harness.start<R>(workflow, input, workflowId);
      return result;
    },
    async close() {
      workers?.shutdown();
      await running?.catch(() => undefined);
      await deps?.close();
      await nativeConnection?.close();
      await connection.close();
      await rm(tmp, { recursive: true, force: true });
    },
  };
  return harness;
}

/** The Coffer error code nearest the top of a failed workflow's cause chain. */
export function failureCode(err: unknown): string | undefined {
  let current: unknown = err;
  while (current instanceof Error) {
    if (current instanceof ApplicationFailure && typeof current.type === 'string' && current.type.startsWith('COFFER-')) return current.type;
    current = current.cause;
  }
  return undefined;
}
