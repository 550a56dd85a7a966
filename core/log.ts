import { type Logger, pino } from 'pino';

export type { Logger };

/** Fields that may hold secrets; pino replaces them before a line is written. */
const REDACT_PATHS = [
  'token',
  '*.token',
  'rawToken',
  '*.rawToken',
  'authorization',
  'req.headers.authorization',
  'req.headers.cookie',
  'password',
  '*.password',
  'key',
  '*.key',
];

export function createLogger(service: string, level = process.env.LEECHGUARD_LOG_LEVEL ?? 'info'): Logger {
  return pino({
    name: `leechguard-${service}`,
    level,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
  });
}
