import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { NODE_BIN, ROOT } from '../paths';
import { runOrThrow } from '../run';

/** Azurite comes from the project's dev dependencies; install them if a fresh clone lacks them. */
export async function ensureNodeModules(log: (line: string) => void): Promise<boolean> {
  if (existsSync(join(NODE_BIN, 'azurite-blob'))) return false;
  log('node_modules is incomplete: running npm ci');
  await runOrThrow('npm', ['ci', '--no-audit', '--no-fund'], { cwd: ROOT, echo: true });
  return true;
}
