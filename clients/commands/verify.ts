/** `coffer verify --repo <url> [--read-data] [--subset n/t]`: verifyWorkflow; exit 3 on findings. */
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import type { VerifyInput, VerifyResult } from '../../workflows/verify';
import { ExitCode } from '../exit-codes';
import { formatBytes } from '../progress';
import { seconds } from './common';
import type { ContextFactory } from './common';

interface VerifyFlags {
  repo: string;
  readData?: boolean;
  subset?: { n: number; t: number };
}

function subsetOption(value: string): { n: number; t: number } {
  const match = /^(\d+)\/(\d+)$/.exec(value.trim());
  const n = Number(match?.[1]);
  const t = Number(match?.[2]);
  if (match === null || n < 1 || n > t) throw new InvalidArgumentError('expected n/t with 1 <= n <= t, e.g. 1/10');
  return { n, t };
}

export function registerVerify(program: Command, makeContext: ContextFactory): void {
  program
    .command('verify')
    .description('check the repository: structure (default), every byte (--read-data), or part n of t (--subset)')
    .requiredOption('-r, --repo <url>', 'repository URL')
    .option('--read-data', 'read and authenticate every pack')
    .option('--subset <n/t>', 'read part n of t of the packs (implies --read-data)', subsetOption)
    .action(async (flags: VerifyFlags, command: Command) => {
      const ctx = makeContext(command);
      const repo = ctx.repoUrl(flags.repo);
      await ctx.proveRepository(repo);
      const input: VerifyInput = {
        repo,
        level: flags.readData === true || flags.subset !== undefined ? 'read-data' : 'structure',
        ...(flags.subset === undefined ? {} : { subset: flags.subset }),
      };
      const { workflowId, result } = await ctx.runJob<VerifyInput, VerifyResult>({ workflow: 'verifyWorkflow', job: 'verify', repo, input });
      if (result === undefined) {
        ctx.print({ workflowId }, () => `started ${workflowId}`);
        return;
      }
      if (!result.ok) ctx.exitCode = ExitCode.integrity;
      ctx.print({ workflowId, ...result }, () => {
        const scope = result.subset === undefined ? result.level : `${result.level}, subset ${result.subset.n}/${result.subset.t}`;
        const lines = [
          `verify (${scope}): ${result.snapshotsChecked} snapshots, ${result.packsChecked} packs, ${result.chunksChecked} chunks, ${formatBytes(result.bytesRead)} read in ${seconds(result.durationMs)}`,
        ];
        if (result.ok) lines.push('no problems found');
        else {
          lines.push(`${result.findings} problem(s) found: ${Object.entries(result.findingsByKind).map(([k, v]) => `${k} ${v}`).join(', ')}`);
          for (const f of result.findingSample.slice(0, 20)) {
            lines.push(`  ${f.kind} ${f.object}: ${f.detail}${f.files.length > 0 ? ` (affects ${f.files.slice(0, 3).join(', ')}${f.files.length > 3 ? ', …' : ''})` : ''}`);
          }
        }
        return lines.join('\n');
      });
    });
}
