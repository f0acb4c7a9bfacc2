/**
 * `coffer principals add|list|grant|revoke|disable`: who may do what. These
 * talk to the catalog directly (COFFER_MONGODB_URL). Once any principal
 * exists, the caller must be an identified principal (COFFER_PRINCIPAL +
 * COFFER_PRINCIPAL_KEY_FILE) with `access.manage` on the grant's scope; the
 * very first principal can only be an admin, added without an identity
 * exactly once (bootstrap, docs/access.md).
 */
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { authorize } from '../../activities/access/authorize';
import { accessEnforced, bootstrapFirstAdmin } from '../../activities/access/enforcement';
import { AccessDenied, IdentityUnproven } from '../../activities/access/errors';
import { isRole, permits, ROLES } from '../../activities/access/roles';
import { Catalog } from '../../activities/catalog/catalog';
import type { GrantDoc } from '../../activities/catalog/documents';
import { CatalogNotConfigured } from '../../activities/catalog/errors';
import { InvalidInput } from '../../activities/errors';
import { callerIdentity, catalogOptionsFromEnv, checkRegisteredKey } from '../access';
import type { CallerIdentity } from '../access';
import type { CliContext } from '../context';
import { readPublicKey } from '../principal-files';
import { durationSeconds } from './common';
import type { ContextFactory } from './common';

interface GrantFlags {
  role: string;
  scope: string;
  expires?: Date;
}

function role(value: string): string {
  if (!isRole(value)) throw new InvalidArgumentError(`expected one of ${ROLES.join(', ')}`);
  return value;
}

/** An ISO-8601 time, or a duration from now (30d, 12h, 2w). */
export function expiryTime(value: string, now: Date = new Date()): Date {
  if (/^\d+(\.\d+)?[smhdw]?$/.test(value.trim())) return new Date(now.getTime() + durationSeconds(value) * 1000);
  const at = Date.parse(value);
  if (Number.isNaN(at)) throw new InvalidArgumentError('expected an ISO-8601 time or a duration such as 30d');
  if (at <= now.getTime()) throw new InvalidArgumentError('the expiry must be in the future');
  return new Date(at);
}

function principalName(value: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/.test(value)) {
    throw new InvalidInput(`principal name ${JSON.stringify(value)} must be 1-64 letters, digits, '.', '_', '@' or '-'`);
  }
  return value;
}

async function withCatalog<T>(ctx: CliContext, fn: (catalog: Catalog) => Promise<T>): Promise<T> {
  const options = catalogOptionsFromEnv(ctx.env);
  if (options === undefined) throw new CatalogNotConfigured('principals live in the catalog, and none is configured (COFFER_MONGODB_URL)');
  const catalog = await Catalog.open(options);
  try {
    return await fn(catalog);
  } finally {
    await catalog.close();
  }
}

/** The caller, proven against the catalog, allowed `access.manage` on `scope`. */
async function requireManager(ctx: CliContext, catalog: Catalog, scope: string): Promise<CallerIdentity> {
  const identity = await callerIdentity(ctx.env);
  if (identity === undefined) throw new IdentityUnproven('managing principals needs an admin identity (COFFER_PRINCIPAL, COFFER_PRINCIPAL_KEY_FILE)');
  await checkRegisteredKey(catalog, identity);
  await authorize(catalog, identity.principalId, 'access.manage', { repoId: scope }, new Date());
  return identity;
}

function grantLine(g: GrantDoc, now: Date): string {
  const expiry = g.expiresAt === null ? 'never expires' : `${g.expiresAt.getTime() <= now.getTime() ? 'EXPIRED' : 'expires'} ${g.expiresAt.toISOString()}`;
  return `  ${g.role} on ${g.scope === '*' ? 'every repository' : g.scope} (${expiry}; granted by ${g.grantedBy})`;
}

function addGrantOptions(command: Command): Command {
  return command
    .requiredOption('--role <role>', `one of ${ROLES.join(', ')}`, role)
    .option('--scope <repo-id>', "a repository id, or '*' for every repository", '*')
    .option('--expires <time>', 'ISO-8601 time or duration from now (30d, 12h); default: never', (v: string) => expiryTime(v));
}

export function registerPrincipals(program: Command, makeContext: ContextFactory): void {
  const principals = program.command('principals').description('principals (people or machines with a key) and their role grants');

  addGrantOptions(
    principals
      .command('add')
      .description("register a principal's public key and grant it a role")
      .argument('<name>', 'principal id')
      .requiredOption('--public-key <file>', 'public key file from `coffer keygen` (<key file>.pub)'),
  ).action(async (name: string, flags: GrantFlags & { publicKey: string }, command: Command) => {
    const ctx = makeContext(command);
    const id = principalName(name);
    const { publicKey, principalId } = await readPublicKey(flags.publicKey);
    if (principalId !== undefined && principalId !== id) {
      throw new InvalidInput(`${flags.publicKey} is the public key of ${principalId}, not ${id}`);
    }
    await withCatalog(ctx, async (catalog) => {
      if (!(await accessEnforced(catalog))) {
        if (flags.role !== 'admin' || flags.scope !== '*') {
          throw new InvalidInput('the first principal must be an admin on every repository (--role admin, no --scope)', { hint: 'see docs/access.md, bootstrap' });
        }
        await bootstrapFirstAdmin(catalog, { id, publicKey, expiresAt: flags.expires ?? null });
        process.stderr.write(`bootstrap: ${id} is the first admin; access control is now ON for every job using this catalog\n`);
      } else {
        const manager = await requireManager(ctx, catalog, flags.scope);
        const existing = await catalog.getPrincipal(id);
        if (existing !== undefined && existing.publicKey !== publicKey) {
          throw new InvalidInput(`principal ${id} is registered with another public key`, { hint: 'use another name, or disable the old principal first' });
        }
        if (existing === undefined) await catalog.putPrincipal({ id, name: id, publicKey });
        await catalog.putGrant({ principalId: id, role: flags.role, scope: flags.scope, grantedBy: manager.principalId, expiresAt: flags.expires ?? null });
      }
    });
    ctx.print({ principal: id, role: flags.role, scope: flags.scope, expiresAt: flags.expires?.toISOString() ?? null }, () =>
      `added ${id}: ${flags.role} on ${flags.scope === '*' ? 'every repository' : flags.scope}${flags.expires === undefined ? '' : ` until ${flags.expires.toISOString()}`}`,
    );
  });

  addGrantOptions(principals.command('grant').description('grant a registered principal a role (again: a new expiry)').argument('<name>', 'principal id')).action(
    async (name: string, flags: GrantFlags, command: Command) => {
      const ctx = makeContext(command);
      const grant = await withCatalog(ctx, async (catalog) => {
        const manager = await requireManager(ctx, catalog, flags.scope);
        if ((await catalog.getPrincipal(name)) === undefined) throw new InvalidInput(`no principal named ${JSON.stringify(name)}`, { hint: 'add it with `coffer principals add`' });
        return catalog.putGrant({ principalId: name, role: flags.role, scope: flags.scope, grantedBy: manager.principalId, expiresAt: flags.expires ?? null });
      });
      ctx.print(grant, () => `granted ${name}:\n${grantLine(grant, new Date())}`);
    },
  );

  principals
    .command('revoke')
    .description("take a role away from a principal")
    .argument('<name>', 'principal id')
    .requiredOption('--role <role>', `one of ${ROLES.join(', ')}`, role)
    .option('--scope <repo-id>', "the grant's scope", '*')
    .action(async (name: string, flags: { role: string; scope: string }, command: Command) => {
      const ctx = makeContext(command);
      const removed = await withCatalog(ctx, async (catalog) => {
        const manager = await requireManager(ctx, catalog, flags.scope);
        if (name === manager.principalId && flags.role === 'admin') {
          throw new InvalidInput('an admin cannot revoke their own admin grant', { hint: 'have another admin do it (so access is never left without an admin by mistake)' });
        }
        return catalog.revokeGrant(`${name}:${flags.role}:${flags.scope}`);
      });
      if (!removed) throw new InvalidInput(`${name} has no ${flags.role} grant on ${flags.scope}`);
      ctx.print({ principal: name, role: flags.role, scope: flags.scope, revoked: true }, () => `revoked ${flags.role} on ${flags.scope} from ${name}`);
    });

  principals
    .command('disable')
    .description('disable a principal: its jobs, approvals and grants stop working at once')
    .argument('<name>', 'principal id')
    .action(async (name: string, _flags: unknown, command: Command) => {
      const ctx = makeContext(command);
      await withCatalog(ctx, async (catalog) => {
        const manager = await requireManager(ctx, catalog, '*');
        if (name === manager.principalId) throw new InvalidInput('you cannot disable yourself');
        if ((await catalog.getPrincipal(name)) === undefined) throw new InvalidInput(`no principal named ${JSON.stringify(name)}`);
        await catalog.disablePrincipal(name);
      });
      ctx.print({ principal: name, disabled: true }, () => `disabled ${name}`);
    });

  principals
    .command('list')
    .description('principals, their keys and grants')
    .action(async (_flags: unknown, command: Command) => {
      const ctx = makeContext(command);
      const now = new Date();
      const rows = await withCatalog(ctx, async (catalog) => {
        if (await accessEnforced(catalog)) {
          const identity = await callerIdentity(ctx.env);
          if (identity === undefined) throw new IdentityUnproven('listing principals needs an identity (COFFER_PRINCIPAL, COFFER_PRINCIPAL_KEY_FILE)');
          await checkRegisteredKey(catalog, identity);
          const own = await catalog.listGrants(identity.principalId);
          const readable = own.some((g) => permits(g.role, 'catalog.read') && (g.expiresAt === null || g.expiresAt.getTime() > now.getTime()));
          if (!readable) throw new AccessDenied(`${identity.principalId} may not read the catalog`, 'role-lacks-permission');
        }
        const list = await catalog.listPrincipals();
        return Promise.all(list.map(async (p) => ({ ...p, grants: await catalog.listGrants(p._id) })));
      });
      ctx.print(
        rows.map((r) => ({ id: r._id, publicKey: r.publicKey, disabled: r.disabled, createdAt: r.createdAt, grants: r.grants })),
        () =>
          rows.length === 0
            ? 'no principals: access control is off (see docs/access.md, bootstrap)'
            : rows
                .map((r) => [`${r._id}${r.disabled ? ' (DISABLED)' : ''}  key ${r.publicKey.slice(0, 16)}…`, ...r.grants.map((g) => grantLine(g, now))].join('\n'))
                .join('\n'),
      );
    });
}
