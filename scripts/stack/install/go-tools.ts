import { cpSync, existsSync, mkdirSync, readdirSync, mkdtempSync, realpathSync, renameSync, rmSync, symlinkSync, writeFileSync, copyFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TOOL_CACHE, TOOLS_BIN } from '../paths';
import { run, runOrThrow } from '../run';

/** A Go program the stack needs, pinned to one module version. */
export interface GoTool {
  /** Binary name under .tools/bin. */
  binary: string;
  /** Module whose version identifies the build (checked with `go version -m`). */
  module: string;
  version: string;
  /** Arguments that must exit 0 for the binary to count as working. */
  healthArgs: readonly string[];
  /** Builds the binary to `out`. */
  build(out: string, env: NodeJS.ProcessEnv): Promise<void>;
}

function goInstall(pkg: string): GoTool['build'] {
  return async (out, env) => {
    const gobin = mkdtempSync(join(tmpdir(), 'coffer-gobin-'));
    try {
      await runOrThrow('go', ['install', pkg], { env: { ...env, GOBIN: gobin }, echo: true });
      const built = join(gobin, pkg.split('@')[0].split('/').pop()!);
      copyFileSync(built, out);
    } finally {
      rmSync(gobin, { recursive: true, force: true });
    }
  };
}

function makeDirsWritable(dir: string): void {
  chmodSync(dir, 0o755);
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) makeDirsWritable(join(dir, entry.name));
  }
}

/**
 * FerretDB cannot simply be `go install`ed by version here: the proxy refuses
 * the deprecation lookup, and its `build/version` package panics at start-up
 * unless the release's generated version.txt is embedded, which the module zip
 * lacks. So: a small module of our own requires it, replaces it with a copy of
 * its source plus that one file, and builds the command from there.
 */
async function buildFerretDb(out: string, env: NodeJS.ProcessEnv): Promise<void> {
  const module = 'github.com/FerretDB/FerretDB';
  const dir = mkdtempSync(join(tmpdir(), 'coffer-ferretdb-'));
  try {
    writeFileSync(join(dir, 'go.mod'), 'module coffer.local/tools/ferretdb\n\ngo 1.24\n');
    writeFileSync(join(dir, 'tools.go'), `//go:build tools\n\npackage tools\n\nimport _ "${module}/cmd/ferretdb"\n`);
    const options = { cwd: dir, env, echo: true };
    await runOrThrow('go', ['get', `${module}@${FERRETDB.version}`], options);
    await runOrThrow('go', ['mod', 'tidy'], options);
    const source = (await runOrThrow('go', ['list', '-m', '-f', '{{.Dir}}', module], { cwd: dir, env })).stdout.trim();
    const copy = join(dir, 'ferretdb-src');
    cpSync(source, copy, { recursive: true });
    // The module cache is read-only: the copy must take a new file and be removable afterwards.
    makeDirsWritable(copy);
    writeFileSync(join(copy, 'build', 'version', 'version.txt'), `${FERRETDB.version}\n`);
    await runOrThrow('go', ['mod', 'edit', `-replace=${module}=./ferretdb-src`], options);
    await runOrThrow('go', ['build', '-trimpath', '-o', out, `${module}/cmd/ferretdb`], options);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export const TEMPORAL: GoTool = {
  binary: 'temporal',
  module: 'github.com/temporalio/cli',
  version: 'v1.5.1',
  healthArgs: ['--version'],
  build: goInstall('github.com/temporalio/cli/cmd/temporal@v1.5.1'),
};

export const FERRETDB: GoTool = {
  binary: 'ferretdb',
  module: 'github.com/FerretDB/FerretDB',
  version: 'v1.24.2',
  healthArgs: ['--version'],
  build: buildFerretDb,
};

/** MinIO release tags are not semver; this pseudo-version is the revision `@latest` resolved to (2026-02-12). */
export const MINIO: GoTool = {
  binary: 'minio',
  module: 'github.com/minio/minio',
  version: 'v0.0.0-20260212201848-7aac2a2c5b7c',
  healthArgs: ['--version'],
  build: goInstall('github.com/minio/minio@v0.0.0-20260212201848-7aac2a2c5b7c'),
};

export const FAKE_GCS: GoTool = {
  binary: 'fake-gcs-server',
  module: 'github.com/fsouza/fake-gcs-server',
  version: 'v1.55.1',
  healthArgs: ['-h'],
  build: goInstall('github.com/fsouza/fake-gcs-server@v1.55.1'),
};

export const GO_TOOLS: readonly GoTool[] = [TEMPORAL, FERRETDB, MINIO, FAKE_GCS];

export function cachedPath(tool: GoTool): string {
  return join(TOOL_CACHE, `${tool.binary}-${tool.version}`, tool.binary);
}

export function linkedPath(tool: GoTool): string {
  return join(TOOLS_BIN, tool.binary);
}

/** True if `file` was built from the tool's pinned module version and runs. */
async function isGoodBuild(tool: GoTool, file: string): Promise<boolean> {
  if (!existsSync(file)) return false;
  const info = await run('go', ['version', '-m', file]);
  const pinned = new RegExp(`^\\s*(mod|dep)\\s+${tool.module.replace(/\./g, '\\.')}\\s+${tool.version}(\\s|$)`, 'm');
  if (info.code !== 0 || !pinned.test(info.stdout)) return false;
  const health = await run(file, tool.healthArgs);
  return health.code === 0;
}

/** Puts a file at `target` atomically (write next to it, then rename). */
function placeCopy(source: string, target: string): void {
  const temp = `${target}.tmp-${process.pid}`;
  copyFileSync(source, temp);
  chmodSync(temp, 0o755);
  renameSync(temp, target);
}

function placeSymlink(target: string, link: string): void {
  mkdirSync(TOOLS_BIN, { recursive: true });
  try {
    if (realpathSync(link) === realpathSync(target)) return;
  } catch {
    // missing or dangling link: replace it
  }
  const temp = `${link}.tmp-${process.pid}`;
  rmSync(temp, { force: true });
  symlinkSync(target, temp);
  renameSync(temp, link);
}

export type InstallOutcome = 'cached' | 'seeded' | 'built';

/**
 * Makes `.tools/bin/<binary>` a link to the machine-wide cached build,
 * filling the cache from an existing good binary in .tools/bin or by building.
 */
export async function ensureGoTool(tool: GoTool, log: (line: string) => void): Promise<InstallOutcome> {
  const cached = cachedPath(tool);
  const linked = linkedPath(tool);
  let outcome: InstallOutcome = 'cached';
  if (!(await isGoodBuild(tool, cached))) {
    mkdirSync(join(TOOL_CACHE, `${tool.binary}-${tool.version}`), { recursive: true });
    // A link into a bad cache entry fails this check too, so only a real good binary seeds.
    if (await isGoodBuild(tool, linked)) {
      log(`${tool.binary}: caching the existing ${linked}`);
      placeCopy(linked, cached);
      outcome = 'seeded';
    } else {
      await requireGo();
      log(`${tool.binary}: building ${tool.module}@${tool.version} (takes minutes the first time)`);
      const temp = `${cached}.build-${process.pid}`;
      const env = { ...process.env, GOFLAGS: '-trimpath' };
      try {
        await tool.build(temp, env);
        chmodSync(temp, 0o755);
        renameSync(temp, cached);
      } finally {
        rmSync(temp, { force: true });
      }
      if (!(await isGoodBuild(tool, cached))) {
        throw new Error(`${tool.binary}: the build at ${cached} does not run or is not ${tool.module}@${tool.version}`);
      }
      outcome = 'built';
    }
  }
  placeSymlink(cached, linked);
  return outcome;
}

async function requireGo(): Promise<void> {
  const go = await run('go', ['version']).catch(() => undefined);
  if (go === undefined || go.code !== 0) {
    throw new Error('Go (>= 1.24) is needed to build the stack\'s servers: install it from https://go.dev/dl and put `go` on PATH');
  }
}
