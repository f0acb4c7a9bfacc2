/**
 * Canonical encoding of trees: JSON with a fixed key order and nodes sorted
 * by the UTF-8 bytes of their names, so identical directories encode to
 * identical bytes and deduplicate as tree chunks. Decoding validates every
 * field's shape; restore still treats the values as hostile.
 */
import { IntegrityError } from '../crypto/errors';
import type { ContentRef, NodeType, Tree, TreeNode } from './tree';

const NODE_TYPES: ReadonlySet<string> = new Set<NodeType>(['file', 'dir', 'symlink', 'fifo', 'chardev', 'blockdev', 'socket']);

export function compareNames(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/** The node with keys in canonical order and absent optionals dropped. */
function canonicalNode(n: TreeNode): Record<string, unknown> {
  const out: Record<string, unknown> = { name: n.name, type: n.type, mode: n.mode, uid: n.uid, gid: n.gid };
  if (n.user !== undefined) out.user = n.user;
  if (n.group !== undefined) out.group = n.group;
  out.mtimeNs = n.mtimeNs;
  if (n.atimeNs !== undefined) out.atimeNs = n.atimeNs;
  if (n.ctimeNs !== undefined) out.ctimeNs = n.ctimeNs;
  if (n.inode !== undefined) out.inode = n.inode;
  if (n.size !== undefined) out.size = n.size;
  if (n.content !== undefined) out.content = n.content.map((c) => ('chunk' in c ? { chunk: c.chunk, size: c.size } : { hole: c.hole }));
  if (n.subtree !== undefined) out.subtree = n.subtree;
  if (n.linkTarget !== undefined) out.linkTarget = n.linkTarget;
  if (n.rdev !== undefined) out.rdev = n.rdev;
  if (n.hardlinkKey !== undefined) out.hardlinkKey = n.hardlinkKey;
  if (n.xattrs !== undefined) {
    const x: Record<string, string> = {};
    for (const k of Object.keys(n.xattrs).sort(compareNames)) x[k] = n.xattrs[k]!;
    out.xattrs = x;
  }
  return out;
}

export function encodeTree(tree: Tree): Buffer {
  const nodes = [...tree.nodes].sort((a, b) => compareNames(a.name, b.name));
  for (let i = 1; i < nodes.length; i++) {
    if (nodes[i - 1].name === nodes[i].name) throw new RangeError(`tree has two entries named ${JSON.stringify(nodes[i].name)}`);
  }
  return Buffer.from(JSON.stringify({ nodes: nodes.map(canonicalNode) }), 'utf8');
}

function bad(what: string, why: string): never {
  throw new IntegrityError(`${what}: malformed tree (${why})`);
}

const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v);
const isNs = (v: unknown): v is string => typeof v === 'string' && /^-?[0-9]{1,30}$/.test(v);

function checkContent(v: unknown, what: string): ContentRef[] {
  if (!Array.isArray(v)) bad(what, 'content is not a list');
  return v.map((c: unknown) => {
    if (typeof c !== 'object' || c === null) bad(what, 'content entry is not an object');
    const r = c as Record<string, unknown>;
    if (typeof r.chunk === 'string' && /^[0-9a-f]{64}$/.test(r.chunk) && isInt(r.size) && r.size >= 0) return { chunk: r.chunk, size: r.size };
    if (isInt(r.hole) && r.hole >= 0) return { hole: r.hole };
    return bad(what, 'content entry is neither a chunk nor a hole');
  });
}

function checkNode(v: unknown, what: string): TreeNode {
  if (typeof v !== 'object' || v === null) bad(what, 'node is not an object');
  const n = v as Record<string, unknown>;
  if (typeof n.name !== 'string') bad(what, 'name is not a string');
  if (typeof n.type !== 'string' || !NODE_TYPES.has(n.type)) bad(what, `unknown node type for ${JSON.stringify(n.name)}`);
  if (!isInt(n.mode) || !isInt(n.uid) || !isInt(n.gid) || !isNs(n.mtimeNs)) bad(what, `bad mode/owner/mtime for ${JSON.stringify(n.name)}`);
  for (const k of ['user', 'group', 'linkTarget', 'hardlinkKey', 'subtree', 'inode'] as const) {
    if (n[k] !== undefined && typeof n[k] !== 'string') bad(what, `${k} is not a string`);
  }
  for (const k of ['atimeNs', 'ctimeNs'] as const) if (n[k] !== undefined && !isNs(n[k])) bad(what, `${k} is malformed`);
  if (n.size !== undefined && (!isInt(n.size) || n.size < 0)) bad(what, 'size is malformed');
  if (n.rdev !== undefined && !isInt(n.rdev)) bad(what, 'rdev is malformed');
  if (n.subtree !== undefined && !/^[0-9a-f]{64}$/.test(n.subtree as string)) bad(what, 'subtree is not an id');
  let content: ContentRef[] | undefined;
  if (n.content !== undefined) {
    content = checkContent(n.content, what);
    const total = content.reduce((s, c) => s + ('chunk' in c ? c.size : c.hole), 0);
    if (total !== n.size) bad(what, `content of ${JSON.stringify(n.name)} adds up to ${total}, size says ${String(n.size)}`);
  }
  if (n.xattrs !== undefined) {
    if (typeof n.xattrs !== 'object' || n.xattrs === null || Array.isArray(n.xattrs)) bad(what, 'xattrs is not an object');
    for (const x of Object.values(n.xattrs)) if (typeof x !== 'string') bad(what, 'xattr value is not a string');
  }
  return { ...(n as unknown as TreeNode), ...(content === undefined ? {} : { content }) };
}

export function decodeTree(bytes: Buffer, what: string): Tree {
  let doc: unknown;
  try {
    doc = JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    throw new IntegrityError(`${what}: tree is not valid JSON`, { cause: err });
  }
  if (typeof doc !== 'object' || doc === null || !Array.isArray((doc as { nodes?: unknown }).nodes)) bad(what, 'no node list');
  return { nodes: (doc as { nodes: unknown[] }).nodes.map((n) => checkNode(n, what)) };
}
