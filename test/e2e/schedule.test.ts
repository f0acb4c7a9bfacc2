/**
 * Temporal Schedules through the CLI: create (flags) and apply (YAML), list,
 * describe (overlap skip, catch-up window), trigger a scheduled backup that
 * really runs, pause/unpause, delete.
 */
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { loadConfig, selectProfile } from '../../activities/config/profile';
import { backupInputsForProfile } from '../../clients/profile-sources';
import type { BackupResult } from '../../workflows/backup';
import { runCli } from './cli';
import { startHarness, TEST_INIT_OPTIONS } from './harness';
import type { Harness } from './harness';
import { makeTree } from './trees';

interface Described {
  scheduleId: string;
  workflowType: string;
  spec: string;
  overlap: string;
  catchupWindowSeconds: number;
  paused: boolean;
  recentActions: { workflowId: string }[];
  input: { repo: string; paths?: string[]; host?: string };
}

void describe('schedules', () => {
  let h: Harness;
  const ids: string[] = [];
  before(async () => {
    // Profile schedules below back up a command source: the worker must allow sh.
    h = await startHarness({ allowCommands: ['sh'] });
  });
  after(async () => {
    for (const id of ids) await h.client.schedule.getHandle(id).delete().catch(() => undefined);
    await h.close();
  });

  void test('create, apply, list, describe, trigger, pause, unpause, delete', async () => {
    const repo = join(h.tmp, 'repo');
    const source = join(h.tmp, 'src');
    await makeTree(source, { smallFiles: 5, largeFiles: [] });
    await h.run('initRepositoryWorkflow', { repo, options: TEST_INIT_OPTIONS });
    const backupId = `${h.id}-nightly`;
    const retentionId = `${h.id}-weekly-retention`;
    ids.push(backupId, retentionId);

    const created = await runCli(h, ['schedule', 'create', backupId, '--job', 'backup', '--repo', repo, '--path', source, '--cron', '0 3 * * *', '--catchup', '2h']);
    assert.equal(created.code, 0, created.stderr);
    assert.match(created.stdout, /created/);

    const schedulesFile = join(h.tmp, 'schedules.yaml');
    await writeFile(
      schedulesFile,
      [
        'schedules:',
        `  - id: ${retentionId}`,
        '    job: retention',
        '    every: 7d',
        `    input: { repo: ${repo}, policy: { keepLast: 3 }, dryRun: true }`,
        `  - id: ${backupId}`,
        '    job: backup',
        '    every: 12h',
        `    input: { repo: ${repo}, paths: [${source}] }`,
      ].join('\n'),
    );
    const applied = await runCli(h, ['--json', 'schedule', 'apply', schedulesFile]);
    assert.equal(applied.code, 0, applied.stderr);
    assert.deepEqual(JSON.parse(applied.stdout), [
      { scheduleId: retentionId, outcome: 'created' },
      { scheduleId: backupId, outcome: 'updated' },
    ]);

    const described = await runCli(h, ['--json', 'schedule', 'describe', backupId]);
    assert.equal(described.code, 0, described.stderr);
    const d = JSON.parse(described.stdout) as Described;
    assert.equal(d.workflowType, 'backupWorkflow');
    assert.equal(d.spec, 'every 43200s');
    assert.equal(d.overlap, 'SKIP');
    assert.equal(d.catchupWindowSeconds, 3600);
    assert.deepEqual(d.input.paths, [source]);
    assert.equal(d.input.host, h.host);

    // Trigger: a real backup runs through the schedule. (Both CLI runs are independent: in parallel.)
    const [triggered, paused] = await Promise.all([runCli(h, ['schedule', 'trigger', backupId]), runCli(h, ['schedule', 'pause', retentionId, '--note', 'maintenance'])]);
    assert.equal(triggered.code, 0, triggered.stderr);
    assert.equal(paused.code, 0, paused.stderr);
    let workflowId: string | undefined;
    for (let i = 0; i < 100 && workflowId === undefined; i++) {
      workflowId = (await h.client.schedule.getHandle(backupId).describe()).info.recentActions[0]?.action.workflow.workflowId;
      if (workflowId === undefined) await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(workflowId?.startsWith(`backup/`), workflowId);
    const result = (await h.client.workflow.getHandle(workflowId as string).result()) as BackupResult;
    assert.equal(result.snapshot.paths[0], source);

    const list = await runCli(h, ['--json', 'schedule', 'list']);
    assert.equal(list.code, 0, list.stderr);
    const rows = (JSON.parse(list.stdout) as { scheduleId: string; paused: boolean }[]).filter((r) => ids.includes(r.scheduleId));
    // Visibility is eventually consistent: the listing may lag the latest pause by a moment.
    assert.ok(rows.length >= 1);
    assert.equal((await h.client.schedule.getHandle(retentionId).describe()).state.paused, true);

    const [unpaused, deleted] = await Promise.all([runCli(h, ['schedule', 'unpause', retentionId]), runCli(h, ['schedule', 'delete', backupId])]);
    assert.equal(unpaused.code, 0, unpaused.stderr);
    assert.equal(deleted.code, 0, deleted.stderr);
    assert.equal((await h.client.schedule.getHandle(retentionId).describe()).state.paused, false);
    await assert.rejects(h.client.schedule.getHandle(backupId).describe());

    const bad = await runCli(h, ['schedule', 'create', `${h.id}-bad`, '--job', 'backup', '--repo', repo, '--every', '1h']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /^COFFER-E100 .*needs input.paths/);
  });

  void test('apply --config: a profile\'s backup schedule (path + command source) runs through the backup mapping; re-apply updates; a cron change is applied; --prune', async () => {
    const profile = `p-${h.id}`;
    const src = join(h.tmp, 'profile-src');
    await makeTree(src, { smallFiles: 4, largeFiles: [] });
    await h.run('initRepositoryWorkflow', { repo: join(h.tmp, 'profile-repo'), options: TEST_INIT_OPTIONS });
    const configFile = join(h.tmp, 'coffer.yaml');
    const writeConfig = (cron: string, withDb = true): Promise<void> =>
      writeFile(
        configFile,
        [
          'version: 1',
          'profiles:',
          `  ${profile}:`,
          '    repository: { url: ./profile-repo, passwordEnv: COFFER_PASSWORD }',
          '    sources:',
          '      files:',
          `        paths: [${src}]`,
          '        tags: [scheduled]',
          ...(withDb ? ['      db:', `        command: [sh, -c, "printf 'CREATE TABLE t (id int);\\n'"]`, '        filename: db.sql'] : []),
          '    schedules:',
          '      nightly:',
          '        action: backup',
          `        cron: "${cron}"`,
          '        catchupWindow: 2h',
          '',
        ].join('\n'),
      );
    await writeConfig('0 3 * * *');
    const filesId = `${profile}/nightly/files`;
    const dbId = `${profile}/nightly/db`;
    ids.push(filesId, dbId);

    const applied = await runCli(h, ['--json', 'schedule', 'apply', '--config', configFile]);
    assert.equal(applied.code, 0, applied.stderr);
    assert.deepEqual(JSON.parse(applied.stdout), [
      { scheduleId: filesId, outcome: 'created', job: 'backup', source: 'files' },
      { scheduleId: dbId, outcome: 'created', job: 'backup', source: 'db' },
    ]);

    // The scheduled inputs are exactly what `coffer backup --config` sends (one shared mapping).
    const config = await loadConfig(configFile);
    const jobs = backupInputsForProfile(config, selectProfile(config, profile), { host: h.host, hostQueue: h.hostQueue });
    for (const [id, job] of [[filesId, jobs[0]], [dbId, jobs[1]]] as const) {
      const d = await h.client.schedule.getHandle(id).describe();
      assert.equal(d.action.workflowType, 'backupWorkflow');
      assert.deepEqual(d.action.args?.[0], job?.input);
      assert.equal(d.policies.catchupWindow, 2 * 3600 * 1000);
      assert.equal(d.policies.overlap, 'SKIP');
    }

    // Triggered, each schedule produces its snapshot.
    const results = await Promise.all(
      [filesId, dbId].map(async (id) => {
        const t = await runCli(h, ['schedule', 'trigger', id]);
        assert.equal(t.code, 0, t.stderr);
        let workflowId: string | undefined;
        for (let i = 0; i < 100 && workflowId === undefined; i++) {
          workflowId = (await h.client.schedule.getHandle(id).describe()).info.recentActions[0]?.action.workflow.workflowId;
          if (workflowId === undefined) await new Promise((r) => setTimeout(r, 100));
        }
        assert.ok(workflowId !== undefined, `${id} started nothing`);
        return (await h.client.workflow.getHandle(workflowId).result()) as BackupResult;
      }),
    );
    const [files, db] = results;
    assert.deepEqual(files?.snapshot.paths, [src]);
    assert.deepEqual(files?.snapshot.tags, ['scheduled']);
    assert.deepEqual(db?.snapshot.paths, ['/coffer-commands/db']);
    assert.equal(db?.command?.bytes, 'CREATE TABLE t (id int);\n'.length);

    // Re-applying the same profile updates the same two schedules (no duplicates).
    const again = await runCli(h, ['--json', 'schedule', 'apply', '--config', configFile, '--profile', profile]);
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual((JSON.parse(again.stdout) as { scheduleId: string; outcome: string }[]).map((r) => [r.scheduleId, r.outcome]), [
      [filesId, 'updated'],
      [dbId, 'updated'],
    ]);
    const before = await h.client.schedule.getHandle(filesId).describe();
    assert.equal(before.info.recentActions.length, 1, 'the update keeps the run history');

    // A changed cron is applied to the existing schedule.
    const nextHour = (d: Date[]): number[] => d.map((t) => t.getUTCHours() * 60 + t.getUTCMinutes());
    assert.ok(nextHour(before.info.nextActionTimes).every((m) => m === 3 * 60), JSON.stringify(before.info.nextActionTimes));
    await writeConfig('30 4 * * *');
    const changed = await runCli(h, ['--json', 'schedule', 'apply', '--config', configFile]);
    assert.equal(changed.code, 0, changed.stderr);
    const after = await h.client.schedule.getHandle(filesId).describe();
    assert.ok(after.info.nextActionTimes.length > 0);
    assert.ok(nextHour(after.info.nextActionTimes).every((m) => m === 4 * 60 + 30), JSON.stringify(after.info.nextActionTimes));
    const shown = await runCli(h, ['--json', 'schedule', 'describe', filesId]);
    assert.equal(shown.code, 0, shown.stderr);
    assert.equal((JSON.parse(shown.stdout) as Described).spec, "cron '30 4 * * *'");

    // A source removed from the profile: its schedule is reported, and deleted with --prune.
    await writeConfig('30 4 * * *', false);
    let pruned: { scheduleId: string; outcome: string }[] = [];
    for (let i = 0; i < 50 && !pruned.some((r) => r.outcome === 'deleted'); i++) {
      // Schedule listing is eventually consistent: the new schedule may take a moment to be listed.
      const run = await runCli(h, ['--json', 'schedule', 'apply', '--config', configFile, '--prune']);
      assert.equal(run.code, 0, run.stderr);
      pruned = JSON.parse(run.stdout) as { scheduleId: string; outcome: string }[];
      if (!pruned.some((r) => r.outcome === 'deleted')) await new Promise((r) => setTimeout(r, 200));
    }
    assert.deepEqual(pruned.map((r) => [r.scheduleId, r.outcome]), [
      [filesId, 'updated'],
      [dbId, 'deleted'],
    ]);
    await assert.rejects(h.client.schedule.getHandle(dbId).describe());

    // A config error is a usage error (exit 2) naming file, line and field.
    await writeFile(configFile, (await readFile(configFile, 'utf8')).replace('cron: "30 4 * * *"', 'cron: "61 4 * * *"'));
    const bad = await runCli(h, ['schedule', 'apply', '--config', configFile]);
    assert.equal(bad.code, 2, bad.stderr);
    assert.match(bad.stderr, /^COFFER-E530 .*coffer\.yaml:\d+: profiles\.p-.*\.schedules\.nightly\.cron: invalid cron expression/);
  });
});
