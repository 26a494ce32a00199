// winston: JSON when stdout is not a TTY, readable lines on a TTY. Message fixed, data in the object.
import winston from 'winston';
import { redactSecretEnv } from './secret-env.ts';

export type Logger = winston.Logger;

export interface LoggingOptions {
  level?: string;
  json?: boolean;
  /** Write to stderr instead of stdout (CLI commands keep stdout for their output). */
  stderr?: boolean;
  silent?: boolean;
}

/** Secret env values (`secret: true`) in logged data become <redacted>, whatever object carries them. */
export const redactSecrets = winston.format((info) => {
  for (const k of Object.keys(info)) {
    const v = info[k];
    if (typeof v === 'object' && v !== null) info[k] = redactSecretEnv(v);
  }
  return info;
});

export function createLogger(opts: LoggingOptions = {}): Logger {
  const json = opts.json ?? !process.stdout.isTTY;
  const format = json
    ? winston.format.combine(redactSecrets(), winston.format.timestamp(), winston.format.json())
    : winston.format.combine(
        redactSecrets(),
        winston.format.timestamp({ format: 'HH:mm:ss' }),
        winston.format.printf(({ timestamp, level, message, ...rest }) => {
          const extra = Object.keys(rest).length ? ' ' + JSON.stringify(rest) : '';
          return `${timestamp} ${level.padEnd(5)} ${message}${extra}`;
        }),
      );
  return winston.createLogger({
    level: opts.level ?? process.env.DROVER_LOG_LEVEL ?? 'info',
    silent: opts.silent,
    format,
    transports: [new winston.transports.Console({ stderrLevels: opts.stderr ? Object.keys(winston.config.npm.levels) : [] })],
  });
}

/** A logger that drops everything, for unit tests. */
export function nullLogger(): Logger {
  return winston.createLogger({ silent: true, transports: [new winston.transports.Console()] });
}
