/**
 * Where the benchmark keeps its files: under the project's .data/bench (git-ignored),
 * whether it runs from TypeScript sources (tsx) or from the compiled dist/ tree.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** The project root: the nearest ancestor of this file holding package.json. */
export function projectRoot(): string {
  let dir = __dirname;
  for (;;) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'activities'))) return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error(`cannot find the project root above ${__dirname}`);
    dir = up;
  }
}

export function benchDataDir(): string {
  return join(projectRoot(), '.data', 'bench');
}

/** True when this code runs compiled (dist/…/*.js) rather than through tsx. */
export function runningCompiled(): boolean {
  return __filename.endsWith('.js');
}
