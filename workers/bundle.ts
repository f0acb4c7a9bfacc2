/**
 * Where the workflows are and how to bundle them: the worker bundles from
 * source at start-up; tests bundle once per file and reuse the bundle. The
 * failure converter must be inside the bundle too (workflow failures are
 * converted in the sandbox).
 */
import { bundleWorkflowCode } from '@temporalio/worker';
import type { WorkflowBundle } from '@temporalio/worker';
import { failureConverterPath } from './data-converter';

export const workflowsPath = require.resolve('../workflows');

export async function bundleCofferWorkflows(): Promise<WorkflowBundle> {
  return bundleWorkflowCode({ workflowsPath, failureConverterPath, logger: quietLogger });
}

const noop = (): void => undefined;
const quietLogger = { trace: noop, debug: noop, info: noop, warn: noop, error: (message: string) => console.error(message), log: noop };
