import { ensureDebianPackages } from './debian';
import { ensureGoTool, GO_TOOLS } from './go-tools';
import { ensureNodeModules } from './node-modules';

/** Installs whatever the stack lacks, idempotently; cheap when everything is there. */
export async function installAll(log: (line: string) => void): Promise<void> {
  await ensureDebianPackages(log);
  await ensureNodeModules(log);
  // One at a time: each Go build already uses every core.
  for (const tool of GO_TOOLS) {
    const outcome = await ensureGoTool(tool, log);
    if (outcome !== 'cached') log(`${tool.binary} ${tool.version}: ${outcome}`);
  }
}
