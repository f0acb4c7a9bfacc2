/**
 * The demo's job until the backup workflow exists: starts a real worker on a
 * task queue of its own, runs smokeWorkflow through the stack's Temporal
 * server, and prints the result with a link to the run in the Temporal UI.
 */
import { hostname } from 'node:os';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { readStackEnv } from '../../activities/config/env-file';
import * as activities from '../../activities/smoke';
import { ENV_FILE } from './paths';
import type { SmokeResult } from '../../workflows/smoke';

async function main(): Promise<void> {
  // ENV_FILE, not the reader's default: that one is resolved relative to the module and moves under dist/.
  const env = { ...readStackEnv(ENV_FILE), ...process.env };
  const address = env.TEMPORAL_ADDRESS;
  const namespace = env.TEMPORAL_NAMESPACE ?? 'default';
  const ui = env.COFFER_TEMPORAL_UI;
  if (address === undefined) throw new Error("TEMPORAL_ADDRESS is not set: run 'npm run stack -- up' first");
  Runtime.install({ logger: new DefaultLogger('WARN') });

  const taskQueue = `coffer-demo-smoke@${hostname()}`;
  const workflowId = `demo/smoke/${new Date().toISOString()}`;
  const worker = await Worker.create({
    connection: await NativeConnection.connect({ address }),
    namespace,
    taskQueue,
    workflowsPath: require.resolve('../../workflows/smoke'),
    activities,
  });
  const connection = await Connection.connect({ address });
  const client = new Client({ connection, namespace });
  const started = Date.now();
  const result = await worker.runUntil(
    client.workflow.execute<(input: { name: string }) => Promise<SmokeResult>>('smokeWorkflow', {
      taskQueue,
      workflowId,
      args: [{ name: 'Coffer' }],
    }),
  );
  await connection.close();
  console.log(`smokeWorkflow ${workflowId}: "${result.greeting}" in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  if (ui !== undefined) console.log(`  ${ui}/namespaces/${namespace}/workflows/${encodeURIComponent(workflowId)}`);
}

main().catch((error: unknown) => {
  console.error(`demo: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
