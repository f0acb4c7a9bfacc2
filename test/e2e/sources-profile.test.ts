/**
 * `coffer backup --config … --profile …` run as a child process against real
 * Temporal and in-process workers: a profile with a path source (excludes,
 * tags, canary) and a command source with hooks, each backed up as its own
 * snapshot; --source picks one; the anomaly WARN line; config errors name
 * file, line and field.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { SnapshotSummary } from '../../activities/engine/api';
import type { InitRepositoryOutput } from '../../activities/repository';
import { loadConfig, selectProfile } from '../../activities/config/profile';
import { backupInputsForProfile } from '../../clients/profile-sources';
import type { BackupResult } from '../../workflows/backup';
import { runCli } from './cli';
import { startHarness, TEST_INIT_OPTIONS } from './harness';
import type { Harness } from './harness';

void describe('coffer backup --config --profile', () => {
  let h: Harness;
  let configFile: string;
  let src: string;
  let hookLog: string;
  before(async () => {
    h = await startHarness({ allowCommands: ['sh'] });
    src = join(h.tmp, 'www');
    await mkdir(join(src, 'cache'), { recursive: true });
    for (let i = 0; i < 10; i++) await writeFile(join(src, `page-${i}.html`), `<p>page ${i}</p>\n`.repeat(100));
    await writeFile(join(src, 'cache', 'big.tmp'), 'scratch');
    await writeFile(join(src, '.canary.docx'), 'canary');
    hookLog = join(h.tmp, 'hooks.log');
    // The repository path is relative: it resolves against the config file's directory.
    await h.run<InitRepositoryOutput>('initRepositoryWorkflow', { repo: join(h.tmp, 'repo'), options: TEST_INIT_OPTIONS });
    configFile = join(h.tmp, 'coffer.yaml');
    await writeFile(
      configFile,
      [
        'version: 1',
        'profiles:',
        '  prod:',
        '    repository:',
        '      url: ./repo',
        '      passwordEnv: COFFER_PASSWORD',
        '    sources:',
        '      www:',
        `        paths: [${src}]`,
        '        excludes: ["*.tmp"]',
        '        tags: [web]',
        '        canaries: [.canary.docx]',
        '      db:',
        `        command: [sh, -c, "echo dumping >> ${hookLog}; printf 'CREATE TABLE t (id int);\\n'"]`,
        '        filename: db.sql',
        '        tags: [database]',
        '        hooks:',
        '          pre:',
        `            - [sh, -c, "echo pre >> ${hookLog}"]`,
        '          post:',
        `            - [sh, -c, "echo post >> ${hookLog}"]`,
        '          timeoutSeconds: 20',
        '    anomaly:',
        '      changedFilesShare: 0.5',
        '      changedBytesShare: 0.5',
        '      factorOverMedian: 3',
        '      history: 5',
        '  other:',
        '    repository: { url: ./elsewhere }',
        '',
      ].join('\n'),
    );
  });
  after(async () => h.close());

  async function snapshots(): Promise<SnapshotSummary[]> {
    const deps = h.deps;
    assert.ok(deps !== undefined);
    return deps.repositories.use(join(h.tmp, 'repo'), async (r) => r.listSnapshots(), { fresh: true });
  }

  void test('every source of the profile becomes its own snapshot; the schedule mapping is the same code', async () => {
    const run = await runCli(h, ['--json', 'backup', '--config', configFile, '--profile', 'prod']);
    assert.equal(run.code, 0, run.stderr);
    const results = JSON.parse(run.stdout) as (BackupResult & { source: string })[];
    assert.deepEqual(results.map((r) => r.source), ['www', 'db']);
    const [www, db] = results;
    assert.ok(www !== undefined && db !== undefined);
    assert.deepEqual(www.snapshot.paths, [src]);
    assert.deepEqual(www.snapshot.tags, ['web']);
    assert.equal(www.snapshot.stats.files, 11, 'the *.tmp file is excluded, the canary is backed up');
    assert.deepEqual(db.snapshot.paths, ['/coffer-commands/db']);
    assert.deepEqual(db.snapshot.tags, ['database']);
    assert.equal(db.command?.bytes, 'CREATE TABLE t (id int);\n'.length);
    assert.equal(await readFile(hookLog, 'utf8'), 'pre\ndumping\npost\n');
    assert.equal((await snapshots()).length, 2);

    // The inputs the CLI sent are the ones the shared mapping builds.
    const config = await loadConfig(configFile);
    const jobs = backupInputsForProfile(config, selectProfile(config, 'prod'), { host: h.host, hostQueue: h.hostQueue });
    assert.deepEqual(jobs.map((j) => j.input.repo), [join(h.tmp, 'repo'), join(h.tmp, 'repo')]);
    assert.deepEqual(jobs[1]?.input.command, { argv: ['sh', '-c', `echo dumping >> ${hookLog}; printf 'CREATE TABLE t (id int);\n'`], filename: 'db.sql' });
  });

  void test('--source picks sources (COFFER_CONFIG/COFFER_PROFILE from the environment); a mass change prints a WARN line, exit 0', async () => {
    const env = { COFFER_CONFIG: configFile, COFFER_PROFILE: 'prod' };
    const normal = await runCli(h, ['backup', '--source', 'www'], env);
    assert.equal(normal.code, 0, normal.stderr);
    assert.doesNotMatch(normal.stderr, /WARN/);
    for (let i = 0; i < 8; i++) await writeFile(join(src, `page-${i}.html`), randomBytes(1600));
    const hit = await runCli(h, ['backup', '--source', 'www'], env);
    assert.equal(hit.code, 0, hit.stderr);
    assert.match(hit.stderr, /^WARN COFFER-E215 unusual change in backup of source www: .*of files changed/m);
    assert.match(hit.stdout, /snapshot [0-9a-f]{12} saved/);

    const unknown = await runCli(h, ['backup', '--source', 'nope'], env);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /no source named 'nope' \(have: www, db\)/);
  });

  void test('config errors name the file, line and field', async () => {
    const bad = join(h.tmp, 'bad.yaml');
    await writeFile(bad, ['version: 1', 'profiles:', '  p:', '    repository: { url: /tmp/x }', '    sources:', '      s:', '        paths: [relative/path]', ''].join('\n'));
    const run = await runCli(h, ['backup', '--config', bad]);
    assert.equal(run.code, 2, run.stderr); // a config error is a usage error
    assert.match(run.stderr, /^COFFER-E530 /);
    assert.match(run.stderr, /bad\.yaml:7: profiles\.p\.sources\.s\.paths\[0\]: expected an absolute path/);
  });
});
