import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import * as activities from '../../activities/smoke';
import { smokeWorkflow } from '../../workflows/smoke';
import { stackVar } from '../helpers/stack';

// Keep the test output to failures: the worker logs every state change at INFO.
Runtime.install({ logger: new DefaultLogger('WARN') });

let env: TestWorkflowEnvironment;

before(async () => {
  env = await TestWorkflowEnvironment.createFromExistingServer({
    address: stackVar('TEMPORAL_ADDRESS'),
    namespace: stackVar('TEMPORAL_NAMESPACE'),
  });
});

after(async () => {
  await env?.teardown();
});

void test('a real worker runs the smoke workflow and its activity on the stack\'s Temporal server', async () => {
  const taskQueue = `smoke-${randomUUID()}`;
  const worker = await Worker.create({
    connection: env.nativeConnection,
    namespace: stackVar('TEMPORAL_NAMESPACE'),
    taskQueue,
    workflowsPath: require.resolve('../../workflows/smoke'),
    activities,
  });
  const workflowId = `smoke/${randomUUID()}`;
  const result = await worker.runUntil(
    env.client.workflow.execute(smokeWorkflow, { taskQueue, workflowId, args: [{ name: 'Coffer' }] }),
  );
  assert.deepEqual(result, { greeting: 'Hello, Coffer!' });

  // The server really recorded it: the history holds the activity's scheduling.
  const history = await env.client.workflow.getHandle(workflowId).fetchHistory();
  const activityTypes = (history.events ?? [])
    .map((event) => event.activityTaskScheduledEventAttributes?.activityType?.name)
    .filter((name) => name !== undefined && name !== null);
  assert.deepEqual(activityTypes, ['greet']);
});
