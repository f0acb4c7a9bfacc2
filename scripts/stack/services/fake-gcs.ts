import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { GCS_BUCKET, GCS_PROJECT, HOST, PORTS } from '../contract';
import { FAKE_GCS, linkedPath } from '../install/go-tools';
import { serviceDataDir } from '../paths';
import type { Service } from './service';

const dataDir = serviceDataDir('fake-gcs');
const rootDir = join(dataDir, 'storage');
const endpoint = `http://${HOST}:${PORTS.gcs}`;

async function request(path: string, init?: RequestInit): Promise<Response> {
  return fetch(`${endpoint}${path}`, { ...init, signal: AbortSignal.timeout(2000) });
}

export const fakeGcs: Service = {
  name: 'fake-gcs',
  address: endpoint,
  version: FAKE_GCS.version.slice(1),
  identity: rootDir,
  ports: [PORTS.gcs],
  async prepare() {
    mkdirSync(rootDir, { recursive: true });
  },
  command() {
    return {
      file: linkedPath(FAKE_GCS),
      args: [
        '-scheme', 'http', '-host', HOST, '-port', String(PORTS.gcs),
        '-backend', 'filesystem', '-filesystem-root', rootDir,
        '-external-url', endpoint, '-public-host', `${HOST}:${PORTS.gcs}`, '-log-level', 'warn',
      ],
    };
  },
  async probe() {
    const response = await request('/storage/v1/b');
    if (!response.ok) throw new Error(`GET /storage/v1/b answered ${response.status}`);
    await response.arrayBuffer();
  },
  async setup() {
    const existing = await request(`/storage/v1/b/${GCS_BUCKET}`);
    await existing.arrayBuffer();
    if (existing.ok) return;
    const created = await request(`/storage/v1/b?project=${GCS_PROJECT}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: GCS_BUCKET }),
    });
    const body = await created.text();
    if (!created.ok && created.status !== 409) throw new Error(`creating bucket ${GCS_BUCKET} answered ${created.status}: ${body}`);
  },
  env() {
    return { COFFER_GCS_ENDPOINT: endpoint, STORAGE_EMULATOR_HOST: endpoint, COFFER_GCS_BUCKET: GCS_BUCKET };
  },
};
