/**
 * Business ids for workflows: `<job>/<repo-tag>/<host>/<time>`. The repo tag
 * is a short, stable, non-cryptographic hash of the repository URL (it names,
 * it does not protect), so ids group by repository without showing the URL.
 * Pure code: used by workflows (children, drills) and by the CLI.
 */
export function repositoryTag(url: string): string {
  // FNV-1a, 32 bit, over the UTF-16 code units; plenty to tell a handful of repositories apart.
  let hash = 0x811c9dc5;
  const canonical = url.trim().replace(/\/+$/, '');
  for (let i = 0; i < canonical.length; i++) {
    hash ^= canonical.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash.toString(16).padStart(8, '0');
}

function safeSegment(value: string): string {
  return value.replace(/[^A-Za-z0-9._@-]/g, '_').slice(0, 64) || '_';
}

export function jobWorkflowId(job: string, repoUrl: string, host: string | undefined, time: Date): string {
  const stamp = time.toISOString();
  return host === undefined ? `${job}/${repositoryTag(repoUrl)}/${stamp}` : `${job}/${repositoryTag(repoUrl)}/${safeSegment(host)}/${stamp}`;
}
