/**
 * Imported first by Coffer's entry points (CLI, worker, benchmark runner).
 * libuv runs file-system calls on a pool of 4 threads by default. A restore
 * keeps more than that busy at once: pack reads, batches of small files,
 * renames, and syncfs, which holds a thread for as long as write-back takes.
 * With 4, reads queued behind them and the CPU workers waited for data.
 * libuv sizes the pool once, when it first starts, so this must run before any
 * asynchronous file-system call. An operator's own setting wins.
 */
export const IO_THREADS = 16;

process.env.UV_THREADPOOL_SIZE ??= String(IO_THREADS);
