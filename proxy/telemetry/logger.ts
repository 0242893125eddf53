import pino, { type DestinationStream, type Logger } from 'pino';

/**
 * REDACTED_PATHS are censored wherever they appear in a log object. The proxy never logs bodies
 * or headers on purpose; this is the second line of defence for error objects that carry them.
 */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers["x-api-key"]',
  'req.headers["api-key"]',
  'req.headers.cookie',
  'headers.authorization',
  'headers["x-api-key"]',
  'headers["api-key"]',
  'err.headers.authorization',
  'err.config.headers.authorization',
  'apiKey',
  'token',
];

/** createLogger makes the process's JSON logger; `destination` lets tests capture every line. */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { component: 'proxy' },
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  );
}
