/**
 * Temporal Schedules through the CLI: create (flags) and apply (YAML), list,
 * describe (overlap skip, catch-up window), trigger a scheduled backup that
 * really runs, pause/unpause, delete.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
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
    h = await startHarness();
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
});
