/**
 * Opens the catalog on first use and keeps it open. A failed open is not
 * remembered: the next call tries again, so a catalog server that is down
 * when the worker starts (or while it runs) only makes catalog activities
 * fail and retry, never the worker itself. Once connected, the MongoDB
 * driver reconnects by itself after a server restart.
 */
import { Catalog } from './catalog';
import type { CatalogOptions } from './catalog';

export class CatalogProvider {
  private opening: Promise<Catalog> | undefined;
  private closed = false;

  constructor(private readonly options: CatalogOptions) {}

  /** The open catalog; rejects with CatalogUnavailable (retryable) while the server cannot be reached. */
  get(): Promise<Catalog> {
    if (this.closed) return Promise.reject(new Error('the catalog was closed (the worker is shutting down)'));
    if (this.opening === undefined) {
      const opening = Catalog.open(this.options);
      opening.catch(() => {
        if (this.opening === opening) this.opening = undefined;
      });
      this.opening = opening;
    }
    return this.opening;
  }

  async close(): Promise<void> {
    this.closed = true;
    const opening = this.opening;
    this.opening = undefined;
    if (opening === undefined) return;
    try {
      await (await opening).close();
    } catch {
      // never opened: nothing to close
    }
  }
}
