/**
 * `coffer approve <workflow-id> [--reject]`: reads the request a workflow is
 * waiting on (approval query), signs it with the caller's principal key
 * (COFFER_PRINCIPAL_KEY_FILE or --key-file), sends the `approve` signal and
 * reports what the workflow made of it (accepted, or refused with a code).
 */
import type { Command } from 'commander';
import { signApproval } from '../../activities/access/key-file';
import { readPrincipalKeyFile } from '../../activities/access/key-file';
import {
  ApprovalExpired, ApprovalForged, ApprovalMalformed, ApprovalMismatch, ApprovalSelfSigned, ApproverNotPermitted, IdentityUnproven, UnknownApprover,
} from '../../activities/access/errors';
import type { CofferError } from '../../activities/errors';
import { InvalidInput } from '../../activities/errors';
import { approvalQuery, approveSignal } from '../../workflows/approval';
import type { ApprovalState } from '../../workflows/approval';
import type { ContextFactory } from './common';
import type { Client } from '@temporalio/client';
import type { PrincipalKeyFile } from '../../activities/access/key-file';
import { actionOf, approveScheduleAction, checkAccess } from '../access';
import type { CliContext } from '../context';

interface Flags {
  schedule?: string;
  reject?: boolean;
  keyFile?: string;
  wait: string;
}

const REFUSALS: Readonly<Record<string, new (message: string) => CofferError>> = {
  'COFFER-E502': ApprovalMalformed,
  'COFFER-E503': ApprovalMismatch,
  'COFFER-E504': ApprovalExpired,
  'COFFER-E505': UnknownApprover,
  'COFFER-E506': ApprovalForged,
  'COFFER-E507': ApprovalSelfSigned,
  'COFFER-E508': ApproverNotPermitted,
};

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export function registerApprove(program: Command, makeContext: ContextFactory): void {
  program
    .command('approve')
    .description('sign and send the approval (or --reject) a waiting workflow asks for')
    .argument('[workflow-id]', 'the waiting job (printed by the command that started it)')
    .option('--schedule <id>', "approve a schedule's current action instead (e.g. a retention policy): its runs may then act")
    .option('--reject', 'refuse instead: the job ends without acting')
    .option('--key-file <file>', 'your principal key file (default COFFER_PRINCIPAL_KEY_FILE)')
    .option('--wait <seconds>', 'how long to wait for the workflow to accept or refuse the signature', '20')
    .action(async (workflowIdArg: string | undefined, flags: Flags, command: Command) => {
      const ctx = makeContext(command);
      if ((workflowIdArg === undefined) === (flags.schedule === undefined)) throw new InvalidInput('give a workflow id or --schedule <id> (one of them)');
      const file = flags.keyFile ?? ctx.env.COFFER_PRINCIPAL_KEY_FILE;
      if (file === undefined || file === '') throw new IdentityUnproven('approving needs your key file (--key-file or COFFER_PRINCIPAL_KEY_FILE)');
      const keyFile = await readPrincipalKeyFile(file);
      const client = await ctx.client();
      if (flags.schedule !== undefined) {
        if (flags.reject === true) throw new InvalidInput('a schedule is not waiting: to stop it, pause or delete it (coffer schedule pause|delete)');
        await approveSchedule(ctx, client, keyFile, flags.schedule);
        return;
      }
      const workflowId = workflowIdArg as string;
      const handle = client.workflow.getHandle(workflowId);
      const before: ApprovalState = await handle.query(approvalQuery);
      const request = before.request;
      if (before.status !== 'awaiting-approval' || request === undefined) {
        throw new InvalidInput(`workflow ${workflowId} is not waiting for an approval (status: ${before.status})`);
      }
      const decision = flags.reject === true ? 'reject' : 'approve';
      if (ctx.options.json !== true) {
        process.stderr.write(
          `${decision === 'reject' ? 'rejecting' : 'approving'} as ${keyFile.principalId}: ${request.action} on ${request.target.object ?? request.target.repoId}, requested by ${request.requestedBy} (deadline ${request.deadline})\n`,
        );
      }
      const approval = await signApproval(keyFile, request, decision);
      await handle.signal(approveSignal, approval);

      // The workflow checks the signature in an activity: wait for its verdict.
      const waitMs = Math.max(0, Number(flags.wait) * 1000);
      const until = Date.now() + waitMs;
      for (;;) {
        const state = await handle.query(approvalQuery).catch(() => undefined);
        if (state !== undefined) {
          const mine = state.refusals.slice(before.refusals.length).find((r) => r.approverId === keyFile.principalId);
          if (mine !== undefined) {
            const Refusal = REFUSALS[mine.code];
            throw Refusal === undefined ? new InvalidInput(`${mine.code}: ${mine.message}`) : new Refusal(mine.message);
          }
          if (state.status !== 'awaiting-approval') {
            ctx.print({ workflowId, status: state.status, by: state.approvedBy ?? null }, () =>
              state.status === 'approved' ? `approved: ${workflowId} goes on (approved by ${state.approvedBy ?? '?'})`
                : state.status === 'rejected' ? `rejected: ${workflowId} ends without acting`
                : `${workflowId}: ${state.status}`,
            );
            return;
          }
        }
        if (Date.now() >= until) break;
        await sleep(250);
      }
      ctx.print({ workflowId, status: 'sent' }, () => `signature sent to ${workflowId}; the workflow has not decided yet (see \`coffer\` job output or the Temporal UI)`);
    });
}

/**
 * Adds the caller's approval signature to a schedule's action. The approver
 * must be registered with a grant for the scheduled action (checked here and
 * again at every run); the update is refused by Temporal if the schedule
 * changed since it was read (conflict token), so what was shown is what is approved.
 */
async function approveSchedule(ctx: CliContext, client: Client, keyFile: PrincipalKeyFile, scheduleId: string): Promise<void> {
  const handle = client.schedule.getHandle(scheduleId);
  const described = await handle.describe();
  const approved = await approveScheduleAction(keyFile, scheduleId, described.action);
  const what = await actionOf(approved.workflowType, approved.input);
  if (what !== undefined) {
    const checked = await checkAccess(ctx.env, { principalId: keyFile.principalId, keyFile }, { action: what.action, ...(what.object === undefined ? {} : { object: what.object }) });
    if (checked.access === 'off') throw new InvalidInput(`access control is off (${checked.reason}): there is nothing to approve`);
  }
  if (ctx.options.json !== true) {
    process.stderr.write(`approving as ${keyFile.principalId}: schedule ${scheduleId} (${approved.workflowType}) made by ${approved.requestedBy}, input ${JSON.stringify(approved.input)}\n`);
  }
  await handle.update((previous) => ({ ...previous, action: approved.action }));
  ctx.print({ scheduleId, status: 'approved', by: keyFile.principalId, requestedBy: approved.requestedBy }, () => `approved: schedule ${scheduleId} (${approved.workflowType}) may act; a changed action needs a new approval`);
}
