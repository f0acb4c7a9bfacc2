import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { LOCK_FILE } from './paths';

function holderAlive(): boolean {
  try {
    const text = readFileSync(LOCK_FILE, 'utf8');
    // Empty: the holder created the file and is about to write its pid.
    if (text === '') return true;
    process.kill(Number.parseInt(text, 10), 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Serialises `up`/`down` across processes (several test runs may call `up`
 * at once). A lock left by a dead process is taken over.
 */
export async function withStackLock<T>(action: () => Promise<T>, log: (line: string) => void, timeoutMs = 30 * 60_000): Promise<T> {
  mkdirSync(dirname(LOCK_FILE), { recursive: true });
  const deadline = Date.now() + timeoutMs;
  let announced = false;
  for (;;) {
    try {
      const fd = openSync(LOCK_FILE, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      if (!holderAlive()) {
        rmSync(LOCK_FILE, { force: true });
        continue;
      }
      if (Date.now() > deadline) throw new Error(`another stack command holds ${LOCK_FILE}`);
      if (!announced) log('waiting for another stack command to finish…');
      announced = true;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  try {
    return await action();
  } finally {
    rmSync(LOCK_FILE, { force: true });
  }
}
