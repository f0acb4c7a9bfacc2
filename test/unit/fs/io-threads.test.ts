/**
 * The entry points' first import sizes libuv's thread pool. Proof: with five
 * calls blocked on FIFOs nobody writes to (each holds a pool thread), a sixth
 * call still completes; with libuv's default of 4 it would wait forever.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'node:test';

import ts from 'typescript';

const MODULE = resolve(__dirname, '../../../activities/engine/fs/io-threads.ts');

/**
 * The module compiled to plain JavaScript: the child must not load tsx, whose
 * loader starts the pool before the module runs (the built CLI and worker
 * load nothing before it).
 */
async function compile(dir: string): Promise<string> {
  const out = join(dir, 'io-threads.js');
  const { outputText } = ts.transpileModule(await readFile(MODULE, 'utf8'), { compilerOptions: { module: ts.ModuleKind.CommonJS } });
  await writeFile(out, outputText);
  return out;
}

function probe(dir: string, importModule: boolean, compiled = ''): Promise<string> {
  const script = `
    ${importModule ? `require(${JSON.stringify(compiled)});` : ''}
    const fs = require('node:fs');
    for (let i = 0; i < 5; i++) fs.open(${JSON.stringify(dir)} + '/fifo' + i, 'r', () => {});
    setTimeout(() => process.stdout.write('blocked\\n'), 1000);
    fs.stat(${JSON.stringify(dir)}, () => process.stdout.write('done\\n'));
  `;
  const env = { ...process.env };
  delete env.UV_THREADPOOL_SIZE;
  const child = spawn(process.execPath, ['-e', script], { env, stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolveLine, reject) => {
    child.stdout.once('data', (chunk: Buffer) => {
      // Threads stay blocked on the FIFOs: the child cannot end by itself.
      child.kill('SIGKILL');
      resolveLine(chunk.toString().trim());
    });
    child.once('error', reject);
  });
}

void test('io-threads raises the libuv pool above the 4 threads a restore would exhaust', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'coffer-io-threads-'));
  try {
    for (let i = 0; i < 5; i++) execFileSync('mkfifo', [join(dir, `fifo${i}`)]);
    assert.equal(await probe(dir, false), 'blocked', 'control: the default pool is exhausted by five blocked calls');
    assert.equal(await probe(dir, true, await compile(dir)), 'done');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
