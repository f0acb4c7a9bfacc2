#!/usr/bin/env node
// Runs a TypeScript entry point with tsx (`node --import tsx <file> args`),
// passing stdio, signals and the exit code through. Used by `npm run stack`.
'use strict';
const { spawn } = require('node:child_process');

const [file, ...args] = process.argv.slice(2);
if (!file) {
  console.error('usage: node scripts/run-ts.js <file.ts> [args...]');
  process.exit(2);
}
const child = spawn(process.execPath, ['--import', 'tsx', file, ...args], { stdio: 'inherit' });
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => child.kill(signal));
}
child.on('exit', (code, signal) => {
  process.exit(code ?? (signal ? 128 + 1 : 1));
});
