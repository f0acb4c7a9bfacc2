import { azurite } from './azurite';
import { fakeGcs } from './fake-gcs';
import { ferretdb } from './ferretdb';
import { minio } from './minio';
import type { Service } from './service';
import { sshd } from './sshd';
import { temporal } from './temporal';

export type { Service } from './service';

/** Every server of the local stack, in table order. */
export const SERVICES: readonly Service[] = [temporal, ferretdb, minio, fakeGcs, sshd, azurite];
