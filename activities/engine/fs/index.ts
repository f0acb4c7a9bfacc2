export { readNodeMetadata, applyNodeMetadata, readXattrs, nodeTypeOf, parseNs } from './metadata';
export type { NodeMetadata, ApplyOptions, ApplyOutcome } from './metadata';
export { nativeFs, NativeAddonMissing } from './native';
export type { CofferFsAddon } from './native';
export { userName, groupName, userId, groupId } from './accounts';
