/**
 * workflows/codes.ts repeats, as plain strings, the codes of error classes
 * workflows may not import: keep them in sync, and make sure every
 * non-retryable error of the Temporal layer is in the retry policy's
 * non-retryable list.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EngineCapabilityMissing, RestoreMismatch, RestoreTargetNotEmpty, RestoreTargetUnusable, SecretFileInvalid, SecretMissing } from '../../activities/job-errors';
import { CodecKeyFileInvalid, CodecKeyUnknown, CodecPayloadCorrupt, ConfigInvalid } from '../../workers/errors';
import { NoWorker, TemporalUnreachable } from '../../clients/connection';
import { Codes, UNREACHABLE_CODES, USER_ERROR_CODES } from '../../workflows/codes';

void test('codes of the workflow layer match their error classes', () => {
  assert.equal(new RestoreTargetNotEmpty('x').code, Codes.restoreTargetNotEmpty);
  assert.equal(new RestoreMismatch('x').code, Codes.restoreMismatch);
  assert.equal(new RestoreTargetUnusable('x').code, Codes.restoreTargetUnusable);
  assert.equal(new EngineCapabilityMissing('x').code, Codes.engineCapabilityMissing);
  assert.equal(new SecretMissing('x').code, Codes.secretMissing);
  assert.equal(new ConfigInvalid('x').code, Codes.configInvalid);
  assert.equal(new TemporalUnreachable('x').code, Codes.temporalUnreachable);
  assert.equal(new NoWorker('x').code, Codes.noWorker);
  for (const err of [new RestoreTargetNotEmpty('x'), new RestoreMismatch('x'), new RestoreTargetUnusable('x'), new EngineCapabilityMissing('x'), new SecretMissing('x'), new SecretFileInvalid('x'), new CodecKeyFileInvalid('x'), new CodecKeyUnknown('x'), new CodecPayloadCorrupt('x')]) {
    assert.equal(err.retryable, false);
    assert.ok(USER_ERROR_CODES.includes(err.code), `${err.code} (${err.name}) is never retried`);
  }
  for (const err of [new TemporalUnreachable('x'), new NoWorker('x')]) assert.ok(UNREACHABLE_CODES.includes(err.code));
  assert.equal(new Set(Object.values(Codes)).size, Object.values(Codes).length, 'codes are unique');
});
