/**
 * The config file's one error type. Its message always starts with
 * `<file>:<line>: <field path>: ` so an editor can jump to the problem.
 */
import { CofferError } from '../errors';
import type { CofferErrorOptions } from '../errors';

/** One problem found in a config file. `line` is 1-based; 0 when the file could not be read at all. */
export interface ConfigProblem {
  readonly file: string;
  readonly line: number;
  /** Dotted field path, e.g. `profiles.prod.retention.keepDaily` (empty for the whole file). */
  readonly field: string;
  readonly message: string;
}

export function formatProblem(problem: ConfigProblem): string {
  const where = problem.line > 0 ? `${problem.file}:${problem.line}` : problem.file;
  return problem.field === '' ? `${where}: ${problem.message}` : `${where}: ${problem.field}: ${problem.message}`;
}

/**
 * The config file is unreadable, not YAML, or does not match the schema.
 * The message lists every problem (first line = first problem); `problems`
 * has them structured. Never contains a secret value: messages name fields,
 * not the values found in them.
 */
export class ConfigError extends CofferError {
  readonly code = 'COFFER-E530';
  readonly retryable = false;
  readonly problems: readonly ConfigProblem[];

  constructor(problems: readonly ConfigProblem[], options: CofferErrorOptions = {}) {
    super(problems.map(formatProblem).join('\n'), { hint: 'fix the config file (every field is described in docs/configuration.md)', ...options });
    this.problems = problems;
  }
}

/** A secret reference that cannot be resolved (variable unset, file missing or empty). */
export class SecretUnresolved extends CofferError {
  readonly code = 'COFFER-E531';
  readonly retryable = false;

  constructor(message: string, options: CofferErrorOptions = {}) {
    super(message, { hint: 'set the environment variable or create the file the config refers to (readable by this user only)', ...options });
  }
}
