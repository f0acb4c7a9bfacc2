/**
 * A catalog on the stack's FerretDB in a database of its own, dropped
 * afterwards. Fails (never skips) when the stack is not up.
 */
import { randomBytes } from 'node:crypto';
import { Catalog } from '../../activities/catalog/catalog';
import type { SnapshotSummary } from '../../activities/engine/api';
import { stackVar } from '../helpers/stack';

export interface CatalogFixture {
  readonly catalog: Catalog;
  readonly url: string;
  readonly dbName: string;
  open(): Promise<Catalog>;
  drop(): Promise<void>;
}

export async function openTestCatalog(label: string): Promise<CatalogFixture> {
  const url = stackVar('COFFER_MONGODB_URL');
  const dbName = `t_${label}_${randomBytes(6).toString('hex')}`;
  const opened: Catalog[] = [];
  const open = async (): Promise<Catalog> => {
    const catalog = await Catalog.open({ url, dbName, serverSelectionTimeoutMs: 3_000 });
    opened.push(catalog);
    return catalog;
  };
  const catalog = await open();
  return {
    catalog,
    url,
    dbName,
    open,
    async drop() {
      await catalog.db.dropDatabase();
      for (const c of opened) await c.close();
    },
  };
}

/** A plausible snapshot summary; `n` varies every field so that mix-ups show. */
export function snapshotSummary(n: number, overrides: Partial<SnapshotSummary> = {}): SnapshotSummary {
  return {
    id: randomBytes(32).toString('hex'),
    time: new Date(Date.UTC(2026, 0, 1, 0, 0, 0) + n * 3_600_000).toISOString(),
    host: n % 2 === 0 ? 'db01' : 'web01',
    paths: n % 2 === 0 ? ['/var/lib/postgres', '/etc'] : ['/srv/www'],
    tags: n % 3 === 0 ? ['daily', 'important'] : ['daily'],
    ...(n > 0 ? { parent: `parent-${n - 1}` } : {}),
    rootTree: randomBytes(32).toString('hex'),
    keyEpoch: 1 + (n % 2),
    stats: {
      files: 100 + n,
      dirs: 10 + n,
      bytes: 5_000_000_000 + n * 1_000,
      bytesNew: 1_000 * n,
      bytesUploaded: 700 * n + 1,
      chunksNew: n,
      chunksDeduplicated: 4_000 - n,
      filesUnchanged: 90,
      errors: n % 5 === 0 ? 1 : 0,
    },
    ...overrides,
  };
}
