/**
 * Config errors exit 2 (usage) whether they are thrown in the CLI (a config
 * file, a setting) or come back as a workflow's failure (the worker refusing
 * a program); both exit-code tables of the docs say so.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import { WorkflowFailedError } from '@temporalio/client';
import { ConfigError, SecretUnresolved } from '../../../activities/config/profile-errors';
import { toTemporalFailure } from '../../../activities/failures';
import { CommandNotAllowed } from '../../../activities/sources/errors';
import { CONFIG_ERROR_CODES, ExitCode, renderError } from '../../../clients/exit-codes';
import { ConfigInvalid } from '../../../workers/errors';

const ROOT = resolve(__dirname, '../../..');

void test('config errors exit 2, thrown here or returned by a workflow', () => {
  const errors = [
    new ConfigError([{ file: 'coffer.yaml', line: 3, field: 'profiles.p', message: 'bad' }]),
    new SecretUnresolved('variable PGPASS is not set'),
    new ConfigInvalid('invalid configuration (COFFER_ALLOW_COMMANDS: x)'),
    new CommandNotAllowed("command source 'db': 'curl' is not allowed"),
  ];
  assert.deepEqual(errors.map((e) => e.code).sort(), [...CONFIG_ERROR_CODES].sort());
  for (const err of errors) {
    const rendered = renderError(err);
    assert.equal(rendered.code, err.code);
    assert.equal(rendered.exitCode, ExitCode.usage, err.code);
    // The same error after a trip through Temporal: an ApplicationFailure of that type inside WorkflowFailedError.
    const failure = toTemporalFailure(err);
    assert.ok(failure instanceof ApplicationFailure);
    const viaWorkflow = renderError(new WorkflowFailedError('workflow failed', failure, 'NON_RETRYABLE_FAILURE'));
    assert.equal(viaWorkflow.code, err.code);
    assert.equal(viaWorkflow.exitCode, ExitCode.usage, `${err.code} via a workflow`);
  }
  // Not every E5xx is a config error: a catalog outage is a job failure.
  assert.equal(renderError(ApplicationFailure.create({ type: 'COFFER-E510', message: 'catalog down' })).exitCode, ExitCode.jobFailed);
});

void test('docs/operations.md and docs/error-codes.md agree: config codes exit 2', async () => {
  const operations = await readFile(join(ROOT, 'docs', 'operations.md'), 'utf8');
  const usageRow = operations.split('\n').find((l) => l.startsWith('| 2 |'));
  assert.ok(usageRow !== undefined, 'operations.md has an exit-status row for 2');
  const table = await readFile(join(ROOT, 'docs', 'error-codes.md'), 'utf8');
  for (const code of CONFIG_ERROR_CODES) {
    assert.ok(usageRow.includes(`\`${code.replace('COFFER-', '')}\``), `operations.md exit 2 row names ${code}`);
    const row = table.split('\n').find((l) => l.startsWith(`| \`${code}\``));
    assert.ok(row !== undefined, `error-codes.md lists ${code}`);
    assert.equal(row.split('|')[4]?.trim(), '2', `error-codes.md: ${code} exits 2`);
  }
});
