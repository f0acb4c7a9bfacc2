/**
 * The engine: create or open a repository on any Backend. No Temporal
 * imports; activities, the offline CLI path and the benchmark all use this.
 */
import type { Backend } from '../storage/backend';
import type { Engine, InitOptions, Repository, Unlock } from './api';
import { initRepository, openRepository } from './open';
import type { EngineOptions } from './options';
import { resolveEngineOptions } from './options';
import { CofferRepository } from './repository';

export type { EngineOptions } from './options';

export function createEngine(options: EngineOptions = {}): Engine {
  const resolved = resolveEngineOptions(options);
  return {
    async init(backend: Backend, unlock: Unlock, initOptions: InitOptions = {}): Promise<Repository> {
      return new CofferRepository(await initRepository(backend, unlock, initOptions, resolved));
    },
    async open(backend: Backend, unlock: Unlock): Promise<Repository> {
      return new CofferRepository(await openRepository(backend, unlock, resolved));
    },
  };
}

export const engine: Engine = createEngine();
