import { spawn } from 'node:child_process';

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Stream output to this process's stderr (long installs) instead of only capturing it. */
  echo?: boolean;
}

/** Runs a command to completion; never throws for a non-zero exit (the caller decides). */
export function run(file: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(file, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (data: Buffer) => {
      stdout += data.toString();
      if (options.echo === true) process.stderr.write(data);
    });
    child.stderr.on('data', (data: Buffer) => {
      stderr += data.toString();
      if (options.echo === true) process.stderr.write(data);
    });
    child.on('error', reject);
    child.on('close', (code) => resolvePromise({ code: code ?? 1, stdout, stderr }));
  });
}

/** Runs a command and throws with its output if it fails. */
export async function runOrThrow(file: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  const result = await run(file, args, options);
  if (result.code !== 0) {
    const output = (result.stderr + result.stdout).trim().split('\n').slice(-20).join('\n');
    throw new Error(`${file} ${args.join(' ')} exited with ${result.code}\n${output}`);
  }
  return result;
}
