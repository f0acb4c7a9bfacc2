export { restoreTree } from './restore-tree';
export type { RestoreOptions, RestoreWarning } from './restore-tree';
export { compareTree } from './compare';
export type { CompareOptions } from './compare';
export { UnsafePath, NoSpace } from './errors';
export { PathFilter, compileGlob, globMatches, globCouldMatchBelow } from './glob';
export type { Glob } from './glob';
export type { SnapshotReader } from './reader';
export { validateTree, checkName } from './validate';
