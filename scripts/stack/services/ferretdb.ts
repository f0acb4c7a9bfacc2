import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { MongoClient } from 'mongodb';
import { HOST, MONGODB_DATABASE, PORTS } from '../contract';
import { FERRETDB, linkedPath } from '../install/go-tools';
import { serviceDataDir } from '../paths';
import type { Service } from './service';

const dataDir = serviceDataDir('ferretdb');
const sqliteDir = join(dataDir, 'sqlite');
const stateDir = join(dataDir, 'state');
const url = `mongodb://${HOST}:${PORTS.mongodb}/${MONGODB_DATABASE}`;

export const ferretdb: Service = {
  name: 'ferretdb',
  address: `${HOST}:${PORTS.mongodb}`,
  version: `${FERRETDB.version.slice(1)} (sqlite)`,
  identity: stateDir,
  ports: [PORTS.mongodb],
  async prepare() {
    mkdirSync(sqliteDir, { recursive: true });
    mkdirSync(stateDir, { recursive: true });
  },
  command() {
    return {
      file: linkedPath(FERRETDB),
      args: [
        '--handler=sqlite', `--sqlite-url=file:${sqliteDir}/`,
        `--listen-addr=${HOST}:${PORTS.mongodb}`, `--state-dir=${stateDir}`,
        // No metrics/pprof listener: its fixed default port (8088) collides with a second stack.
        '--telemetry=disable', '--log-level=error', '--debug-addr=-',
      ],
    };
  },
  async probe() {
    const client = new MongoClient(url, { serverSelectionTimeoutMS: 1500, connectTimeoutMS: 1500 });
    try {
      await client.db('admin').command({ ping: 1 });
    } finally {
      await client.close();
    }
  },
  env() {
    return { COFFER_MONGODB_URL: url };
  },
};
