/**
 * Activities of command sources, hooks and the anomaly check. Commands and
 * hooks run on the host's queue (the machine that has the database or the
 * service); the spool lives in that worker's scratch directory.
 */
import { rename, rm, mkdir } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { activityInfo, log } from '@temporalio/activity';
import { runActivity } from '../context';
import type { ResolvedDeps } from '../deps';
import { InvalidInput } from '../errors';
import { authorizeCommand, NO_COMMANDS } from './allowlist';
import { assessAnomaly } from './anomaly';
import type { AnomalyAssessment, AnomalyPolicy, ChangeFigures } from './anomaly';
import { BackupAnomaly, HookFailed, SourceCommandFailed } from './errors';
import { describeOutcome, lastLines, runArgv, showArgv } from './process';
import { COMMANDS_ROOT, completeSpool, fsyncFile, jobSpoolDir, manifestPath, openTemp, removeJobSpool, sourceDataDir, writeFileAtomic } from './spool';
import type { SpoolManifest } from './spool';

export interface CommandSpec {
  /** The source's name (a directory under /coffer-commands in the snapshot). */
  readonly source: string;
  readonly argv: readonly string[];
  /** File name of the output in the snapshot. */
  readonly filename: string;
  readonly workdir?: string;
}

export interface SpoolCommandInput extends CommandSpec {
  /** Identifies the job (its workflow id): every attempt and run of one backup shares the spool. */
  readonly spoolKey: string;
}

export interface SpoolCommandOutput {
  /** The path the snapshot records (`/coffer-commands/<source>`). */
  readonly recordedPath: string;
  /** Where that directory is on this host. */
  readonly readFrom: string;
  readonly bytes: number;
  readonly sha256: string;
  /** True when an earlier attempt had completed the spool and the command was not run again. */
  readonly reused: boolean;
}

export interface RunHooksInput {
  readonly source: string;
  readonly phase: 'pre' | 'post';
  readonly commands: readonly (readonly string[])[];
  readonly timeoutSeconds: number;
  readonly workdir?: string;
}

export interface RunHooksOutput {
  readonly ran: number;
  readonly durationMs: number;
}

export interface AssessAnomalyInput {
  readonly repo: string;
  readonly host: string;
  /** The paths the snapshot records. */
  readonly paths: readonly string[];
  readonly candidate: ChangeFigures;
  readonly policy: AnomalyPolicy;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
const FILE_NAME = /^(?!\.\.?$)[^/\0]{1,255}$/;

function checkCommand(spec: CommandSpec): void {
  if (!NAME.test(spec.source)) throw new InvalidInput(`command source name ${JSON.stringify(spec.source)} must be letters, digits, . _ - (max 63)`);
  if (!FILE_NAME.test(spec.filename)) throw new InvalidInput(`command source ${spec.source}: filename ${JSON.stringify(spec.filename)} must be a plain file name`);
  if (!Array.isArray(spec.argv) || spec.argv.length === 0 || spec.argv.some((a) => typeof a !== 'string' || a === '')) {
    throw new InvalidInput(`command source ${spec.source}: command must be a non-empty list of non-empty strings`);
  }
}

export function sourceActivities(deps: ResolvedDeps) {
  // The worker's configuration, not the workflow input, decides which programs run and with what environment.
  const commands = deps.commands ?? NO_COMMANDS;
  return {
    /**
     * Runs a command source and spools its standard output (temp file,
     * checksum, fsync, rename, manifest). A retry that finds a complete spool
     * reuses it: the dump never runs twice for one job.
     */
    spoolCommandOutput: async (input: SpoolCommandInput): Promise<SpoolCommandOutput> => {
      return runActivity(deps.metrics, async (frame) => {
        checkCommand(input);
        const executable = await authorizeCommand({ what: `command source '${input.source}'`, argv: input.argv }, commands, activityInfo().taskQueue);
        const jobDir = jobSpoolDir(deps.scratchDir, input.spoolKey);
        const dataDir = sourceDataDir(jobDir, input.source);
        const recordedPath = `${COMMANDS_ROOT}/${input.source}`;
        const done = await completeSpool(jobDir, input.source, input.filename);
        if (done !== undefined) {
          log.info('command output already spooled by an earlier attempt; not running it again', { source: input.source, bytes: done.bytes });
          return { recordedPath, readFrom: dataDir, bytes: done.bytes, sha256: done.sha256, reused: true };
        }
        frame.phase('command');
        // An incomplete earlier attempt: start clean (its output may be truncated).
        await rm(dataDir, { recursive: true, force: true });
        await rm(manifestPath(jobDir, input.source), { force: true });
        const temp = await openTemp(jobDir);
        const hash = createHash('sha256');
        let bytes = 0;
        let lastReport = 0;
        try {
          const outcome = await runArgv(
            {
              argv: input.argv,
              executable,
              ...(input.workdir === undefined ? {} : { cwd: input.workdir }),
              signal: frame.signal,
              stdout: temp.stream,
              onData: (chunk) => {
                hash.update(chunk);
                bytes += chunk.length;
                if (bytes - lastReport >= 1 << 20) {
                  lastReport = bytes;
                  frame.progress({ filesDone: 0, bytesDone: bytes, currentPath: `${recordedPath}/${input.filename}` });
                }
              },
            },
            commands.env,
          );
          frame.signal.throwIfAborted();
          if (outcome.spawnError !== undefined || outcome.status !== 0) {
            const tail = lastLines(outcome.stderrTail);
            throw new SourceCommandFailed(
              `command source '${input.source}': \`${showArgv(input.argv)}\` ${describeOutcome(outcome)}${tail === '' ? '' : `; stderr: ${tail}`}`,
            );
          }
          await fsyncFile(temp.path);
          await mkdir(dataDir, { recursive: true, mode: 0o700 });
          await rename(temp.path, join(dataDir, input.filename));
        } catch (err) {
          await rm(temp.path, { force: true });
          throw err;
        }
        const manifest: SpoolManifest = { version: 1, source: input.source, filename: input.filename, bytes, sha256: hash.digest('hex'), completed: new Date().toISOString() };
        await writeFileAtomic(manifestPath(jobDir, input.source), JSON.stringify(manifest));
        return { recordedPath, readFrom: dataDir, bytes, sha256: manifest.sha256, reused: false };
      });
    },

    /** Deletes a job's spool (after commit, or after a failure). Idempotent. */
    removeCommandSpool: async (input: { readonly spoolKey: string }): Promise<{ readonly removed: boolean }> => {
      return runActivity(deps.metrics, async () => ({ removed: await removeJobSpool(deps.scratchDir, input.spoolKey) }));
    },

    /** Runs a source's pre or post hooks in order; the first that fails stops the rest. */
    runBackupHooks: async (input: RunHooksInput): Promise<RunHooksOutput> => {
      return runActivity(deps.metrics, async (frame) => {
        frame.phase(`${input.phase}-hooks`);
        const started = Date.now();
        const timeoutMs = Math.round(input.timeoutSeconds * 1000);
        let ran = 0;
        // Every hook of the phase is checked before the first runs: a refused third hook must not come after the first two did their work.
        const executables: string[] = [];
        for (const argv of input.commands) {
          if (argv.length === 0) throw new InvalidInput(`source ${input.source}: an empty ${input.phase} hook`);
          executables.push(await authorizeCommand({ what: `${input.phase} hook of source '${input.source}'`, argv }, commands, activityInfo().taskQueue));
        }
        for (const [index, argv] of input.commands.entries()) {
          const outcome = await runArgv(
            { argv, executable: executables[index], ...(input.workdir === undefined ? {} : { cwd: input.workdir }), timeoutMs, signal: frame.signal },
            commands.env,
          );
          frame.signal.throwIfAborted();
          ran += 1;
          if (outcome.spawnError !== undefined || outcome.status !== 0 || outcome.timedOut) {
            const tail = lastLines(outcome.stderrTail);
            throw new HookFailed(`${input.phase} hook of source '${input.source}': \`${showArgv(argv)}\` ${describeOutcome(outcome, timeoutMs)}${tail === '' ? '' : `; stderr: ${tail}`}`);
          }
        }
        return { ran, durationMs: Date.now() - started };
      });
    },

    /**
     * Compares a backup about to be committed with the source's recent
     * snapshots. Returns the assessment; throws BackupAnomaly (nothing is
     * committed) when the profile says failBackup.
     */
    assessBackupAnomaly: async (input: AssessAnomalyInput): Promise<AnomalyAssessment> => {
      return runActivity(deps.metrics, async (frame) => {
        frame.phase('anomaly-check');
        const snapshots = await deps.repositories.use(input.repo, async (repository) => repository.listSnapshots());
        const assessment = assessAnomaly(input.candidate, { host: input.host, paths: input.paths }, snapshots, input.policy);
        if (assessment.anomaly !== undefined) {
          log.warn('backup anomaly', { host: input.host, paths: input.paths.join(','), reasons: assessment.anomaly.reasons.join('; ') });
          if (input.policy.failBackup) {
            throw new BackupAnomaly(`backup of ${input.host}:${input.paths.join(',')} refused, no snapshot written: ${assessment.anomaly.reasons.join('; ')}`);
          }
        }
        return assessment;
      });
    },
  };
}
