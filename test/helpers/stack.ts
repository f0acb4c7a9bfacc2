import { readStackEnv, DEFAULT_STACK_ENV_FILE } from '../../activities/config/env-file';

/**
 * The stack's endpoints for tests. A test that needs a service must fail when
 * the stack is not up, never skip: this throws with the command to run.
 */
export function stackEnv(): Record<string, string> {
  const file = process.env.COFFER_STACK_ENV ?? DEFAULT_STACK_ENV_FILE;
  const env = readStackEnv(file);
  if (env === undefined) {
    throw new Error(`stack env file ${file} is missing: run 'npm run stack -- up' first`);
  }
  return env;
}

export function stackVar(name: string): string {
  const value = stackEnv()[name];
  if (value === undefined || value === '') {
    throw new Error(`stack env file does not define ${name}: run 'npm run stack -- up'`);
  }
  return value;
}
