/** One server of the local stack: how to install-check, start, probe and set it up. */
export interface Service {
  name: string;
  /** What the table shows, e.g. `127.0.0.1:7233 (UI :8233)`. */
  address: string;
  version: string;
  /**
   * A string that appears in the running process's command line and nowhere
   * else (an absolute path under this clone's .data): pid identity check.
   */
  identity: string;
  /** Ports that must be free before starting. */
  ports: readonly number[];
  /** Creates data dirs, keys and config files; idempotent. */
  prepare(): Promise<void>;
  command(): { file: string; args: string[]; env?: NodeJS.ProcessEnv };
  /** One real request; throws if the server does not answer it properly. */
  probe(): Promise<void>;
  /** Creates buckets/containers/dirs the contract promises; idempotent; runs after probe succeeds. */
  setup?(): Promise<void>;
  /** The env file lines this service contributes. */
  env(): Record<string, string>;
}
