/**
 * The local stack: `npm run stack -- up|down|status`.
 * up     installs what is missing, starts every server on 127.0.0.1, waits
 *        until each answers a real request, creates buckets/containers and
 *        writes .data/stack.env. Running services are left alone.
 * down   stops exactly the processes this clone's stack started.
 * status shows each service's state.
 */
import { removeStackEnv, writeStackEnv } from './stack/env-file';
import { installAll } from './stack/install';
import { bringDown, bringUp, health, logTail } from './stack/lifecycle';
import type { Outcome } from './stack/lifecycle';
import { withStackLock } from './stack/lock';
import { checkPortOffset, recordPortOffset } from './stack/port-offset';
import { ENV_FILE, serviceLogFile } from './stack/paths';
import { SERVICES } from './stack/services';
import { formatTable } from './stack/table';

// The stack only makes a few local calls; the SDK's Node 20 notice is noise here.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const log = (line: string): void => {
  process.stderr.write(`stack: ${line}\n`);
};

async function up(): Promise<number> {
  const started = Date.now();
  checkPortOffset(SERVICES);
  recordPortOffset();
  await installAll(log);
  const outcomes: Outcome[] = await Promise.all(SERVICES.map((service) => bringUp(service)));
  const rows = outcomes.map((outcome) => [
    outcome.service.name,
    outcome.ok ? outcome.state : 'FAILED',
    outcome.service.version,
    outcome.service.address,
    `${outcome.seconds.toFixed(1)} s`,
  ]);
  console.log(formatTable(['service', 'state', 'version', 'address', 'ready in'], rows));
  const failed = outcomes.filter((outcome) => !outcome.ok);
  if (failed.length > 0) {
    // A partial env file would let tests reach a half-working stack.
    removeStackEnv();
    for (const outcome of failed) {
      if (outcome.ok) continue;
      console.error(`\n${outcome.service.name} failed to start: ${outcome.error}`);
      console.error(`log: ${serviceLogFile(outcome.service.name)} (last lines below)\n${logTail(outcome.service)}`);
    }
    console.error(`\nstack: FAILED: ${failed.map((outcome) => outcome.service.name).join(', ')}`);
    return 1;
  }
  writeStackEnv(SERVICES);
  console.log(`\nenv file: ${ENV_FILE}\nstack up in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return 0;
}

async function down(): Promise<number> {
  removeStackEnv();
  const stopped = await Promise.all(SERVICES.map(async (service) => [service.name, (await bringDown(service)) ? 'stopped' : 'was not running']));
  console.log(formatTable(['service', 'state'], stopped));
  return 0;
}

async function status(): Promise<number> {
  checkPortOffset(SERVICES);
  const states = await Promise.all(SERVICES.map((service) => health(service)));
  const rows = states.map((state) => [
    state.service.name,
    state.state,
    state.pid === undefined ? '-' : String(state.pid),
    state.service.version,
    state.service.address,
  ]);
  console.log(formatTable(['service', 'state', 'pid', 'version', 'address'], rows));
  for (const state of states) {
    if (state.detail !== undefined) console.log(`${state.service.name}: ${state.detail}`);
  }
  return states.every((state) => state.state === 'up') ? 0 : 1;
}

async function main(argv: readonly string[]): Promise<number> {
  const command = argv[0];
  switch (command) {
    case 'up':
      return withStackLock(up, log);
    case 'down':
      return withStackLock(down, log);
    case 'status':
      return status();
    default:
      console.error('usage: npm run stack -- up|down|status');
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`stack: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);
