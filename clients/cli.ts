#!/usr/bin/env node
/**
 * The `coffer` command: starts Coffer's Temporal workflows and waits for
 * them, restic-style. Reads the local stack's env file when present.
 * Exit statuses: see ExitCode in ./exit-codes (and docs/operations.md).
 */
// First: sizes libuv's thread pool before anything starts it.
import '../activities/engine/fs/io-threads';
import { Command, CommanderError } from 'commander';
import { CliContext } from './context';
import type { GlobalOptions } from './context';
import { ExitCode, formatError, renderError } from './exit-codes';
import { registerApprove } from './commands/approve';
import { registerAudit } from './commands/audit';
import { registerBackup } from './commands/backup';
import { registerCatalog } from './commands/catalog';
import { registerDrill } from './commands/drill';
import { registerInit } from './commands/init';
import { registerKeygen } from './commands/keygen';
import { registerKeys } from './commands/keys';
import { registerOfflineRestore } from './commands/offline-restore';
import { registerPrincipals } from './commands/principals';
import { registerReplicate } from './commands/replicate';
import { registerReport } from './commands/report';
import { registerRestore } from './commands/restore';
import { registerRetention } from './commands/retention';
import { registerSchedule } from './commands/schedule';
import { registerSnapshots } from './commands/snapshots';
import { registerStatus } from './commands/status';
import { registerStorage } from './commands/storage';
import { registerVerify } from './commands/verify';

export function buildProgram(contexts: CliContext[]): Command {
  const program = new Command('coffer')
    .description('Coffer: encrypted, deduplicating backups and DR drills as durable Temporal workflows')
    .option('--json', 'print results as JSON')
    .option('--debug', 'on errors, print the chain of causes')
    .option('--password-file <file>', 'file whose first line is the repository password (else COFFER_PASSWORD)')
    .option('--detach', 'start the job and print its workflow id without waiting')
    .showHelpAfterError('(run coffer --help for usage)')
    .exitOverride();
  const makeContext = (command: Command): CliContext => {
    const ctx = new CliContext(command.optsWithGlobals<GlobalOptions>());
    contexts.push(ctx);
    return ctx;
  };
  for (const register of [registerInit, registerBackup, registerRestore, registerSnapshots, registerVerify, registerDrill, registerKeys, registerRetention, registerReplicate, registerSchedule, registerOfflineRestore, registerStorage, registerStatus, registerReport, registerAudit, registerCatalog]) {
    register(program, makeContext);
  }
  // Access control (docs/access.md).
  for (const register of [registerPrincipals, registerKeygen, registerApprove]) register(program, makeContext);
  program.commands.forEach(function override(command: Command): void {
    command.exitOverride();
    command.commands.forEach(override);
  });
  return program;
}

export async function main(argv: readonly string[]): Promise<number> {
  const contexts: CliContext[] = [];
  const program = buildProgram(contexts);
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return contexts[0]?.exitCode ?? ExitCode.ok;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version are "errors" to commander; their text is already printed.
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.help' || err.code === 'commander.version') return ExitCode.ok;
      return ExitCode.usage;
    }
    const debug = process.argv.includes('--debug');
    const rendered = renderError(err);
    process.stderr.write(`${formatError(rendered, debug)}\n`);
    const interrupted = contexts.some((c) => c.exitCode === ExitCode.interrupted);
    return interrupted ? ExitCode.interrupted : rendered.exitCode;
  } finally {
    await Promise.all(contexts.map(async (c) => c.close()));
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = ExitCode.jobFailed;
    },
  );
}
