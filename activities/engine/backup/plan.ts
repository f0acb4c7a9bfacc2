/**
 * planBackup: walk the sources once (lstat only, no content reads), record
 * directories and special entries with their metadata, and split the regular
 * files into batches. The plan is stored encrypted in the repository so
 * workflows pass only its id.
 */
import type { BigIntStats } from 'node:fs';
import { lstatSync } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import { basename, isAbsolute, join, resolve } from 'node:path';
import { randomId } from '../../crypto/random';
import { InvalidInput } from '../../errors';
import { CanaryChanged, SourceUnreadable } from '../../repository/errors';
import { Names, ObjectType } from '../../repository/format';
import { compareNames } from '../../repository/tree-codec';
import { readNodeMetadata } from '../fs';
import type { BackupPlan, BackupRequest, RunOptions, SnapshotSummary } from '../api';
import type { RepoCore } from '../core';
import { resolveSnapshot } from '../snapshots';
import { compileExcludes } from './glob';
import { ParentLookup } from './parent';
import type { PlanDoc, PlanEntry, PlanFile } from './plan-doc';

function reasonOf(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  return e.code !== undefined ? `${e.code}: ${e.syscall ?? 'access'} failed` : String(err);
}

async function findParent(core: RepoCore, request: BackupRequest, paths: string[]): Promise<SnapshotSummary | undefined> {
  if (request.parent === undefined) return undefined;
  if (request.parent === 'auto') {
    try {
      return await resolveSnapshot(core, 'latest', { host: request.host, paths });
    } catch {
      return undefined;
    }
  }
  return resolveSnapshot(core, request.parent);
}

export async function planBackup(core: RepoCore, request: BackupRequest, options: RunOptions = {}): Promise<BackupPlan> {
  if (request.paths.length === 0) throw new InvalidInput('backup needs at least one path');
  if (request.host.trim() === '') throw new InvalidInput('backup needs a host name');
  const paths = request.paths.map((p) => {
    if (!isAbsolute(p)) throw new InvalidInput(`backup path ${JSON.stringify(p)} is not absolute`);
    return resolve(p);
  });
  const readFrom = new Map<string, string>();
  for (const [wanted, actual] of Object.entries(request.readFrom ?? {})) {
    if (!isAbsolute(wanted) || !isAbsolute(actual)) throw new InvalidInput(`readFrom needs absolute paths (${JSON.stringify(wanted)} -> ${JSON.stringify(actual)})`);
    readFrom.set(resolve(wanted), resolve(actual));
  }
  const rootNames = new Set<string>();
  const roots = paths.map((recorded) => {
    const name = basename(recorded) === '' ? 'root' : basename(recorded);
    if (rootNames.has(name)) throw new InvalidInput(`two backup paths end in the same name ${JSON.stringify(name)}; back them up separately`);
    rootNames.add(name);
    // The snapshot records `recorded`; the content is read at `abs` (the same unless readFrom maps it).
    return { abs: readFrom.get(recorded) ?? recorded, name };
  });
  await core.refreshIndex();
  const parent = await findParent(core, request, paths);
  const lookup = new ParentLookup(core, parent?.rootTree);
  const matcher = compileExcludes(request.excludes ?? []);

  // Canaries: a file that vanished, is no longer a regular file, or whose size, mtime, ctime or
  // inode differs from the parent snapshot fails the backup. ctime and inode catch a canary
  // rewritten with its mtime put back, or replaced by a rename; they are compared only when the
  // parent recorded them (older snapshots did not).
  for (const canary of request.canaries ?? []) {
    if (isAbsolute(canary) || canary.split('/').some((s) => s === '..' || s === '')) throw new InvalidInput(`canary ${JSON.stringify(canary)} must be a relative path`);
    for (const root of roots) {
      const before = await lookup.lookup(`${root.name}/${canary}`);
      if (before === undefined) continue;
      const where = join(root.abs, canary);
      let st: BigIntStats | undefined;
      try {
        st = await lstat(where, { bigint: true });
      } catch {
        st = undefined;
      }
      const since = `since snapshot ${parent?.id.slice(0, 12) ?? ''}`;
      if (st === undefined) throw new CanaryChanged(`canary file ${where} was deleted ${since}`);
      if (before.type === 'file' && !st.isFile()) throw new CanaryChanged(`canary file ${where} was replaced by something that is not a regular file ${since}`);
      if (before.inode !== undefined && st.ino.toString() !== before.inode) throw new CanaryChanged(`canary file ${where} was replaced (new inode) ${since}`);
      if (
        Number(st.size) !== before.size ||
        st.mtimeNs.toString() !== before.mtimeNs ||
        (before.ctimeNs !== undefined && st.ctimeNs.toString() !== before.ctimeNs)
      ) {
        throw new CanaryChanged(`canary file ${where} changed (size, modification or change time) ${since}`);
      }
    }
  }

  const planId = randomId();
  const entries: PlanEntry[] = [];
  const unreadable: { path: string; reason: string }[] = [];
  const batches: PlanFile[][] = [[]];
  let batchBytes = 0;
  let files = 0;
  let bytes = 0;
  const addFile = (file: PlanFile): void => {
    let current = batches[batches.length - 1];
    if (current.length > 0 && (current.length >= core.options.batchFiles || batchBytes + file.size > core.options.batchBytes)) {
      current = [];
      batches.push(current);
      batchBytes = 0;
    }
    current.push(file);
    batchBytes += file.size;
    files++;
    bytes += file.size;
  };

  for (const root of roots) {
    let st: BigIntStats;
    try {
      st = await lstat(root.abs, { bigint: true });
    } catch (err) {
      throw new SourceUnreadable(`cannot read backup path ${root.abs} (${reasonOf(err)})`, { cause: err });
    }
    // Depth-first walk with an explicit stack; children in name order so plans are deterministic.
    const stack: { abs: string; path: string; name: string; rel: string; st: BigIntStats }[] = [{ abs: root.abs, path: root.name, name: root.name, rel: '', st }];
    while (stack.length > 0) {
      options.signal?.throwIfAborted();
      const item = stack.pop()!;
      if (item.st.isFile()) {
        addFile({ path: item.path, abs: item.abs, size: Number(item.st.size) });
        continue;
      }
      try {
        entries.push({ path: item.path, node: await readNodeMetadata(item.abs, item.name, item.st) });
      } catch (err) {
        unreadable.push({ path: item.abs, reason: reasonOf(err) });
        continue;
      }
      if (!item.st.isDirectory()) continue;
      let names: string[];
      try {
        names = await readdir(item.abs);
      } catch (err) {
        unreadable.push({ path: item.abs, reason: reasonOf(err) });
        continue;
      }
      names.sort(compareNames);
      const children: typeof stack = [];
      for (const name of names) {
        const abs = join(item.abs, name);
        const rel = item.rel === '' ? name : `${item.rel}/${name}`;
        if (matcher.matches(name, rel, abs)) continue;
        try {
          // Synchronous lstat: much cheaper than a thread-pool round trip per entry.
          children.push({ abs, path: `${item.path}/${name}`, name, rel, st: lstatSync(abs, { bigint: true }) });
        } catch (err) {
          unreadable.push({ path: abs, reason: reasonOf(err) });
        }
      }
      for (let i = children.length - 1; i >= 0; i--) stack.push(children[i]);
    }
    options.onProgress?.({ filesDone: 0, filesTotal: files, bytesDone: 0, bytesTotal: bytes });
  }

  const doc: PlanDoc = {
    version: 1,
    planId,
    created: new Date().toISOString(),
    host: request.host,
    paths,
    tags: [...(request.tags ?? [])],
    excludes: [...(request.excludes ?? [])],
    ...(parent === undefined ? {} : { parent: parent.id, parentRootTree: parent.rootTree }),
    batches: batches.length,
    files,
    bytes,
    entries,
    unreadable,
  };
  for (let i = 0; i < batches.length; i++) {
    const name = Names.planFiles(planId, i);
    await core.saveJson(ObjectType.planFiles, name, `${planId}/files-${i}`, { files: batches[i] });
  }
  await core.saveJson(ObjectType.plan, Names.plan(planId), planId, doc);
  return { planId, batches: batches.length, files, bytes };
}

export async function loadPlan(core: RepoCore, planId: string): Promise<PlanDoc | undefined> {
  if (!/^[0-9a-f]{64}$/.test(planId)) throw new InvalidInput(`invalid plan id ${JSON.stringify(planId)}`);
  return (await core.tryLoadJson(ObjectType.plan, Names.plan(planId), planId)) as PlanDoc | undefined;
}
