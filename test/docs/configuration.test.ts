/**
 * docs/configuration.md documents every field the schema accepts: the test
 * walks the zod schema itself, so a new field without documentation fails.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { configSchema } from '../../activities/config/profile-schema';

interface Def {
  readonly type: string;
  readonly shape?: Readonly<Record<string, unknown>>;
  readonly innerType?: unknown;
  readonly in?: unknown;
  readonly valueType?: unknown;
  readonly element?: unknown;
  readonly options?: readonly unknown[];
}

function defOf(schema: unknown): Def | undefined {
  const zod = (schema as { _zod?: { def?: Def } } | undefined)?._zod;
  return zod?.def;
}

/** Every object key reachable in the schema. */
function fieldNames(schema: unknown, out = new Set<string>(), seen = new Set<unknown>()): Set<string> {
  if (seen.has(schema)) return out;
  seen.add(schema);
  const def = defOf(schema);
  if (def === undefined) return out;
  for (const [key, child] of Object.entries(def.shape ?? {})) {
    out.add(key);
    fieldNames(child, out, seen);
  }
  for (const child of [def.innerType, def.in, def.valueType, def.element, ...(def.options ?? [])]) if (child !== undefined) fieldNames(child, out, seen);
  return out;
}

void test('every config field is documented in docs/configuration.md', async () => {
  const doc = await readFile(resolve(__dirname, '../../docs/configuration.md'), 'utf8');
  const fields = fieldNames(configSchema);
  assert.ok(fields.size > 60, `the walk found the schema's fields (${fields.size})`);
  for (const field of ['keepDaily', 'rtoSeconds', 'command', 'hooks', 'postOnFailure', 'minSeverity', 'changedBytesShare', 'credentials']) assert.ok(fields.has(field), field);
  // Words inside inline code spans (`s3.endpoint`, `{ env: NAME }`, `keepDaily`).
  const documented = new Set((doc.match(/`[^`\n]+`/g) ?? []).flatMap((span) => span.match(/[A-Za-z0-9]+/g) ?? []));
  const undocumented = [...fields].filter((f) => !documented.has(f));
  assert.deepEqual(undocumented, []);
});
