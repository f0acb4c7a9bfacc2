/**
 * The worker's notification targets: generic webhooks from
 * COFFER_NOTIFY_WEBHOOKS (every event), plus the `notifications` of a profile
 * in the Coffer config file (COFFER_CONFIG / COFFER_PROFILE), with their
 * secrets resolved and their severity and kind filters kept. Resolved once
 * at start-up; the result holds secrets (URLs, passwords): never log it.
 */
import { loadConfig, resolveNotifyTarget, selectProfile } from '../activities/config/profile';
import type { RoutedNotifyTarget } from '../activities/notify/routing';
import type { NotifyConfig } from './config';

export async function resolveNotifyTargets(config: NotifyConfig, env: Readonly<Record<string, string | undefined>>): Promise<RoutedNotifyTarget[]> {
  const targets: RoutedNotifyTarget[] = config.webhookUrls.map((url) => ({ target: { type: 'webhook', url } }));
  if (config.configFile !== undefined) {
    const file = await loadConfig(config.configFile);
    const profile = selectProfile(file, config.profile);
    for (const notification of Object.values(profile.notifications)) {
      targets.push({
        target: await resolveNotifyTarget(file, notification, env),
        minSeverity: notification.minSeverity,
        ...(notification.kinds === undefined ? {} : { kinds: notification.kinds }),
      });
    }
  }
  return targets;
}
