import { run, runOrThrow } from '../run';

/**
 * Debian packages the project uses: sshd for the SFTP server, restic and borg
 * as benchmark peers, docker-compose to validate the compose file, tmux, and
 * chromium for the UI tests.
 */
export const DEBIAN_PACKAGES: readonly string[] = ['openssh-server', 'restic', 'borgbackup', 'docker-compose', 'tmux', 'chromium'];

async function isInstalled(pkg: string): Promise<boolean> {
  const result = await run('dpkg-query', ['-W', '-f=${Status}', pkg]).catch(() => undefined);
  return result !== undefined && result.code === 0 && result.stdout.includes('install ok installed');
}

/** Installs the missing packages (apt-get update only when something is missing). Returns what it installed. */
export async function ensureDebianPackages(log: (line: string) => void, packages: readonly string[] = DEBIAN_PACKAGES): Promise<string[]> {
  const missing: string[] = [];
  for (const pkg of packages) {
    if (!(await isInstalled(pkg))) missing.push(pkg);
  }
  if (missing.length === 0) return [];
  const asRoot = process.getuid?.() === 0;
  const prefix = asRoot ? [] : ['sudo', '-n'];
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  log(`installing Debian packages: ${missing.join(' ')}`);
  const apt = async (args: string[]): Promise<void> => {
    const [file, ...rest] = [...prefix, 'apt-get', ...args];
    await runOrThrow(file, rest, { env, echo: true });
  };
  try {
    await apt(['update', '-q']);
    await apt(['install', '-y', '-q', '--no-install-recommends', ...missing]);
  } catch (error) {
    throw new Error(`could not install ${missing.join(' ')} (run as root or with passwordless sudo): ${(error as Error).message}`);
  }
  return missing;
}
