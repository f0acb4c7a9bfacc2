/**
 * `coffer keygen --out <file> [--principal <id>]`: a new Ed25519 key pair for
 * a principal (libsodium crypto_sign). The key file (mode 0600, written
 * through a temporary file, never over an existing one) stays with its owner;
 * the public key, also written to `<file>.pub`, is what an admin registers
 * with `coffer principals add`.
 */
import { userInfo } from 'node:os';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { generatePrincipalKeyPair, writePrincipalKeyFile } from '../../activities/access/key-file';
import { writePublicKeyFile } from '../principal-files';
import type { ContextFactory } from './common';

interface Flags {
  out: string;
  principal?: string;
}

export function registerKeygen(program: Command, makeContext: ContextFactory): void {
  program
    .command('keygen')
    .description("create a principal's Ed25519 key pair (for signing jobs and approvals)")
    .requiredOption('-o, --out <file>', 'where to write the key file (mode 0600; never overwritten)')
    .option('--principal <id>', 'the principal the key belongs to (default: COFFER_PRINCIPAL, else your user name)')
    .action(async (flags: Flags, command: Command) => {
      const ctx = makeContext(command);
      const principalId = flags.principal ?? (ctx.env.COFFER_PRINCIPAL !== undefined && ctx.env.COFFER_PRINCIPAL !== '' ? ctx.env.COFFER_PRINCIPAL : userInfo().username);
      const out = resolve(flags.out);
      const keyFile = await generatePrincipalKeyPair({ principalId });
      await writePrincipalKeyFile(out, keyFile);
      const pub = `${out}.pub`;
      await writePublicKeyFile(pub, keyFile);
      ctx.print({ principalId, keyFile: out, publicKeyFile: pub, publicKey: keyFile.publicKey }, () =>
        [
          `wrote the key of ${principalId} to ${out} (keep it private) and its public key to ${pub}`,
          `public key: ${keyFile.publicKey}`,
          `register it: coffer principals add ${principalId} --role <role> --public-key ${pub}`,
        ].join('\n'),
      );
    });
}
