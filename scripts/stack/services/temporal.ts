import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Connection } from '@temporalio/client';
import { HOST, PORTS, TEMPORAL_NAMESPACE } from '../contract';
import { TEMPORAL, linkedPath } from '../install/go-tools';
import { serviceDataDir } from '../paths';
import type { Service } from './service';

const dataDir = serviceDataDir('temporal');
const dbFile = join(dataDir, 'temporal.db');
const address = `${HOST}:${PORTS.temporal}`;

export const temporal: Service = {
  name: 'temporal',
  address: `${address} (UI http://${HOST}:${PORTS.temporalUi})`,
  version: `cli ${TEMPORAL.version.slice(1)} (server 1.29.1, ui 2.42.1)`,
  identity: dbFile,
  ports: [PORTS.temporal, PORTS.temporalUi],
  async prepare() {
    mkdirSync(dataDir, { recursive: true });
  },
  command() {
    return {
      file: linkedPath(TEMPORAL),
      args: [
        'server', 'start-dev',
        '--ip', HOST, '--port', String(PORTS.temporal), '--ui-port', String(PORTS.temporalUi),
        '--db-filename', dbFile, '--namespace', TEMPORAL_NAMESPACE, '--log-level', 'warn',
      ],
    };
  },
  async probe() {
    const connection = await Connection.connect({ address, connectTimeout: 2000 });
    try {
      await connection.workflowService.getSystemInfo({});
      await connection.workflowService.describeNamespace({ namespace: TEMPORAL_NAMESPACE });
    } finally {
      await connection.close();
    }
  },
  env() {
    return {
      TEMPORAL_ADDRESS: address,
      TEMPORAL_NAMESPACE,
      COFFER_TEMPORAL_UI: `http://${HOST}:${PORTS.temporalUi}`,
    };
  },
};
