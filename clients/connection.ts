/**
 * A Temporal client configured like the worker: same address, namespace,
 * TLS or API key, and the same encrypting DataConverter (so the CLI can read
 * the results and failures the worker wrote, and writes only ciphertext).
 */
import { Client, Connection } from '@temporalio/client';
import { CofferError } from '../activities/errors';
import type { TemporalConfig } from '../workers/config';
import { loadDataConverter } from '../workers/data-converter';
import { tlsOptions } from '../workers/tls';

export class TemporalUnreachable extends CofferError {
  readonly code = 'COFFER-E401';
  readonly retryable = true;
}

export class NoWorker extends CofferError {
  readonly code = 'COFFER-E410';
  readonly retryable = true;
}

export async function connectClient(config: TemporalConfig): Promise<Client> {
  let connection: Connection;
  try {
    const tls = tlsOptions(config);
    connection = await Connection.connect({
      address: config.address,
      connectTimeout: '5s',
      ...(tls === undefined ? {} : { tls }),
      ...(config.apiKey === undefined ? {} : { apiKey: config.apiKey }),
    });
  } catch (err) {
    throw new TemporalUnreachable(`cannot reach Temporal at ${config.address}`, {
      cause: err,
      hint: "start the local stack with 'npm run stack -- up', or set TEMPORAL_ADDRESS",
    });
  }
  return new Client({ connection, namespace: config.namespace, dataConverter: loadDataConverter(config) });
}

const TASK_QUEUE_KIND_NORMAL = 1;
const TASK_QUEUE_TYPE_WORKFLOW = 1;
const TASK_QUEUE_TYPE_ACTIVITY = 2;

/**
 * Fails fast, with the command to run, when no worker polls a queue the job
 * needs (otherwise the CLI would wait forever for a job nobody picks up).
 */
export async function requirePollers(client: Client, queue: string, kind: 'workflow' | 'activity'): Promise<void> {
  const response = await client.workflowService.describeTaskQueue({
    namespace: client.options.namespace,
    taskQueue: { name: queue, kind: TASK_QUEUE_KIND_NORMAL },
    taskQueueType: kind === 'workflow' ? TASK_QUEUE_TYPE_WORKFLOW : TASK_QUEUE_TYPE_ACTIVITY,
  });
  if ((response.pollers ?? []).length === 0) {
    throw new NoWorker(`no Coffer worker is polling task queue '${queue}'`, {
      hint: `start a worker on this host: node dist/workers/main.js (or node --import tsx workers/main.ts) with COFFER_TASK_QUEUE set like this CLI's`,
    });
  }
}
