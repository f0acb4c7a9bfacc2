/**
 * The Coffer worker process:
 *   config -> runtime (Prometheus metrics) -> connection -> deps -> two workers
 * (the shared queue with every workflow, and this host's queue for activities
 * that touch local files) -> run until SIGTERM/SIGINT, then drain gracefully
 * (in-flight activities get the grace time to finish or heartbeat their
 * cursor) and close the open repositories.
 *
 * Run: node --import tsx workers/main.ts   (or node dist/workers/main.js)
 */
// First: sizes libuv's thread pool before anything starts it.
import '../activities/engine/fs/io-threads';
import { NativeConnection, Runtime, DefaultLogger, makeTelemetryFilterString } from '@temporalio/worker';
import { causeChain, isCofferError } from '../activities/errors';
import { InMemoryMetrics, TeeMetrics } from '../activities/metrics';
import { environmentWithStack } from '../activities/config/env-file';
import { loadWorkerConfig } from './config';
import { ConfigInvalid } from './errors';
import { createCofferWorkers } from './create-workers';
import { loadDataConverter } from './data-converter';
import { createWorkerActivities } from './activities';
import { createWorkerDeps } from './deps';
import { MeterMetrics } from './metrics';
import { resolveNotifyTargets } from './notify-targets';
import { tlsOptions } from './tls';

async function main(): Promise<void> {
  const env = environmentWithStack();
  const config = loadWorkerConfig(env);
  const notifyTargets = await resolveNotifyTargets(config.notify, env);
  try {
    Runtime.install({
      logger: new DefaultLogger('INFO'),
      shutdownSignals: ['SIGINT', 'SIGTERM'],
      telemetryOptions: {
        logging: { filter: makeTelemetryFilterString({ core: 'WARN' }), forward: {} },
        ...(config.metricsBindAddress === undefined ? {} : { metrics: { prometheus: { bindAddress: config.metricsBindAddress } } }),
      },
    });
  } catch (err) {
    throw new ConfigInvalid(`cannot serve metrics on ${config.metricsBindAddress ?? '?'}`, {
      cause: err,
      hint: 'the address is in use or not bindable: set COFFER_METRICS_BIND to a free host:port, or to off',
    });
  }
  const metrics = new TeeMetrics([new MeterMetrics(Runtime.instance().metricMeter), new InMemoryMetrics()]);
  const dataConverter = loadDataConverter(config);
  const connection = await NativeConnection.connect({
    address: config.address,
    ...(tlsOptions(config) === undefined ? {} : { tls: tlsOptions(config) }),
    ...(config.apiKey === undefined ? {} : { apiKey: config.apiKey }),
  });
  const deps = createWorkerDeps(config, metrics, {}, {
    ...(config.catalog === undefined ? {} : { catalog: config.catalog }),
    notifyTargets,
    defaultPrincipal: 'system',
  });
  try {
    const workers = await createCofferWorkers({
      connection,
      namespace: config.namespace,
      taskQueue: config.taskQueue,
      hostTaskQueue: config.hostTaskQueue,
      activities: createWorkerActivities(deps),
      dataConverter,
      hostActivitySlots: config.hostActivitySlots,
    });
    console.log(
      `coffer worker ${config.host}: namespace ${config.namespace} at ${config.address}, queues ${config.taskQueue} + ${config.hostTaskQueue}` +
        (config.metricsBindAddress === undefined ? '' : `, metrics http://${config.metricsBindAddress}/metrics`) +
        `, catalog ${config.catalog === undefined ? 'off' : 'on'}, ${notifyTargets.length} notification target(s)`,
    );
    await workers.run();
  } finally {
    await deps.close();
    await connection.close();
  }
  console.log('coffer worker stopped');
}

main().catch((err: unknown) => {
  if (isCofferError(err)) {
    console.error(`${err.code} ${err.message}${err.hint === undefined ? '' : `: ${err.hint}`}`);
    process.exit(2);
  }
  for (const cause of causeChain(err)) console.error(cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause));
  process.exit(1);
});
