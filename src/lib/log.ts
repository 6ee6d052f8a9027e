import { pino, type Logger } from 'pino';

export type { Logger };

/** JSON logs on stdout; any field that looks like a credential is censored before it is written. */
export function createLogger(level: string): Logger {
  return pino({
    level,
    base: { service: 'callback-relay' },
    redact: {
      paths: [
        'req.headers.authorization',
        'headers.authorization',
        '*.secret',
        '*.api_key',
        '*.password',
        'secret',
        'api_key',
      ],
      censor: '[redacted]',
    },
  });
}
