/**
 * Runs restore's per-file work with bounded concurrency (creating a file costs
 * milliseconds of latency on some file systems; overlapping them is what makes
 * restores of many small files fast). The first failure aborts the shared
 * controller so the other tasks stop between chunks and clean up, and is
 * rethrown to the caller once everything in flight has settled.
 */
export class TaskPool {
  private readonly running = new Set<Promise<void>>();
  private failure: { readonly error: unknown } | undefined;

  constructor(
    private readonly limit: number,
    private readonly controller: AbortController,
  ) {}

  private rethrow(): void {
    if (this.failure !== undefined) throw this.failure.error;
  }

  /** Starts `task` once a slot is free; resolves when it has started. */
  async run(task: () => Promise<void>): Promise<void> {
    this.rethrow();
    while (this.running.size >= this.limit) {
      await Promise.race(this.running);
      this.rethrow();
    }
    const started: Promise<void> = task()
      .catch((error: unknown) => {
        if (this.failure === undefined) {
          this.failure = { error };
          this.controller.abort(error);
        }
      })
      .finally(() => this.running.delete(started));
    this.running.add(started);
  }

  /** Waits for every task; throws the first failure. */
  async drain(): Promise<void> {
    while (this.running.size > 0) await Promise.all(this.running);
    this.rethrow();
  }

  /** Stops everything after a failure outside the pool and waits until tasks have cleaned up. */
  async cancel(reason: unknown): Promise<void> {
    if (!this.controller.signal.aborted) this.controller.abort(reason);
    while (this.running.size > 0) await Promise.all(this.running);
  }
}
