import assert from 'node:assert/strict';
import { constants } from 'node:fs';
import { chown, link, lstat, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { after, before, describe, it } from 'node:test';

import { IntegrityError } from '../../../activities/crypto/errors';
import { applyNodeMetadata, nativeFs, parseNs, readNodeMetadata } from '../../../activities/engine/fs';

void describe('file metadata capture and apply', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(`${tmpdir()}/coffer-fs-meta-`);
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const meta = async (path: string, name = 'x') => readNodeMetadata(path, name, await lstat(path, { bigint: true }));

  void it('captures type, mode, owner names, ns times, size, xattrs and hard-link identity of a file', async () => {
    const path = `${dir}/file`;
    await writeFile(path, 'hello');
    nativeFs().lsetxattr(path, 'user.tag', Buffer.from([0, 255, 7]));
    nativeFs().lutimens(path, 1_700_000_000_111_222_333n, 1_600_000_000_987_654_321n);
    const node = await meta(path, 'file');
    assert.equal(node.type, 'file');
    assert.equal(node.size, 5);
    assert.equal(node.mtimeNs, '1600000000987654321');
    assert.equal(node.atimeNs, '1700000000111222333');
    assert.equal(node.user, 'root');
    assert.equal(node.group, 'root');
    assert.deepEqual(node.xattrs, { 'user.tag': Buffer.from([0, 255, 7]).toString('base64') });
    assert.equal(node.hardlinkKey, undefined);
    assert.equal('linkTarget' in node, false, 'absent fields are omitted, not undefined');
    await link(path, `${dir}/file-2`);
    const st = await lstat(path, { bigint: true });
    assert.equal((await meta(path)).hardlinkKey, `${st.dev}:${st.ino}`);
    assert.equal((await meta(`${dir}/file-2`)).hardlinkKey, `${st.dev}:${st.ino}`);
  });

  void it('captures symlinks without following them, and FIFOs, devices, directories', async () => {
    await writeFile(`${dir}/target`, 'data');
    nativeFs().lsetxattr(`${dir}/target`, 'user.only-on-target', Buffer.from('1'));
    await symlink('target', `${dir}/link`);
    const link_ = await meta(`${dir}/link`);
    assert.equal(link_.type, 'symlink');
    assert.equal(link_.linkTarget, 'target');
    assert.equal(link_.xattrs, undefined);
    assert.equal(link_.size, undefined);
    nativeFs().mknod(`${dir}/fifo`, constants.S_IFIFO | 0o640, 0);
    const fifo = await meta(`${dir}/fifo`);
    assert.equal(fifo.type, 'fifo');
    assert.equal(fifo.mode, 0o640);
    const rdev = (1 << 8) | 3; // makedev(1, 3), like /dev/null
    nativeFs().mknod(`${dir}/null`, constants.S_IFCHR | 0o666, rdev);
    const dev = await meta(`${dir}/null`);
    assert.equal(dev.type, 'chardev');
    assert.equal(dev.rdev, rdev);
    await mkdir(`${dir}/sticky`, 0o755);
    const dirNode = await meta(`${dir}/sticky`);
    assert.equal(dirNode.type, 'dir');
    assert.equal(dirNode.size, undefined);
  });

  void it('applies owner before mode so setuid/setgid survive, then xattrs, then ns times', async () => {
    const path = `${dir}/suid`;
    await writeFile(path, '#!/bin/sh\n');
    const node = { ...(await meta(path, 'suid')), mode: 0o6755, uid: 1234, gid: 4321, mtimeNs: '1234567890123456789', atimeNs: '1234567890000000001', xattrs: { 'user.a': Buffer.from('b').toString('base64') } };
    delete (node as { user?: string }).user;
    delete (node as { group?: string }).group;
    await applyNodeMetadata(path, node, { owner: true });
    const st = await lstat(path, { bigint: true });
    assert.equal(Number(st.mode & 0o7777n), 0o6755);
    assert.equal(st.uid, 1234n);
    assert.equal(st.gid, 4321n);
    assert.equal(st.mtimeNs, 1234567890123456789n);
    assert.equal(st.atimeNs, 1234567890000000001n);
    assert.deepEqual(nativeFs().lgetxattr(path, 'user.a'), Buffer.from('b'));
  });

  void it('prefers the local id of a recorded user name, and sets times before 1970', async () => {
    const path = `${dir}/named`;
    await writeFile(path, '');
    await chown(path, 1000, 1000);
    const node = { ...(await meta(path, 'named')), uid: 999, gid: 999, user: 'root', group: 'root', mtimeNs: '-1500000000' };
    await applyNodeMetadata(path, node, { owner: true });
    const st = await lstat(path, { bigint: true });
    assert.equal(st.uid, 0n);
    assert.equal(st.gid, 0n);
    assert.equal(st.mtimeNs, -1_500_000_000n);
  });

  void it('sets a symlink\'s own times and never touches its target', async () => {
    await writeFile(`${dir}/t2`, 'x');
    await symlink(`${dir}/t2`, `${dir}/l2`);
    const before = await lstat(`${dir}/t2`, { bigint: true });
    const node = { ...(await meta(`${dir}/l2`, 'l2')), mtimeNs: '1000000000000000007', mode: 0o777 };
    await applyNodeMetadata(`${dir}/l2`, node, { owner: true });
    assert.equal((await lstat(`${dir}/l2`, { bigint: true })).mtimeNs, 1000000000000000007n);
    const afterSt = await lstat(`${dir}/t2`, { bigint: true });
    assert.equal(afterSt.mtimeNs, before.mtimeNs);
    assert.equal(afterSt.mode, before.mode);
  });

  void it('rejects malformed timestamps from a tree and reports addon errors with their errno code', () => {
    assert.throws(() => parseNs('12abc', 'mtime'), IntegrityError);
    assert.throws(() => parseNs('', 'mtime'), IntegrityError);
    assert.equal(parseNs('-5', 'mtime'), -5n);
    assert.throws(() => nativeFs().llistxattr(`${dir}/does-not-exist`), (err: unknown) => (err as { code?: string }).code === 'ENOENT');
    assert.equal(nativeFs().lgetxattr(`${dir}/target`, 'user.absent'), null);
  });
});
