import { CofferError } from '../errors';
import type { CofferErrorOptions } from '../errors';

/** One notification target could not be reached or refused the message. */
export class NotificationFailed extends CofferError {
  readonly code = 'COFFER-E520';
  readonly retryable = true;

  constructor(message: string, options: CofferErrorOptions = {}) {
    super(message, { hint: 'check the notification target in the configuration and that it is reachable', ...options });
  }
}
