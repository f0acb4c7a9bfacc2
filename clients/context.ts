/**
 * What every CLI command shares: configuration (environment + stack env
 * file), the Temporal client, the repository password check, starting a job
 * and waiting for it, and printing (human text or --json).
 */
import { isAbsolute, resolve } from 'node:path';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { environmentWithStack } from '../activities/config/env-file';
import { createEngine } from '../activities/engine';
import type { Repository } from '../activities/engine/api';
import { InvalidInput } from '../activities/errors';
import { readPasswordFile } from '../activities/secrets';
import { openBackend, parseRepositoryUrl } from '../activities/storage/url';
import type { Backend } from '../activities/storage/backend';
import { loadTemporalConfig } from '../workers/config';
import type { TemporalConfig } from '../workers/config';
import { jobWorkflowId } from '../workflows/ids';
import { actionOf, callerIdentity, checkAccess, watchApprovals, withCredential } from './access';
import { connectClient, requirePollers } from './connection';
import { ExitCode } from './exit-codes';
import { waitForResult } from './progress';

export interface GlobalOptions {
  readonly json?: boolean;
  readonly debug?: boolean;
  readonly passwordFile?: string;
  readonly detach?: boolean;
}

export interface JobStart<I> {
  /** Workflow type, e.g. 'backupWorkflow'. */
  readonly workflow: string;
  /** Job name in the workflow id, e.g. 'backup'. */
  readonly job: string;
  readonly repo: string;
  readonly input: I;
  /** Host whose queue the job's local-file activities use (also part of the id). */
  readonly host?: string;
}

export interface JobOutcome<R> {
  readonly workflowId: string;
  readonly result?: R;
}

export class CliContext {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly config: TemporalConfig;
  private clientPromise: Promise<Client> | undefined;
  /** Repository ids learned by withRepository (for the access check before a job starts). */
  private readonly repoIds = new Map<string, string>();
  /** Set when a job finished but its outcome asks for a non-zero status (e.g. verify findings). */
  exitCode: number = ExitCode.ok;

  constructor(
    readonly options: GlobalOptions,
    env: Readonly<Record<string, string | undefined>> = environmentWithStack(),
  ) {
    this.env = env;
    this.config = loadTemporalConfig(env);
  }

  async client(): Promise<Client> {
    this.clientPromise ??= connectClient(this.config);
    return this.clientPromise;
  }

  async close(): Promise<void> {
    if (this.clientPromise === undefined) return;
    const client = await this.clientPromise.catch(() => undefined);
    await client?.connection.close();
  }

  /** A repository URL the worker can use from any directory: relative local paths become absolute. */
  repoUrl(raw: string): string {
    const location = parseRepositoryUrl(raw);
    if (location.kind === 'local' && !isAbsolute(location.path)) return resolve(location.path);
    return raw.trim();
  }

  /** The user's repository password: --password-file, COFFER_PASSWORD_FILE or COFFER_PASSWORD. */
  async password(): Promise<string> {
    const file = this.options.passwordFile ?? nonEmpty(this.env.COFFER_PASSWORD_FILE);
    if (file !== undefined) return readPasswordFile(file);
    const password = nonEmpty(this.env.COFFER_PASSWORD);
    if (password !== undefined) return password;
    throw new InvalidInput('no repository password given', { hint: 'set COFFER_PASSWORD or pass --password-file <file>' });
  }

  /**
   * Opens the repository here with the user's password: proves the user may
   * run jobs on it (the worker holds its own copy of the secret) and gives
   * read access for listings. Runs `fn`, then closes.
   */
  async withRepository<T>(url: string, fn: (repository: Repository) => Promise<T>): Promise<T> {
    const password = await this.password();
    const backend: Backend = await openBackend(url, {}, this.env);
    try {
      const repository = await createEngine().open(backend, { passphrase: password });
      this.repoIds.set(url, repository.id);
      try {
        return await fn(repository);
      } finally {
        await repository.close();
      }
    } finally {
      await backend.close();
    }
  }

  async proveRepository(url: string): Promise<void> {
    await this.withRepository(url, async () => undefined);
  }

  /** Starts a job and waits for its result with a live progress line (unless --detach). */
  async runJob<I, R>(start: JobStart<I>): Promise<JobOutcome<R>> {
    const client = await this.client();
    await requirePollers(client, this.config.taskQueue, 'workflow');
    if (start.host !== undefined) await requirePollers(client, this.config.hostTaskQueue, 'activity');
    const workflowId = jobWorkflowId(start.job, start.repo, start.host, new Date());
    const input = await this.authorizeJob(start, workflowId);
    const handle: WorkflowHandle = await client.workflow.start(start.workflow, {
      taskQueue: this.config.taskQueue,
      workflowId,
      args: [input],
    });
    if (this.options.detach === true) return { workflowId };
    if (this.options.json !== true) process.stderr.write(`${start.job}: workflow ${workflowId}\n`);
    let interrupts = 0;
    const onInterrupt = (): void => {
      interrupts += 1;
      if (interrupts > 1) process.exit(ExitCode.interrupted);
      process.stderr.write('\ncancelling the job (Ctrl-C again to leave it running)...\n');
      handle.cancel().catch(() => undefined);
    };
    process.on('SIGINT', onInterrupt);
    const stopWatching = watchApprovals(handle, (line) => process.stderr.write(`${line}\n`));
    try {
      const live = this.options.json !== true && process.stderr.isTTY;
      const result = await waitForResult<R>(client, handle, { live });
      return { workflowId, result };
    } catch (err) {
      if (interrupts > 0) this.exitCode = ExitCode.interrupted;
      throw err;
    } finally {
      stopWatching();
      process.off('SIGINT', onInterrupt);
    }
  }

  /**
   * Access control before the job starts (docs/access.md): refuses a caller
   * without a grant for the job's action, then signs the caller's credential
   * into the input so the workflow checks the same thing again.
   */
  private async authorizeJob<I>(start: JobStart<I>, workflowId: string): Promise<I> {
    const identity = await callerIdentity(this.env);
    const what = await actionOf(start.workflow, start.input);
    if (what !== undefined) {
      const repoId = this.repoIds.get(start.repo);
      const checked = await checkAccess(this.env, identity, { action: what.action, ...(repoId === undefined ? {} : { repoId }), ...(what.object === undefined ? {} : { object: what.object }) });
      if (checked.access === 'off') {
        if (checked.warn) process.stderr.write(`warning: access control is off: ${checked.reason}\n`);
      }
      else if (checked.requiresApproval && this.options.json !== true) {
        process.stderr.write(`${what.action} needs the signed approval of a second principal: the job will wait for \`coffer approve ${workflowId}\`\n`);
      }
    }
    return withCredential(identity, workflowId, start.workflow, start.input);
  }

  /** Prints the result: JSON with --json, else the human text. */
  print(value: unknown, human: () => string): void {
    if (this.options.json === true) process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
    else process.stdout.write(`${human()}\n`);
  }
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}
