/**
 * Runs restore's per-file work with bounded concurrency (creating a file costs
 * milliseconds of latency on some file systems; overlapping them is what makes
 * restores of many small files fast). The first failure aborts the shared
 * controller so the other tasks stop between chunks and clean up, and is
 * rethrown to the caller once everything in flight has settled.
 */
export class TaskPool {
  private readonly running = new Set<Promise<void>>();
  /** Tasks queued with `enqueue`, started in order as slots free up. */
  private readonly queue: (() => Promise<void>)[] = [];
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
    this.start(task);
  }

  /**
   * Queues `task` without waiting for a slot (the caller goes on with other
   * work); queued tasks start in order as slots free up. A task still queued
   * when the pool fails or is cancelled never starts, so it must not be one
   * that others wait for.
   */
  enqueue(task: () => Promise<void>): void {
    this.rethrow();
    this.queue.push(task);
    this.pump();
  }

  private pump(): void {
    while (this.running.size < this.limit && this.queue.length > 0 && this.failure === undefined && !this.controller.signal.aborted) {
      this.start(this.queue.shift() as () => Promise<void>);
    }
  }

  private start(task: () => Promise<void>): void {
    const started: Promise<void> = task()
      .catch((error: unknown) => {
        if (this.failure === undefined) {
          this.failure = { error };
          this.controller.abort(error);
        }
      })
      .finally(() => {
        this.running.delete(started);
        this.pump();
      });
    this.running.add(started);
  }

  /** Waits for every task, queued ones included (they start as others finish); throws the first failure. */
  async drain(): Promise<void> {
    while (this.running.size > 0) await Promise.all(this.running);
    this.rethrow();
    // Aborted from outside (the caller's signal) with tasks still queued: they will not start.
    if (this.queue.length > 0) {
      this.queue.length = 0;
      this.controller.signal.throwIfAborted();
    }
  }

  /** Stops everything after a failure outside the pool and waits until tasks have cleaned up. */
  async cancel(reason: unknown): Promise<void> {
    if (!this.controller.signal.aborted) this.controller.abort(reason);
    this.queue.length = 0;
    while (this.running.size > 0) await Promise.all(this.running);
  }
}
