import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { Client } from 'ssh2';
import { HOST, PORTS } from '../contract';
import { writeFileAtomic } from '../pids';
import { DATA_DIR, serviceDataDir } from '../paths';
import { runOrThrow } from '../run';
import type { Service } from './service';

const dir = serviceDataDir('sshd');
const configFile = join(dir, 'sshd_config');
const hostKey = join(dir, 'host_ed25519');
const clientKey = join(dir, 'client_ed25519');
const authorizedKeys = join(dir, 'authorized_keys');
const knownHosts = join(dir, 'known_hosts');
const sftpRoot = join(DATA_DIR, 'sftp');
const user = userInfo().username;

async function ensureKey(file: string, comment: string): Promise<void> {
  if (existsSync(file) && existsSync(`${file}.pub`)) return;
  await runOrThrow('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', file]);
}

/** `ssh-ed25519 AAAA...` without the comment. */
function publicKey(file: string): string {
  return readFileSync(`${file}.pub`, 'utf8').trim().split(/\s+/).slice(0, 2).join(' ');
}

function sshVersion(): string {
  try {
    return `OpenSSH ${execFileSync('dpkg-query', ['-W', '-f=${Version}', 'openssh-server'], { encoding: 'utf8' }).replace(/^\d+:/, '')}`;
  } catch {
    return 'OpenSSH (version unknown)';
  }
}

export const sshd: Service = {
  name: 'sshd',
  address: `sftp://${user}@${HOST}:${PORTS.sftp}`,
  version: sshVersion(),
  identity: configFile,
  ports: [PORTS.sftp],
  async prepare() {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    mkdirSync(sftpRoot, { recursive: true });
    // sshd insists on its privilege-separation directory even for an unprivileged port.
    if (process.getuid?.() === 0) mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
    await ensureKey(hostKey, 'coffer-stack-host');
    await ensureKey(clientKey, 'coffer-stack-client');
    writeFileAtomic(authorizedKeys, `${publicKey(clientKey)} coffer-stack-client\n`, 0o600);
    writeFileAtomic(knownHosts, `[${HOST}]:${PORTS.sftp} ${publicKey(hostKey)}\n`);
    writeFileAtomic(configFile, [
      `Port ${PORTS.sftp}`,
      `ListenAddress ${HOST}`,
      `HostKey ${hostKey}`,
      `PidFile ${join(dir, 'sshd.pid')}`,
      `AuthorizedKeysFile ${authorizedKeys}`,
      `AllowUsers ${user}`,
      'PubkeyAuthentication yes',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'PermitRootLogin prohibit-password',
      'UsePAM no',
      // Keys live under .data, whose permissions sshd would otherwise reject.
      'StrictModes no',
      'X11Forwarding no',
      'AllowTcpForwarding no',
      'PrintMotd no',
      'Subsystem sftp internal-sftp',
      '',
    ].join('\n'));
  },
  command() {
    return { file: '/usr/sbin/sshd', args: ['-D', '-e', '-f', configFile] };
  },
  async probe() {
    const expectedHostKey = Buffer.from(publicKey(hostKey).split(' ')[1], 'base64');
    await new Promise<void>((resolve, reject) => {
      const connection = new Client();
      connection
        .on('ready', () => {
          connection.end();
          resolve();
        })
        .on('error', reject)
        .connect({
          host: HOST,
          port: PORTS.sftp,
          username: user,
          privateKey: readFileSync(clientKey),
          readyTimeout: 2000,
          hostVerifier: (key: Buffer) => key.equals(expectedHostKey),
        });
    });
  },
  env() {
    return {
      COFFER_SFTP_HOST: HOST,
      COFFER_SFTP_PORT: String(PORTS.sftp),
      COFFER_SFTP_USER: user,
      COFFER_SFTP_KEY_FILE: clientKey,
      COFFER_SFTP_KNOWN_HOSTS: knownHosts,
      COFFER_SFTP_ROOT: sftpRoot,
    };
  },
};
