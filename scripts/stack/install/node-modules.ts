import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { NODE_BIN, ROOT } from '../paths';
import { run, runOrThrow } from '../run';

/** Azurite comes from the project's dev dependencies; install them if a fresh clone lacks them. */
export async function ensureNodeModules(log: (line: string) => void): Promise<boolean> {
  if (existsSync(join(NODE_BIN, 'azurite-blob'))) return false;
  log('node_modules is incomplete: running npm ci');
  const ci = await run('npm', ['ci', '--no-audit', '--no-fund'], { cwd: ROOT, echo: true });
  if (ci.code !== 0) {
    // npm ci rejects a lock file that lacks other platforms' optional packages.
    log('npm ci failed: falling back to npm install --no-save');
    await runOrThrow('npm', ['install', '--no-audit', '--no-fund', '--no-save'], { cwd: ROOT, echo: true });
  }
  return true;
}
