/**
 * Error codes workflows raise or match on, and the classes of codes the CLI
 * maps to exit statuses. Workflows may not import activities' values, so the
 * codes of activities/job-errors.ts are repeated here as plain strings (a unit
 * test keeps them in sync).
 */
export const Codes = {
  invalidInput: 'COFFER-E100',
  wrongPassphrase: 'COFFER-E201',
  keyFileCorrupt: 'COFFER-E202',
  unsupportedFormat: 'COFFER-E203',
  repoLocked: 'COFFER-E204',
  integrity: 'COFFER-E205',
  unsafePath: 'COFFER-E206',
  notARepository: 'COFFER-E207',
  repositoryExists: 'COFFER-E208',
  snapshotNotFound: 'COFFER-E209',
  noSpace: 'COFFER-E210',
  sourceUnreadable: 'COFFER-E211',
  canaryChanged: 'COFFER-E212',
  sourceCommandFailed: 'COFFER-E213',
  hookFailed: 'COFFER-E214',
  backupAnomaly: 'COFFER-E215',
  storageNotFound: 'COFFER-E301',
  storageAuthFailed: 'COFFER-E304',
  storageBadLocation: 'COFFER-E307',
  storageUnreachable: 'COFFER-E311',
  temporalUnreachable: 'COFFER-E401',
  workflowFailed: 'COFFER-E402',
  approvalRefused: 'COFFER-E403',
  restoreTargetNotEmpty: 'COFFER-E404',
  restoreMismatch: 'COFFER-E405',
  restoreTargetUnusable: 'COFFER-E406',
  drillFailed: 'COFFER-E407',
  retentionRefused: 'COFFER-E408',
  engineCapabilityMissing: 'COFFER-E409',
  noWorker: 'COFFER-E410',
  configInvalid: 'COFFER-E540',
  secretMissing: 'COFFER-E544',
} as const;

/** Failures a retry cannot fix without the user: activities with these types are never retried. */
export const USER_ERROR_CODES: readonly string[] = [
  Codes.invalidInput,
  Codes.wrongPassphrase,
  Codes.keyFileCorrupt,
  Codes.unsupportedFormat,
  Codes.integrity,
  Codes.unsafePath,
  Codes.notARepository,
  Codes.repositoryExists,
  Codes.snapshotNotFound,
  Codes.sourceUnreadable,
  Codes.canaryChanged,
  Codes.sourceCommandFailed,
  Codes.hookFailed,
  Codes.backupAnomaly,
  Codes.storageAuthFailed,
  Codes.storageBadLocation,
  Codes.restoreTargetNotEmpty,
  Codes.restoreMismatch,
  Codes.restoreTargetUnusable,
  Codes.drillFailed,
  Codes.retentionRefused,
  Codes.engineCapabilityMissing,
  'COFFER-E302',
  'COFFER-E303',
  'COFFER-E305',
  'COFFER-E306',
  'COFFER-E541',
  'COFFER-E542',
  'COFFER-E543',
  Codes.secretMissing,
  'COFFER-E545',
  // Access control (activities/access/errors.ts): refused, forged or unproven; a retry gives the same answer.
  Codes.approvalRefused,
  'COFFER-E501', 'COFFER-E502', 'COFFER-E503', 'COFFER-E504', 'COFFER-E505', 'COFFER-E506', 'COFFER-E507', 'COFFER-E508', 'COFFER-E509',
  'COFFER-E550', 'COFFER-E551',
];

/** Codes meaning "the data is not what it should be" (CLI exit status 3). */
export const INTEGRITY_CODES: readonly string[] = [Codes.integrity, Codes.canaryChanged, Codes.backupAnomaly, Codes.restoreMismatch, Codes.drillFailed];

/** Codes meaning "a service could not be reached" (CLI exit status 4). */
export const UNREACHABLE_CODES: readonly string[] = [Codes.storageUnreachable, 'COFFER-E310', Codes.temporalUnreachable, Codes.noWorker];
