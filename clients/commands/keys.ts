/**
 * `coffer keys rotate|list|add|remove --repo <url>`.
 *
 * rotate: rotateKeysWorkflow. list and add run here, client-side, with the
 * caller's password (a new passphrase must never travel in a workflow
 * payload). remove checks here that the key is neither the last one nor the
 * one the caller's password opens, then runs removeKeyWorkflow (which an
 * approval gate may guard; the worker also refuses its own key).
 */
import { randomBytes } from 'node:crypto';
import { chmod, link, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { Command } from 'commander';
import { generateRecipientKeyPair } from '../../activities/crypto/keyfile';
import type { KeyInfo } from '../../activities/engine/api';
import { InvalidInput } from '../../activities/errors';
import { SecretFileInvalid } from '../../activities/job-errors';
import { unlockOpens } from '../../activities/key-admin';
import { keyInfoOf, listKeyFiles, unlockKeyring } from '../../activities/repository/key-store';
import type { StoredKey } from '../../activities/repository/key-store';
import type { RemoveKeyInput, RemoveKeyResult } from '../../workflows/remove-key';
import type { RotateKeysResult, RotateKeysWorkflowInput } from '../../workflows/rotate-keys';
import type { CliContext } from '../context';
import { withBackend } from '../offline/open';
import { formatRecipientKeyFile } from '../offline/unlock';
import { positiveInt, seconds, shortId } from './common';
import type { ContextFactory } from './common';

interface RotateFlags {
  repo: string;
  packsPerBatch?: number;
}

interface ListFlags {
  repo: string;
}

interface AddFlags {
  repo: string;
  label?: string;
  newPasswordFile?: string;
  recipientOut?: string;
}

interface RemoveFlags {
  repo: string;
}

export interface ListedKey extends KeyInfo {
  /** The key the caller's password opens. */
  readonly current: boolean;
  readonly ageDays: number;
}

function ageDays(created: string, now: number = Date.now()): number {
  return Math.floor((now - Date.parse(created)) / 86_400_000);
}

/** The key files, and which one the caller's password opens (this also proves the password). */
async function keysWithCurrent(ctx: CliContext, repo: string): Promise<{ keys: StoredKey[]; currentId: string }> {
  const password = await ctx.password();
  return withBackend(repo, ctx.env, async (backend) => {
    const { keyring, key } = await unlockKeyring(backend, { passphrase: password }, backend.location);
    keyring.wipe();
    return { keys: await listKeyFiles(backend), currentId: key.info.id };
  });
}

/** A full key id from a full id or a unique prefix. */
function resolveKeyId(keys: readonly StoredKey[], ref: string): StoredKey {
  if (!/^[0-9a-f]{4,64}$/.test(ref)) throw new InvalidInput(`invalid key id ${JSON.stringify(ref)}`, { hint: "use an id (or unique prefix of at least 4 characters) from 'coffer keys list'" });
  const matches = keys.filter((k) => k.info.id.startsWith(ref));
  if (matches.length === 0) throw new InvalidInput(`no key ${ref} in this repository`, { hint: "see 'coffer keys list'" });
  if (matches.length > 1) throw new InvalidInput(`key id prefix ${ref} is ambiguous (${matches.length} keys)`, { hint: 'give more characters' });
  return matches[0];
}

async function readNewPassword(file: string | undefined, env: Readonly<Record<string, string | undefined>>): Promise<string> {
  if (file !== undefined) {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      throw new SecretFileInvalid(`new password file ${file} cannot be read`, { cause: err });
    }
    const line = text.split(/\r?\n/)[0] ?? '';
    if (line === '') throw new SecretFileInvalid(`new password file ${file} is empty`);
    return line;
  }
  const fromEnv = env.COFFER_NEW_PASSWORD;
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  if (process.stdin.isTTY) {
    const first = await promptHidden('new password: ');
    const second = await promptHidden('repeat new password: ');
    if (first !== second) throw new InvalidInput('the two passwords differ');
    if (first === '') throw new InvalidInput('the new password must not be empty');
    return first;
  }
  throw new InvalidInput('no new password given', { hint: 'pass --new-password-file <file> (or set COFFER_NEW_PASSWORD), or run on a terminal to be prompted' });
}

/** Reads one line from the terminal without echoing it. */
async function promptHidden(question: string): Promise<string> {
  process.stderr.write(question);
  const stdin = process.stdin;
  stdin.setRawMode(true);
  stdin.resume();
  return new Promise((resolvePrompt, reject) => {
    let value = '';
    const onData = (data: Buffer): void => {
      for (const ch of data.toString('utf8')) {
        if (ch === '\r' || ch === '\n') {
          finish();
          resolvePrompt(value);
          return;
        }
        if (ch === '\u0003') {
          finish();
          reject(new InvalidInput('cancelled'));
          return;
        }
        value = ch === '\u007f' ? value.slice(0, -1) : value + ch;
      }
    };
    const finish = (): void => {
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
      process.stderr.write('\n');
    };
    stdin.on('data', onData);
  });
}

/** Writes the recipient secret key to a temp file (0600) and returns how to publish or discard it. */
async function stageSecretFile(path: string, content: string): Promise<{ publish: () => Promise<void>; discard: () => Promise<void> }> {
  const temp = join(dirname(path), `.${randomBytes(6).toString('hex')}.coffer-key-tmp`);
  await writeFile(temp, content, { mode: 0o600, flag: 'wx' });
  await chmod(temp, 0o600);
  return {
    // link() refuses an existing name: an escrow key file is never overwritten.
    publish: async () => {
      try {
        await link(temp, path);
      } finally {
        await rm(temp, { force: true });
      }
    },
    discard: async () => rm(temp, { force: true }),
  };
}

function renderKeys(keys: readonly ListedKey[]): string {
  const rows = keys.map((k) => [k.current ? '*' : ' ', shortId(k.id), k.kind, k.created.replace(/\.\d+Z$/, 'Z'), `${k.ageDays}d`, k.label ?? '']);
  const header = [' ', 'ID', 'KIND', 'CREATED', 'AGE', 'LABEL'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]): string => r.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join('  ').trimEnd();
  return [line(header), ...rows.map(line), `${keys.length} key(s); * = the key your password opens`].join('\n');
}

export function registerKeys(program: Command, makeContext: ContextFactory): void {
  const keys = program.command('keys').description('repository key management: list, add, remove, rotate');
  keys
    .command('rotate')
    .description('start a new key epoch, re-encrypt older packs in resumable batches, then retire the old epochs')
    .requiredOption('-r, --repo <url>', 'repository URL')
    .option('--packs-per-batch <n>', 'packs re-encrypted per activity (default 50)', positiveInt)
    .action(async (flags: RotateFlags, command: Command) => {
      const ctx = makeContext(command);
      const repo = ctx.repoUrl(flags.repo);
      await ctx.proveRepository(repo);
      const input: RotateKeysWorkflowInput = { repo, ...(flags.packsPerBatch === undefined ? {} : { packsPerBatch: flags.packsPerBatch }) };
      const { workflowId, result } = await ctx.runJob<RotateKeysWorkflowInput, RotateKeysResult>({ workflow: 'rotateKeysWorkflow', job: 'rotate-keys', repo, input });
      if (result === undefined) {
        ctx.print({ workflowId }, () => `started ${workflowId}`);
        return;
      }
      ctx.print({ workflowId, ...result }, () =>
        `key epoch ${result.newEpoch} in use; ${result.packsRotated} pack(s) re-encrypted in ${result.batches} batch(es), ${result.runs} run(s), ${seconds(result.durationMs)}; old epochs retired`,
      );
    });

  keys
    .command('list')
    .description('list the key files (each unlocks the repository); runs here, no worker needed')
    .requiredOption('-r, --repo <url>', 'repository URL')
    .action(async (flags: ListFlags, command: Command) => {
      const ctx = makeContext(command);
      const repo = ctx.repoUrl(flags.repo);
      const { keys: stored, currentId } = await keysWithCurrent(ctx, repo);
      const listed: ListedKey[] = stored
        .map((k) => ({ ...keyInfoOf(k.info), current: k.info.id === currentId, ageDays: ageDays(k.info.created) }))
        .sort((a, b) => a.created.localeCompare(b.created));
      ctx.print(listed, () => renderKeys(listed));
    });

  keys
    .command('add')
    .description('add a key: a new password, or an X25519 recipient key for escrow/break-glass; runs here, the secret never leaves this machine')
    .requiredOption('-r, --repo <url>', 'repository URL')
    .option('--label <text>', 'a label shown by keys list (e.g. "ops laptop", "escrow 2025")')
    .option('--new-password-file <file>', 'file whose first line is the new password (else COFFER_NEW_PASSWORD, else a prompt)')
    .option('--recipient-out <file>', 'instead of a password: create an X25519 key pair, add its public half, write the secret half to this new file (mode 0600)')
    .addHelpText('after', "\nNote: 'keys rotate' re-wraps passphrase key files only with the passphrase it runs with;\nremove other passphrase keys before rotating and add them again afterwards (recipient keys are re-wrapped).")
    .action(async (flags: AddFlags, command: Command) => {
      const ctx = makeContext(command);
      const repo = ctx.repoUrl(flags.repo);
      if (flags.recipientOut !== undefined && flags.newPasswordFile !== undefined) {
        throw new InvalidInput('--recipient-out and --new-password-file exclude each other');
      }
      if (flags.recipientOut !== undefined) {
        const out = resolve(flags.recipientOut);
        const pair = await generateRecipientKeyPair();
        const staged = await stageSecretFile(out, formatRecipientKeyFile(pair.secretKey)).catch((err: unknown) => {
          throw new InvalidInput(`cannot write a key file next to ${out}`, { cause: err });
        });
        let info: KeyInfo;
        try {
          info = await ctx.withRepository(repo, async (repository) => repository.addKey({ x25519PublicKey: pair.publicKey, x25519SecretKey: pair.secretKey }, flags.label));
        } catch (err) {
          await staged.discard();
          throw err;
        } finally {
          pair.secretKey.fill(0);
        }
        await staged.publish().catch((err: unknown) => {
          throw new InvalidInput(`key ${shortId(info.id)} was added but its secret could not be written to ${out} (exists?)`, {
            cause: err,
            hint: `remove the unusable key with 'coffer keys remove ${info.id}' and try again with a new file name`,
          });
        });
        ctx.print({ ...info, keyFile: out }, () => `added recipient key ${shortId(info.id)}${info.label === undefined ? '' : ` (${info.label})`}; its secret is in ${out}: keep it offline, it opens the repository ('coffer offline-restore --key-file ${out}')`);
        return;
      }
      const newPassword = await readNewPassword(flags.newPasswordFile, ctx.env);
      const info = await ctx.withRepository(repo, async (repository) => repository.addKey({ passphrase: newPassword }, flags.label));
      ctx.print(info, () => `added key ${shortId(info.id)}${info.label === undefined ? '' : ` (${info.label})`}: the new password opens ${repo}`);
    });

  keys
    .command('remove')
    .description('remove a key (removeKeyWorkflow); refuses the last key, the key your password opens and the key the worker uses')
    .argument('<key-id>', "key id or unique prefix, from 'coffer keys list'")
    .requiredOption('-r, --repo <url>', 'repository URL')
    .action(async (ref: string, flags: RemoveFlags, command: Command) => {
      const ctx = makeContext(command);
      const repo = ctx.repoUrl(flags.repo);
      const { keys: stored, currentId } = await keysWithCurrent(ctx, repo);
      const target = resolveKeyId(stored, ref);
      if (stored.length <= 1) throw new InvalidInput('refusing to remove the last key: the repository would become unreadable', { hint: "add another key first ('coffer keys add')" });
      if (target.info.id === currentId || (await unlockOpens(target, { passphrase: await ctx.password() }))) {
        throw new InvalidInput(`refusing to remove key ${shortId(target.info.id)}: it is the key your password opens`, {
          hint: 'run the removal with another key\'s password (--password-file), so you cannot lock yourself out',
        });
      }
      const input: RemoveKeyInput = { repo, keyId: target.info.id };
      const { workflowId, result } = await ctx.runJob<RemoveKeyInput, RemoveKeyResult>({ workflow: 'removeKeyWorkflow', job: 'remove-key', repo, input });
      if (result === undefined) {
        ctx.print({ workflowId }, () => `started ${workflowId}`);
        return;
      }
      ctx.print({ workflowId, ...result }, () => `removed key ${shortId(result.keyId)}; ${result.keysLeft} key(s) left`);
    });
}
