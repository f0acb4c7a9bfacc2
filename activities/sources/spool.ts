/**
 * The host-local spool of command sources. A command's standard output is
 * written to a temporary file, fsynced, renamed into place and described by
 * a manifest (size + SHA-256) written the same way; only then is it complete.
 * A retried activity that finds a complete spool (manifest and file agree)
 * reuses it instead of running the dump twice. The spool directory of a job
 * is named after a hash of its workflow id, so every attempt and every
 * continue-as-new run of one backup find the same place.
 *
 * Layout under `<scratch>/command-spool/<job hash>/`:
 *   data/<source>/<filename>   the output, backed up as /coffer-commands/<source>/<filename>
 *   <source>.json              the manifest (outside data/, so never in the snapshot)
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import type { WriteStream } from 'node:fs';
import { mkdir, open, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';

/** Where command output appears in snapshots. */
export const COMMANDS_ROOT = '/coffer-commands';

export interface SpoolManifest {
  readonly version: 1;
  readonly source: string;
  readonly filename: string;
  readonly bytes: number;
  readonly sha256: string;
  readonly completed: string;
}

export function spoolRoot(scratchDir: string): string {
  return join(scratchDir, 'command-spool');
}

export function jobSpoolDir(scratchDir: string, spoolKey: string): string {
  return join(spoolRoot(scratchDir), createHash('sha256').update(spoolKey).digest('hex').slice(0, 32));
}

export function sourceDataDir(jobDir: string, source: string): string {
  return join(jobDir, 'data', source);
}

export function manifestPath(jobDir: string, source: string): string {
  return join(jobDir, `${source}.json`);
}

export async function sha256OfFile(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** The manifest of a complete spool whose file still matches it, else undefined. */
export async function completeSpool(jobDir: string, source: string, filename: string): Promise<SpoolManifest | undefined> {
  let manifest: SpoolManifest;
  try {
    manifest = JSON.parse(await readFile(manifestPath(jobDir, source), 'utf8')) as SpoolManifest;
  } catch {
    return undefined;
  }
  if (manifest.version !== 1 || manifest.filename !== filename) return undefined;
  const file = join(sourceDataDir(jobDir, source), filename);
  try {
    if ((await stat(file)).size !== manifest.bytes) return undefined;
    return (await sha256OfFile(file)) === manifest.sha256 ? manifest : undefined;
  } catch {
    return undefined;
  }
}

/** Writes `text` to `path` atomically and durably (temp file, fsync, rename). */
export async function writeFileAtomic(path: string, text: string): Promise<void> {
  const tmp = `${path}.tmp-${randomBytes(6).toString('hex')}`;
  const fh = await open(tmp, 'w', 0o600);
  try {
    await fh.writeFile(text);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, path);
}

export async function fsyncFile(path: string): Promise<void> {
  const fh = await open(path, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/**
 * A write stream to a fresh temporary file in the job's spool directory,
 * outside data/ so a crashed attempt's leftovers are never backed up
 * (mode 0600: dumps are sensitive).
 */
export async function openTemp(jobDir: string): Promise<{ path: string; stream: WriteStream }> {
  await mkdir(jobDir, { recursive: true, mode: 0o700 });
  const path = join(jobDir, `.${randomBytes(6).toString('hex')}.partial`);
  return { path, stream: createWriteStream(path, { flags: 'wx', mode: 0o600 }) };
}

export async function removeJobSpool(scratchDir: string, spoolKey: string): Promise<boolean> {
  const dir = jobSpoolDir(scratchDir, spoolKey);
  try {
    await stat(dir);
  } catch {
    return false;
  }
  await rm(dir, { recursive: true, force: true });
  return true;
}
