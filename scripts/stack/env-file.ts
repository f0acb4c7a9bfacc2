import { rmSync } from 'node:fs';
import { ENV_FILE } from './paths';
import { writeFileAtomic } from './pids';
import type { Service } from './services';

/** Plain values stay bare; anything a shell would misread is JSON-quoted (activities/config/env-file.ts reads both). */
function formatValue(value: string): string {
  return /^[A-Za-z0-9_./:@+,=-]*$/.test(value) ? value : JSON.stringify(value);
}

/** Writes every service's contract variables to .data/stack.env in one atomic step. */
export function writeStackEnv(services: readonly Service[], file: string = ENV_FILE): void {
  const lines = ['# Written by `npm run stack -- up`; removed by `npm run stack -- down`. Test credentials only.'];
  for (const service of services) {
    lines.push(`# ${service.name}`);
    for (const [key, value] of Object.entries(service.env())) lines.push(`${key}=${formatValue(value)}`);
  }
  writeFileAtomic(file, `${lines.join('\n')}\n`, 0o600);
}

export function removeStackEnv(file: string = ENV_FILE): void {
  rmSync(file, { force: true });
}
