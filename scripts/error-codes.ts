/**
 * Keeps docs/error-codes.md true to the code.
 *
 *   node scripts/run-ts.js scripts/error-codes.ts          # (re)write the doc
 *   node scripts/run-ts.js scripts/error-codes.ts --check  # exit 1 if it is stale
 *
 * It parses (does not run) the TypeScript sources of activities/, workers/,
 * clients/ and workflows/ and collects:
 *   - every class that extends CofferError (directly or through another
 *     subclass) and declares `readonly code = 'COFFER-E…'`, with its
 *     `retryable`, its doc comment and the `hint` its constructor passes;
 *   - the failure types workflows raise by code alone (workflows/codes.ts);
 *   - the CLI's exit statuses (clients/exit-codes.ts, `ExitCode`).
 * "Meaning" comes from MEANINGS below or the class's doc comment, "What to
 * do" from MEANINGS or the class's hint. --check fails when a code is
 * missing from the doc, the doc lists a code nothing defines, two classes
 * share a code, a code has no explanation, or the doc differs in any other
 * way from what this script would write.
 */
import type { Dirent } from 'node:fs';
import { readFile, readdir, rename, writeFile } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import ts from 'typescript';
import { CofferError } from '../activities/errors';
import { renderError } from '../clients/exit-codes';

export interface ErrorCodeEntry {
  readonly code: string;
  readonly name: string;
  /** 'yes' | 'no' | '—' (workflow failure types have no class to say). */
  readonly retryable: string;
  readonly meaning?: string;
  readonly action?: string;
  /** Where it is defined (repository-relative file). */
  readonly file: string;
  readonly kind: 'class' | 'workflow' | 'cli';
  /** The CLI's exit status for it (computed by clients/exit-codes.ts itself). */
  readonly exit: number;
}

/** Asks the CLI's own error renderer which exit status a code gets, so the doc cannot drift from it. */
function exitStatusFor(code: string): number {
  class Probe extends CofferError {
    readonly code = code;
    readonly retryable = false;
  }
  return renderError(new Probe('probe')).exitCode;
}

const EXIT_MEANINGS: Readonly<Record<string, string>> = { ok: 'Success.' };

export interface ExitStatus {
  readonly name: string;
  readonly value: number;
  readonly meaning: string;
}

export interface ScanResult {
  readonly entries: readonly ErrorCodeEntry[];
  readonly exitStatuses: readonly ExitStatus[];
  readonly problems: readonly string[];
}

/**
 * Hand-written explanations for codes whose class has no doc comment or
 * hint (or whose hint is given where the error is thrown), and for codes
 * that only exist as workflow failure types.
 */
export const MEANINGS: Readonly<Record<string, { readonly meaning?: string; readonly action?: string; readonly name?: string }>> = {
  'COFFER-E000': { name: 'Unexpected', meaning: 'An error Coffer did not classify (a bug or an unforeseen failure).', action: 'Rerun with --debug and report it with the cause chain.' },
  'COFFER-E100': { action: 'Fix the flag, value, pattern or snapshot reference named in the message (`coffer <command> --help`).' },
  'COFFER-E208': { meaning: '`coffer init` found a repository (or its key files) already at the location.' },
  'COFFER-E209': { meaning: 'No snapshot matches the id, prefix or time given (or a prefix matches several).' },
  'COFFER-E106': { action: 'Build it: `npm run build:native` (needs a C/C++ toolchain), or reinstall with `npm ci`.' },
  'COFFER-E301': { meaning: 'The storage object does not exist.', action: 'Check the repository URL; if the repository should contain it, run `coffer verify` (data may be missing).' },
  'COFFER-E302': { meaning: 'A create-if-absent write found the object already there.', action: 'Usually harmless on a retry; if it persists, run `coffer verify`.' },
  'COFFER-E303': { meaning: 'A ranged read asked for bytes beyond the end of the object.', action: 'The object is shorter than the index says: run `coffer verify --read-data`.' },
  'COFFER-E304': { meaning: 'The storage refused the credentials.', action: 'Check the credentials in the environment (AWS_*, GOOGLE_*, AZURE_STORAGE_*, SFTP key) or the profile\'s `credentials`.' },
  'COFFER-E305': { meaning: 'The object is protected by a retention lock (S3 Object Lock, Azure immutability).', action: 'Wait until the lock expires; locked objects cannot be deleted early by design.' },
  'COFFER-E306': { meaning: 'The storage server lacks a feature Coffer needs (e.g. conditional writes).', action: 'Use a server or backend that supports it, or change the backend option named in the message.' },
  'COFFER-E307': { meaning: 'The repository location is misconfigured (no such bucket or container, bad path).', action: 'Check the repository URL and that the bucket, container or directory exists.' },
  'COFFER-E310': { meaning: 'A transient storage failure (reset, timeout, 5xx, throttling); it was retried.', action: 'Nothing if the job then succeeded; otherwise check the storage service\'s health and retry.' },
  'COFFER-E311': { meaning: 'The storage server could not be reached at all (refused, DNS, TLS).', action: 'Check the endpoint, network and TLS settings; the job resumes when it is reachable.' },
  'COFFER-E401': { meaning: 'The Temporal server could not be reached.', action: 'Start the local stack (`npm run stack -- up`) or set TEMPORAL_ADDRESS / TEMPORAL_NAMESPACE.' },
  'COFFER-E402': { name: 'WorkflowFailed', meaning: 'The job\'s workflow failed (retries exhausted, timeout, or a cause shown after the message).', action: 'Look at the workflow in the Temporal UI or rerun with --debug.' },
  'COFFER-E403': { name: 'ApprovalRefused', meaning: 'A second principal refused (or did not give) the approval the operation requires.', action: 'Ask an approver to run `coffer approve <workflow-id>`, or start the operation again.' },
  'COFFER-E407': { name: 'DrillFailed', meaning: 'A DR drill found a gap: the restore differed from the snapshot or missed its RTO/RPO objective.', action: 'Read the drill report (`coffer report drill`); fix backups or objectives, then drill again.' },
  'COFFER-E408': { name: 'RetentionRefused', meaning: 'The retention policy would remove every snapshot of a group, or keeps nothing.', action: 'Give the policy at least one keep rule that keeps a snapshot of each group (`coffer retention --dry-run`).' },
  'COFFER-E410': { meaning: 'No Coffer worker polls the task queue the job needs.', action: 'Start a worker on that host (`node dist/workers/main.js`) with the same task queue as the CLI.' },
  'COFFER-E540': { action: 'Fix the variable or file named in the message (see docs/operations.md for the worker\'s settings).' },
  'COFFER-E541': { action: 'Check COFFER_CODEC_KEY_FILE: it must exist, be readable by the worker only, and hold the key in the documented format.' },
  'COFFER-E542': { action: 'Give this process the codec key with that id (keep retired keys available while their payloads are in history).' },
  'COFFER-E543': { action: 'Check that every worker and client uses the same codec keys; if they do, the history was tampered with.' },
};

const SOURCE_DIRS = ['activities', 'workers', 'clients', 'workflows'];
const ROOT_CLASS = 'CofferError';
const CODE = /^COFFER-E\d{3}$/;

async function tsFiles(dir: string): Promise<string[]> {
  let names: Dirent[];
  try {
    names = await readdir(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  const files: string[] = [];
  for (const entry of names) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) files.push(...(await tsFiles(path)));
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) files.push(path);
  }
  return files.sort();
}

/** The text of the /** … *\/ comment right before a node, as one line. */
function docComment(node: ts.Node, text: string): string | undefined {
  const ranges = ts.getLeadingCommentRanges(text, node.getFullStart()) ?? [];
  const last = ranges.filter((r) => text.startsWith('/**', r.pos)).pop();
  if (last === undefined) return undefined;
  const body = text
    .slice(last.pos + 3, last.end - 2)
    .split('\n')
    .map((l) => l.replace(/^\s*\*\s?/, '').trim())
    .filter((l) => l !== '' && !l.startsWith('@'))
    .join(' ');
  return body === '' ? undefined : body;
}

function stringValue(node: ts.Node | undefined): string | undefined {
  if (node === undefined) return undefined;
  if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) return node.text;
  return undefined;
}

interface ClassInfo {
  readonly name: string;
  readonly parent: string | undefined;
  readonly code?: string;
  readonly retryable?: boolean;
  readonly doc?: string;
  readonly hint?: string;
  readonly file: string;
}

function classInfo(node: ts.ClassDeclaration, text: string, file: string): ClassInfo | undefined {
  if (node.name === undefined) return undefined;
  const parentExpr = node.heritageClauses?.find((h) => h.token === ts.SyntaxKind.ExtendsKeyword)?.types[0]?.expression;
  const parent = parentExpr !== undefined && ts.isIdentifier(parentExpr) ? parentExpr.text : undefined;
  let code: string | undefined;
  let retryable: boolean | undefined;
  let hint: string | undefined;
  for (const member of node.members) {
    if (ts.isPropertyDeclaration(member) && ts.isIdentifier(member.name)) {
      if (member.name.text === 'code') code = stringValue(member.initializer);
      if (member.name.text === 'retryable' && member.initializer !== undefined) {
        if (member.initializer.kind === ts.SyntaxKind.TrueKeyword) retryable = true;
        if (member.initializer.kind === ts.SyntaxKind.FalseKeyword) retryable = false;
      }
    }
    if (ts.isConstructorDeclaration(member) && member.body !== undefined) {
      const visit = (n: ts.Node): void => {
        if (ts.isCallExpression(n) && n.expression.kind === ts.SyntaxKind.SuperKeyword) {
          for (const arg of n.arguments) {
            if (!ts.isObjectLiteralExpression(arg)) continue;
            for (const prop of arg.properties) {
              if (ts.isPropertyAssignment(prop) && ts.isIdentifier(prop.name) && prop.name.text === 'hint') hint = stringValue(prop.initializer) ?? hint;
            }
          }
        }
        ts.forEachChild(n, visit);
      };
      visit(member.body);
    }
  }
  const doc = docComment(node, text);
  return {
    name: node.name.text,
    parent,
    file,
    ...(code === undefined ? {} : { code }),
    ...(retryable === undefined ? {} : { retryable }),
    ...(doc === undefined ? {} : { doc }),
    ...(hint === undefined ? {} : { hint }),
  };
}

/** `export const <name> = { key: 'value' | number, … }` entries with their doc comments. */
function constObject(source: ts.SourceFile, text: string, name: string): { key: string; value: string | number; doc?: string }[] {
  const out: { key: string; value: string | number; doc?: string }[] = [];
  for (const statement of source.statements) {
    if (!ts.isVariableStatement(statement)) continue;
    for (const decl of statement.declarationList.declarations) {
      if (!ts.isIdentifier(decl.name) || decl.name.text !== name || decl.initializer === undefined) continue;
      let init: ts.Expression = decl.initializer;
      while (ts.isAsExpression(init) || ts.isSatisfiesExpression(init) || ts.isParenthesizedExpression(init)) init = init.expression;
      if (!ts.isObjectLiteralExpression(init)) continue;
      for (const prop of init.properties) {
        if (!ts.isPropertyAssignment(prop) || !(ts.isIdentifier(prop.name) || ts.isStringLiteral(prop.name))) continue;
        const value = ts.isNumericLiteral(prop.initializer) ? Number(prop.initializer.text) : stringValue(prop.initializer);
        if (value === undefined) continue;
        const doc = docComment(prop, text);
        out.push({ key: prop.name.text, value, ...(doc === undefined ? {} : { doc }) });
      }
    }
  }
  return out;
}

function firstSentence(text: string): string {
  const match = /^(.*?[.!?])(\s|$)/.exec(text);
  return (match?.[1] ?? text).trim();
}

function capitalise(text: string): string {
  const t = text.trim();
  const sentence = t.charAt(0).toUpperCase() + t.slice(1);
  return /[.!?]$/.test(sentence) ? sentence : `${sentence}.`;
}

function pascal(key: string): string {
  return key.charAt(0).toUpperCase() + key.slice(1);
}

/** Scans the sources under `root` (the repository). */
export async function scanErrorCodes(root: string, meanings: typeof MEANINGS = MEANINGS): Promise<ScanResult> {
  const problems: string[] = [];
  const classes: ClassInfo[] = [];
  let workflowCodes: { key: string; value: string | number; doc?: string }[] = [];
  let exitStatuses: ExitStatus[] = [];
  const literalCodes = new Map<string, string>();
  for (const dir of SOURCE_DIRS) {
    for (const path of await tsFiles(join(root, dir))) {
      const text = await readFile(path, 'utf8');
      const file = relative(root, path);
      const source = ts.createSourceFile(path, text, ts.ScriptTarget.Latest, true);
      for (const statement of source.statements) {
        if (ts.isClassDeclaration(statement)) {
          const info = classInfo(statement, text, file);
          if (info !== undefined) classes.push(info);
        }
      }
      if (file === join('workflows', 'codes.ts')) workflowCodes = constObject(source, text, 'Codes');
      if (file === join('clients', 'exit-codes.ts')) {
        exitStatuses = constObject(source, text, 'ExitCode').flatMap((e) => (typeof e.value === 'number' ? [{ name: e.key, value: e.value, meaning: capitalise(e.doc ?? EXIT_MEANINGS[e.key] ?? e.key) }] : []));
      }
      for (const match of text.matchAll(/'(COFFER-E\d{3})'/g)) if (match[1] !== undefined && !literalCodes.has(match[1])) literalCodes.set(match[1], file);
    }
  }

  // Keep the classes that descend from CofferError.
  const byName = new Map<string, ClassInfo[]>();
  for (const c of classes) byName.set(c.name, [...(byName.get(c.name) ?? []), c]);
  const isCoffer = (c: ClassInfo, depth = 0): boolean => {
    if (c.parent === ROOT_CLASS) return true;
    if (c.parent === undefined || depth > 20) return false;
    return (byName.get(c.parent) ?? []).some((p) => isCoffer(p, depth + 1));
  };
  const inheritedRetryable = (c: ClassInfo, depth = 0): boolean | undefined => {
    if (c.retryable !== undefined || depth > 20) return c.retryable;
    const parent = c.parent === undefined ? undefined : byName.get(c.parent)?.[0];
    return parent === undefined ? undefined : inheritedRetryable(parent, depth + 1);
  };

  const entries = new Map<string, ErrorCodeEntry>();
  for (const c of classes.filter((k) => isCoffer(k) && k.code !== undefined)) {
    const code = c.code ?? '';
    if (!CODE.test(code)) {
      problems.push(`${c.file}: ${c.name} has code '${code}', which is not COFFER-E followed by three digits`);
      continue;
    }
    const existing = entries.get(code);
    if (existing !== undefined) {
      problems.push(`${code} is used by two classes: ${existing.name} (${existing.file}) and ${c.name} (${c.file}); give one of them a free code`);
      continue;
    }
    const manual = meanings[code];
    const retryable = inheritedRetryable(c);
    const meaning = manual?.meaning ?? (c.doc === undefined ? undefined : capitalise(firstSentence(c.doc)));
    const action = manual?.action ?? (c.hint === undefined ? undefined : capitalise(c.hint));
    entries.set(code, {
      code,
      name: c.name,
      retryable: retryable === undefined ? '—' : retryable ? 'yes' : 'no',
      file: c.file,
      kind: 'class',
      exit: exitStatusFor(code),
      ...(meaning === undefined ? {} : { meaning }),
      ...(action === undefined ? {} : { action }),
    });
  }
  // Failure types raised by workflows by code alone (no class behind them).
  for (const w of workflowCodes) {
    const code = String(w.value);
    if (entries.has(code)) continue;
    const manual = meanings[code];
    entries.set(code, {
      code,
      name: manual?.name ?? pascal(w.key),
      retryable: 'no',
      file: join('workflows', 'codes.ts'),
      kind: 'workflow',
      exit: exitStatusFor(code),
      ...(manual?.meaning === undefined ? {} : { meaning: manual.meaning }),
      ...(manual?.action === undefined ? {} : { action: manual.action }),
    });
  }
  // Codes written as literals elsewhere (the CLI's fallback) that have a hand-written entry.
  for (const [code, file] of literalCodes) {
    const manual = meanings[code];
    if (entries.has(code) || manual === undefined) continue;
    entries.set(code, { code, name: manual.name ?? 'Unnamed', retryable: '—', file, kind: 'cli', exit: exitStatusFor(code), ...(manual.meaning === undefined ? {} : { meaning: manual.meaning }), ...(manual.action === undefined ? {} : { action: manual.action }) });
  }
  for (const [code, file] of literalCodes) {
    if (!entries.has(code)) problems.push(`${code} appears in ${file} but no CofferError class or workflows/codes.ts entry defines it`);
  }
  for (const e of entries.values()) {
    if (e.meaning === undefined) problems.push(`${e.code} (${e.name}, ${e.file}) has no meaning: add a doc comment to the class or an entry in MEANINGS (scripts/error-codes.ts)`);
    if (e.action === undefined) problems.push(`${e.code} (${e.name}, ${e.file}) says nothing about what to do: give the class a hint or add an entry in MEANINGS (scripts/error-codes.ts)`);
  }
  for (const code of Object.keys(meanings)) {
    if (!entries.has(code)) problems.push(`MEANINGS in scripts/error-codes.ts explains ${code}, which nothing defines any more: remove it`);
  }
  if (exitStatuses.length === 0) problems.push('clients/exit-codes.ts: no `export const ExitCode = { … }` found');
  return { entries: [...entries.values()].sort((a, b) => a.code.localeCompare(b.code)), exitStatuses, problems };
}

const SERIES: readonly [string, string][] = [
  ['0', 'E0xx — unclassified'],
  ['1', 'E1xx — user input and setup'],
  ['2', 'E2xx — keys, repository and integrity'],
  ['3', 'E3xx — storage'],
  ['4', 'E4xx — workflows, Temporal and jobs'],
  ['5', 'E5xx — catalog, access control, configuration and secrets'],
];

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

export function renderErrorCodesDoc(scan: ScanResult): string {
  const lines: string[] = [
    '# Error codes',
    '',
    '<!-- Generated by scripts/error-codes.ts from the sources; do not edit by hand.',
    '     Regenerate: node scripts/run-ts.js scripts/error-codes.ts   Check: … --check -->',
    '',
    'Every error Coffer reports carries a stable code. The CLI prints one line:',
    '',
    '```',
    'COFFER-E205 pack ab12…: chunk authentication failed: the object is damaged or was tampered with; run `coffer verify` to see what is affected',
    '```',
    '',
    'on standard error: the code, what happened, and what to do. `--debug` adds the chain of causes.',
    '**Retryable** errors may succeed on their own when retried',
    '(Temporal retries them with backoff); the others need you to act first. **Exit** is the CLI\'s exit status when the',
    'command fails with that code (computed by `clients/exit-codes.ts`).',
    '',
    '## CLI exit statuses',
    '',
    'From `clients/exit-codes.ts`:',
    '',
    '| Status | Name | Meaning |',
    '|---:|---|---|',
    ...scan.exitStatuses.map((s) => `| ${s.value} | \`${s.name}\` | ${cell(s.meaning)} |`),
    '',
    '## Codes',
    '',
  ];
  const digits = [...new Set(scan.entries.map((e) => e.code.charAt(8)))].sort();
  for (const digit of digits) {
    const title = SERIES.find(([d]) => d === digit)?.[1] ?? `E${digit}xx`;
    const group = scan.entries.filter((e) => e.code.charAt(8) === digit);
    lines.push(`### ${title}`, '', '| Code | Name | Retryable | Exit | Meaning | What to do |', '|---|---|---|---:|---|---|');
    for (const e of group) lines.push(`| \`${e.code}\` | ${e.name} | ${e.retryable} | ${e.exit} | ${cell(e.meaning ?? '')} | ${cell(e.action ?? '')} |`);
    lines.push('');
  }
  lines.push(
    '## Where the codes come from',
    '',
    '| Code | Defined in |',
    '|---|---|',
    ...scan.entries.map((e) => `| \`${e.code}\` | \`${e.file}\`${e.kind === 'workflow' ? ' (workflow failure type)' : e.kind === 'cli' ? ' (CLI fallback)' : ''} |`),
    '',
  );
  return lines.join('\n');
}

/** Codes listed in a doc's tables (first column). */
export function codesInDoc(doc: string): string[] {
  return [...doc.matchAll(/^\| `(COFFER-E\d{3})` \| (?!`)/gm)].map((m) => m[1] ?? '');
}

/** Everything wrong with the doc at `docPath` relative to the sources under `root` (empty = up to date). */
export async function checkErrorCodesDoc(root: string, docPath: string = join(root, 'docs', 'error-codes.md'), meanings: typeof MEANINGS = MEANINGS): Promise<string[]> {
  const scan = await scanErrorCodes(root, meanings);
  const problems = [...scan.problems];
  let doc: string;
  try {
    doc = await readFile(docPath, 'utf8');
  } catch {
    return [...problems, `${relative(root, docPath)} does not exist: run node scripts/run-ts.js scripts/error-codes.ts`];
  }
  const listed = codesInDoc(doc);
  const known = new Set(scan.entries.map((e) => e.code));
  for (const e of scan.entries) if (!listed.includes(e.code)) problems.push(`${e.code} (${e.name}) is missing from ${relative(root, docPath)}`);
  for (const code of listed) if (!known.has(code)) problems.push(`${relative(root, docPath)} lists ${code}, but no class defines it`);
  const seen = new Set<string>();
  for (const code of listed) {
    if (seen.has(code)) problems.push(`${relative(root, docPath)} lists ${code} twice`);
    seen.add(code);
  }
  if (problems.length === 0 && doc !== renderErrorCodesDoc(scan)) {
    problems.push(`${relative(root, docPath)} is out of date (texts or exit statuses changed): run node scripts/run-ts.js scripts/error-codes.ts`);
  }
  return problems;
}

async function main(): Promise<void> {
  const root = resolve(__dirname, '..');
  const docPath = join(root, 'docs', 'error-codes.md');
  if (process.argv.includes('--check')) {
    const problems = await checkErrorCodesDoc(root, docPath);
    for (const p of problems) console.error(`error-codes: ${p}`);
    if (problems.length > 0) process.exitCode = 1;
    else console.log('error-codes: docs/error-codes.md is up to date');
    return;
  }
  const scan = await scanErrorCodes(root);
  for (const p of scan.problems) console.error(`error-codes: ${p}`);
  const temp = `${docPath}.tmp-${process.pid}`;
  await writeFile(temp, renderErrorCodesDoc(scan), 'utf8');
  await rename(temp, docPath);
  console.log(`error-codes: wrote ${relative(root, docPath)} (${scan.entries.length} codes)`);
  if (scan.problems.length > 0) process.exitCode = 1;
}

if (require.main === module) void main();
