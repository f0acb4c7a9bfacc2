/**
 * The worker's allowlist of command-source and hook programs
 * (activities/sources/allowlist.ts) on the real filesystem: names and
 * absolute paths compared by real path, symlinks followed, copies and
 * relative paths refused, nothing allowed by default; and the worker setting
 * COFFER_ALLOW_COMMANDS parsed by workers/config.ts.
 */
import assert from 'node:assert/strict';
import { chmod, copyFile, mkdir, mkdtemp, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { authorizeCommand, resolveProgram } from '../../../activities/sources/allowlist';
import type { CommandPolicy } from '../../../activities/sources/allowlist';
import { CommandNotAllowed } from '../../../activities/sources/errors';
import { commandPolicy, loadWorkerConfig } from '../../../workers/config';
import { ConfigInvalid } from '../../../workers/errors';

void describe('command allowlist', () => {
  let dir: string;
  let bin: string;
  let env: Record<string, string>;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'coffer-allow-'));
    bin = join(dir, 'bin');
    await mkdir(bin);
    // A private PATH: a tool, a symlink to it, and a non-executable file.
    await writeFile(join(bin, 'dumptool'), '#!/bin/sh\necho dump\n');
    await chmod(join(bin, 'dumptool'), 0o755);
    await symlink(join(bin, 'dumptool'), join(bin, 'dump-alias'));
    await writeFile(join(bin, 'notexec'), 'data');
    env = { PATH: `${bin}:/usr/bin:/bin` };
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  const policy = (allow: string[]): CommandPolicy => ({ allow, env });
  const refused = async (argv: string[], allow: string[]): Promise<CommandNotAllowed> => {
    try {
      await authorizeCommand({ what: "command source 'db'", argv }, policy(allow), 'coffer@h1');
    } catch (err) {
      assert.ok(err instanceof CommandNotAllowed, String(err));
      assert.equal(err.code, 'COFFER-E546');
      assert.equal(err.retryable, false);
      assert.match(err.message, /COFFER_ALLOW_COMMANDS/);
      return err;
    }
    return assert.fail(`${argv[0] ?? ''} was allowed`);
  };

  void test('names resolve through PATH to real paths; not found or not executable is undefined', async () => {
    const real = await realpath(join(bin, 'dumptool'));
    assert.equal(await resolveProgram('dumptool', env), real);
    assert.equal(await resolveProgram('dump-alias', env), real);
    assert.equal(await resolveProgram(join(bin, 'dump-alias'), env), real);
    assert.equal(await resolveProgram('notexec', env), undefined);
    assert.equal(await resolveProgram('no-such-tool', env), undefined);
    assert.equal(await resolveProgram('./dumptool', env), undefined);
  });

  void test('a name or a path in the list allows the same file under either spelling, and returns the file to run', async () => {
    const real = await realpath(join(bin, 'dumptool'));
    assert.equal(await authorizeCommand({ what: 'x', argv: ['dumptool'] }, policy(['dumptool']), 'q'), real);
    assert.equal(await authorizeCommand({ what: 'x', argv: [join(bin, 'dumptool')] }, policy(['dumptool']), 'q'), real);
    assert.equal(await authorizeCommand({ what: 'x', argv: ['dump-alias', '--all'] }, policy([join(bin, 'dumptool')]), 'q'), real);
    assert.equal(await authorizeCommand({ what: 'x', argv: ['sh'] }, policy(['/usr/bin/sh', 'dumptool']), 'q'), await realpath('/usr/bin/sh'));
  });

  void test('refused: nothing listed, another program, a copy of a listed one, a relative path', async () => {
    assert.match((await refused(['dumptool'], [])).message, /no command is allowed/);
    assert.match((await refused(['sh', '-c', 'id'], ['dumptool'])).message, /command source 'db': 'sh' \(\/.*\) is not allowed on the worker of task queue coffer@h1/);
    const copy = join(dir, 'copy-of-dumptool');
    await copyFile(join(bin, 'dumptool'), copy);
    await chmod(copy, 0o755);
    await refused([copy], ['dumptool']);
    assert.match((await refused(['./dumptool'], ['dumptool', './dumptool'])).message, /relative path/);
    assert.match((await refused(['bin/dumptool'], ['dumptool'])).message, /relative path/);
    await refused(['no-such-tool'], ['dumptool']);
  });

  void test('a listed program that is missing is let through (it then fails as "could not be started")', async () => {
    assert.equal(await authorizeCommand({ what: 'x', argv: ['/opt/none/pg_dump'] }, policy(['/opt/none/pg_dump']), 'q'), '/opt/none/pg_dump');
  });

  void test('COFFER_ALLOW_COMMANDS: parsed by the worker config, relative entries refused (E540), environment stripped of credentials', () => {
    const config = loadWorkerConfig({ COFFER_ALLOW_COMMANDS: ' /usr/bin/pg_dump, mongodump ,,', COFFER_PASSWORD: 'pw', AWS_SECRET_ACCESS_KEY: 's', PATH: '/usr/bin', HOME: '/home/x' });
    assert.deepEqual(config.commands.allow, ['/usr/bin/pg_dump', 'mongodump']);
    assert.deepEqual(config.commands.env, { PATH: '/usr/bin', HOME: '/home/x' });
    assert.deepEqual(loadWorkerConfig({}).commands.allow, [], 'nothing allowed by default');
    assert.throws(
      () => commandPolicy('pg_dump,bin/dump', {}),
      (err: unknown) => err instanceof ConfigInvalid && err.code === 'COFFER-E540' && /COFFER_ALLOW_COMMANDS: 'bin\/dump' is a relative path/.test(err.message),
    );
  });
});
