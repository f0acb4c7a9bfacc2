/**
 * What Coffer's activities need from the worker, as small interfaces so tests
 * can hand in real implementations wired differently (a temp dir, cheap KDF).
 */
import type { Engine } from './engine/api';
import type { CofferMetrics } from './metrics';
import type { OpenBackend, RepositoryCache } from './repositories';
import type { SecretSource } from './secrets';
import type { CommandPolicy } from './sources/allowlist';

export interface ActivityDeps {
  readonly engine: Engine;
  /** Opens the storage backend of a repository URL with the worker's credentials. */
  readonly openBackend: OpenBackend;
  readonly secrets: SecretSource;
  readonly metrics: CofferMetrics;
  /** Where DR drills restore (a scratch directory on this host). */
  readonly scratchDir: string;
  /** Shared cache of open repositories; createActivities makes one when absent. */
  readonly repositories?: RepositoryCache;
  /** Which programs command sources and hooks may run, and their environment; absent: none may run. */
  readonly commands?: CommandPolicy;
}

/** Deps after createActivities filled in the defaults. */
export interface ResolvedDeps extends ActivityDeps {
  readonly repositories: RepositoryCache;
}
