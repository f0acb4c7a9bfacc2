/**
 * The snapshot tree model. A tree object is one directory listing; directories
 * refer to their children's tree by id. Trees are stored as encrypted,
 * authenticated metadata objects, so their contents are trusted only after the
 * AEAD check, but restore still treats every field as hostile (a valid key can
 * build a malicious snapshot).
 */
export type NodeType = 'file' | 'dir' | 'symlink' | 'fifo' | 'chardev' | 'blockdev' | 'socket';

/** One piece of a file's content: a stored chunk, or a run of zero bytes kept as a hole. */
export type ContentRef =
  | { readonly chunk: string; readonly size: number }
  | { readonly hole: number };

export interface TreeNode {
  /** One path segment. Restore rejects '', '.', '..', and names containing '/' or NUL. */
  readonly name: string;
  readonly type: NodeType;
  /** Permission bits including setuid/setgid/sticky (mode & 0o7777). */
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  readonly user?: string;
  readonly group?: string;
  /** Nanoseconds since the epoch, as a decimal string (exceeds 2^53). */
  readonly mtimeNs: string;
  readonly atimeNs?: string;
  /**
   * Status-change time (ns, decimal string) and inode number (decimal string)
   * at backup time. Not restored: the next backup compares them (with size
   * and mtime) to decide that a file is unchanged and reuse its content.
   */
  readonly ctimeNs?: string;
  readonly inode?: string;
  /** Files: logical size in bytes (including holes). */
  readonly size?: number;
  /** Files: content in order; the sizes add up to `size`. */
  readonly content?: readonly ContentRef[];
  /** Directories: id of the child tree. */
  readonly subtree?: string;
  /** Symlinks: target, stored verbatim (may be absolute or dangling). */
  readonly linkTarget?: string;
  /** Character/block devices: rdev. */
  readonly rdev?: number;
  /**
   * Hard links: entries of one snapshot sharing this key were one inode at
   * backup time; restore links them to the first one restored, inside the target only.
   */
  readonly hardlinkKey?: string;
  /** Extended attributes, values base64-encoded. */
  readonly xattrs?: Readonly<Record<string, string>>;
}

export interface Tree {
  /** Sorted by name (byte order of the UTF-8 encoding); names unique. */
  readonly nodes: readonly TreeNode[];
}
