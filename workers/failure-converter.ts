/**
 * Failure converter that moves each failure's message and stack trace into an
 * encoded payload, so the payload codec encrypts them too: error messages may
 * name paths, and the history must hold only ciphertext. Loaded by path
 * (DataConverter.failureConverterPath) because workflow bundles need it too.
 */
import { DefaultFailureConverter } from '@temporalio/common';

export const failureConverter = new DefaultFailureConverter({ encodeCommonAttributes: true });
