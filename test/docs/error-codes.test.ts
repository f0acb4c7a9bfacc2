/**
 * docs/error-codes.md must list exactly the codes the sources define, once
 * each, with the texts scripts/error-codes.ts derives. A second test builds a
 * small source tree to prove the check catches each kind of drift.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { checkErrorCodesDoc, codesInDoc, renderErrorCodesDoc, scanErrorCodes } from '../../scripts/error-codes';

const ROOT = resolve(__dirname, '../..');

void test('docs/error-codes.md is complete and up to date (scripts/error-codes.ts --check)', async () => {
  const problems = await checkErrorCodesDoc(ROOT);
  assert.deepEqual(problems, []);
  const doc = await readFile(join(ROOT, 'docs', 'error-codes.md'), 'utf8');
  const scan = await scanErrorCodes(ROOT);
  // Spot checks against classes everyone relies on.
  for (const code of ['COFFER-E100', 'COFFER-E205', 'COFFER-E301', 'COFFER-E401', 'COFFER-E501', 'COFFER-E530']) assert.ok(codesInDoc(doc).includes(code), code);
  assert.equal(scan.entries.find((e) => e.code === 'COFFER-E205')?.name, 'IntegrityError');
  assert.equal(scan.entries.find((e) => e.code === 'COFFER-E205')?.exit, 3, 'integrity problems exit with 3');
  assert.equal(scan.entries.find((e) => e.code === 'COFFER-E311')?.retryable, 'yes');
  assert.deepEqual(scan.exitStatuses.slice(0, 5).map((s) => s.value), [0, 1, 2, 3, 4]);
});

void test('the check reports missing, unknown and duplicated codes, and stale text', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'coffer-error-codes-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  const write = async (path: string, text: string): Promise<void> => {
    await mkdir(dirname(join(root, path)), { recursive: true });
    await writeFile(join(root, path), text);
  };
  await write('activities/errors.ts', 'export abstract class CofferError extends Error {}\n');
  await write(
    'activities/a.ts',
    `import { CofferError } from './errors';
/** The widget is missing. */
export class WidgetMissing extends CofferError {
  readonly code = 'COFFER-E601';
  readonly retryable = false;
  constructor(message: string) {
    super(message, { hint: 'install a widget' });
  }
}
/** Not an error of ours: ignored. */
export class Other extends Error {
  readonly code = 'X';
}
`,
  );
  await write('workflows/codes.ts', "export const Codes = { widgetMissing: 'COFFER-E601' } as const;\n");
  await write('clients/exit-codes.ts', 'export const ExitCode = {\n  ok: 0,\n  /** It broke. */\n  jobFailed: 1,\n} as const;\n');
  const docPath = join(root, 'docs', 'error-codes.md');
  await mkdir(dirname(docPath), { recursive: true });

  assert.match((await checkErrorCodesDoc(root, docPath, {})).join('\n'), /does not exist/);
  const scan = await scanErrorCodes(root, {});
  assert.deepEqual(scan.problems, []);
  assert.deepEqual(scan.entries.map((e) => [e.code, e.name, e.retryable, e.meaning, e.action]), [['COFFER-E601', 'WidgetMissing', 'no', 'The widget is missing.', 'Install a widget.']]);
  await writeFile(docPath, renderErrorCodesDoc(scan));
  assert.deepEqual(await checkErrorCodesDoc(root, docPath, {}), []);

  // A code the doc does not list.
  await write('activities/b.ts', "import { CofferError } from './errors';\n/** Gadget jammed. */\nexport class GadgetJammed extends CofferError {\n  readonly code = 'COFFER-E602';\n  readonly retryable = true;\n  constructor(m: string) { super(m, { hint: 'unjam it' }); }\n}\n");
  assert.deepEqual(await checkErrorCodesDoc(root, docPath, {}), ['COFFER-E602 (GadgetJammed) is missing from docs/error-codes.md']);

  // The doc lists a code nothing defines.
  await rm(join(root, 'activities/b.ts'));
  await writeFile(docPath, `${renderErrorCodesDoc(scan)}| \`COFFER-E699\` | Ghost | no | 1 | gone | nothing |\n`);
  assert.deepEqual(await checkErrorCodesDoc(root, docPath, {}), ['docs/error-codes.md lists COFFER-E699, but no class defines it']);

  // Two classes with one code; a subclass inheriting a code is not a duplicate.
  await writeFile(docPath, renderErrorCodesDoc(scan));
  await write('activities/c.ts', "import { WidgetMissing } from './a';\nimport { CofferError } from './errors';\nexport class WidgetGone extends WidgetMissing {}\n/** Same code. */\nexport class Clash extends CofferError {\n  readonly code = 'COFFER-E601';\n  readonly retryable = false;\n}\n");
  const clash = await checkErrorCodesDoc(root, docPath, {});
  assert.equal(clash.length, 1);
  assert.match(clash[0] ?? '', /COFFER-E601 is used by two classes: WidgetMissing \(activities\/a\.ts\) and Clash \(activities\/c\.ts\)/);

  // A changed hint makes the doc stale.
  await rm(join(root, 'activities/c.ts'));
  await write('activities/a.ts', (await readFile(join(root, 'activities/a.ts'), 'utf8')).replace('install a widget', 'install two widgets'));
  assert.match((await checkErrorCodesDoc(root, docPath, {})).join('\n'), /out of date/);

  // A class with neither doc comment nor hint must be explained somewhere.
  await write('activities/d.ts', "import { CofferError } from './errors';\nexport class Mystery extends CofferError {\n  readonly code = 'COFFER-E603';\n  readonly retryable = false;\n}\n");
  const mystery = (await scanErrorCodes(root, {})).problems.join('\n');
  assert.match(mystery, /COFFER-E603 \(Mystery, activities\/d\.ts\) has no meaning/);
  assert.match(mystery, /COFFER-E603 .* says nothing about what to do/);
});
