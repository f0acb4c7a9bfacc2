/**
 * The one DataConverter of Coffer's workers and clients: JSON payloads,
 * encrypted by the payload codec, and failures whose message and stack trace
 * are encoded too (so paths in error messages never reach the history in
 * clear text). Workflow bundles need `failureConverterPath` as well
 * (see bundleOptions()).
 */
import type { DataConverter } from '@temporalio/common';
import { EncryptionCodec } from './codec';
import type { TemporalConfig } from './config';

export const failureConverterPath = require.resolve('./failure-converter');

export function createDataConverter(codec: EncryptionCodec): DataConverter {
  return { payloadCodecs: [codec], failureConverterPath };
}

export function loadCodec(config: Pick<TemporalConfig, 'codecKeyFile' | 'codecKeyCreate'>): EncryptionCodec {
  return EncryptionCodec.fromKeyFile(config.codecKeyFile, config.codecKeyCreate);
}

export function loadDataConverter(config: Pick<TemporalConfig, 'codecKeyFile' | 'codecKeyCreate'>): DataConverter {
  return createDataConverter(loadCodec(config));
}
