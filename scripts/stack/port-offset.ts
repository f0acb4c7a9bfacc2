import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PORT_OFFSET } from './contract';
import { PID_DIR } from './paths';
import { runningPid, writeFileAtomic } from './pids';
import type { Service } from './services';

const OFFSET_FILE = join(PID_DIR, 'port-offset');

function recordedOffset(): number {
  try {
    return Number.parseInt(readFileSync(OFFSET_FILE, 'utf8'), 10);
  } catch {
    return 0; // stacks started before the offset existed ran on the documented ports
  }
}

/**
 * The running servers of this checkout keep the ports they were started with;
 * `up` or `status` under another COFFER_STACK_PORT_OFFSET would probe the wrong
 * ports (and `up` would then drop the env file others use). Refuse instead.
 */
export function checkPortOffset(services: readonly Service[]): void {
  const running = services.filter((service) => runningPid(service.name, service.identity) !== undefined);
  const recorded = recordedOffset();
  if (running.length > 0 && recorded !== PORT_OFFSET) {
    throw new Error(
      `this checkout's stack is running with COFFER_STACK_PORT_OFFSET=${recorded}, not ${PORT_OFFSET}: ` +
        `use the same offset, or run 'npm run stack -- down' first`,
    );
  }
}

export function recordPortOffset(): void {
  writeFileAtomic(OFFSET_FILE, `${PORT_OFFSET}\n`);
}
