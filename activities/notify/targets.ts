/**
 * Notification targets as configured. URLs and passwords here are secrets:
 * `describeTarget` is what results and logs show instead.
 */
export interface WebhookTarget {
  readonly type: 'webhook';
  readonly url: string;
  /** Extra headers (e.g. Authorization). */
  readonly headers?: Readonly<Record<string, string>>;
}

export interface SlackTarget {
  readonly type: 'slack';
  /** A Slack-compatible incoming-webhook URL (Slack, Mattermost, Rocket.Chat …). */
  readonly url: string;
}

export interface EmailTarget {
  readonly type: 'email';
  readonly host: string;
  readonly port: number;
  readonly from: string;
  readonly to: readonly string[];
  /** Implicit TLS (SMTPS, usually port 465). STARTTLS is not supported: use a local relay otherwise. */
  readonly secure?: boolean;
  /** AUTH PLAIN credentials; sent only over TLS or to a loopback host. */
  readonly auth?: { readonly user: string; readonly pass: string };
  /** Name sent in EHLO (default: "coffer"). */
  readonly clientName?: string;
}

export interface SyslogTarget {
  readonly type: 'syslog';
  readonly host: string;
  readonly port: number;
  readonly protocol: 'udp' | 'tcp';
  /** Syslog facility number 0–23 (default 1, user). */
  readonly facility?: number;
  readonly appName?: string;
  /** HOSTNAME field (default: this machine's hostname). */
  readonly hostname?: string;
}

export type NotifyTarget = WebhookTarget | SlackTarget | EmailTarget | SyslogTarget;

/** A description safe for logs and results: no paths, queries, tokens or passwords. */
export function describeTarget(target: NotifyTarget): string {
  switch (target.type) {
    case 'webhook':
    case 'slack':
      return `${target.type} ${safeOrigin(target.url)}`;
    case 'email':
      return `email ${target.host}:${target.port} (${target.to.length} recipient${target.to.length === 1 ? '' : 's'})`;
    case 'syslog':
      return `syslog ${target.protocol}://${target.host}:${target.port}`;
  }
}

function safeOrigin(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return '(invalid URL)';
  }
}
