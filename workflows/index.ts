/**
 * Every Coffer workflow: the worker's workflowsPath points here.
 */
export { backupWorkflow } from './backup';
export { restoreWorkflow } from './restore';
export { verifyWorkflow } from './verify';
export { initRepositoryWorkflow } from './init';
export { drDrillWorkflow } from './dr-drill';
export { retentionWorkflow } from './retention';
export { rotateKeysWorkflow } from './rotate-keys';
export { removeKeyWorkflow } from './remove-key';
export { replicateWorkflow } from './replicate';
export { reportInputsWorkflow } from './report';
export { auditVerifyWorkflow, catalogCheckWorkflow, catalogRebuildWorkflow } from './catalog-ops';
export { smokeWorkflow } from './smoke';
