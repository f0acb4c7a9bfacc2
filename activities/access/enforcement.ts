/**
 * When access control applies, and how the first admin comes to be.
 *
 * Access control is ON when a catalog is configured and at least one
 * principal is registered in it. Before the first principal exists nothing
 * can be checked (there is no public key to check against), so jobs run with
 * a warning; `coffer principals add <name> --role admin` without a caller
 * identity is accepted exactly once, as the bootstrap: a marker document
 * inserted with a unique _id makes two concurrent bootstraps impossible, and
 * the bootstrap is refused as soon as any principal exists.
 */
import type { Catalog } from '../catalog/catalog';
import { InvalidInput } from '../errors';
import { BootstrapClosed } from './errors';

export const ACCESS_STATE_COLLECTION = 'access_state';
const BOOTSTRAP_ID = 'bootstrap';

interface AccessStateDoc {
  _id: string;
  principalId: string;
  at: Date;
}

/** True when principals exist: every job must then prove who started it. */
export async function accessEnforced(catalog: Catalog): Promise<boolean> {
  return (await catalog.principals.countDocuments({}, { limit: 1 })) > 0;
}

/**
 * Registers the first principal as admin on every repository ('*'), only if
 * no principal exists and no bootstrap happened before.
 */
export async function bootstrapFirstAdmin(
  catalog: Catalog,
  input: { readonly id: string; readonly publicKey: string; readonly expiresAt: Date | null; readonly now?: Date },
): Promise<void> {
  if (await accessEnforced(catalog)) {
    throw new BootstrapClosed('principals exist already: the first-admin bootstrap is closed');
  }
  const state = catalog.db.collection<AccessStateDoc>(ACCESS_STATE_COLLECTION);
  try {
    await state.insertOne({ _id: BOOTSTRAP_ID, principalId: input.id, at: input.now ?? new Date() });
  } catch (err) {
    if ((err as { code?: unknown }).code !== 11000) throw err;
    // A bootstrap that died half-way may be finished by the same principal (no principal exists yet, see above).
    const previous = await state.findOne({ _id: BOOTSTRAP_ID });
    if (previous?.principalId !== input.id) {
      throw new BootstrapClosed('the first-admin bootstrap was used already', { cause: err });
    }
  }
  if (Buffer.from(input.publicKey, 'base64').length !== 32) {
    await state.deleteOne({ _id: BOOTSTRAP_ID });
    throw new InvalidInput(`principal ${input.id}: the public key must be 32 bytes of base64 (Ed25519)`);
  }
  await catalog.putGrant({ principalId: input.id, role: 'admin', scope: '*', grantedBy: 'bootstrap', expiresAt: input.expiresAt });
  // The principal goes in last: until it exists, access control stays off and a failed bootstrap leaves nothing half-done that matters.
  await catalog.putPrincipal({ id: input.id, name: input.id, publicKey: input.publicKey });
}
