import { rename, rm, writeFile } from 'node:fs/promises';

/** Writes a report (HTML or JSON text) atomically: temp file in the same directory, then rename. */
export async function writeReportFile(path: string, content: string): Promise<void> {
  const temp = `${path}.tmp-${process.pid}-${Date.now()}`;
  try {
    await writeFile(temp, content, 'utf8');
    await rename(temp, path);
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
}
