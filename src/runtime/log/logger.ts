/**
 * The one logger: pino, with ISO-8601 timestamps. JSON lines by default (for log collectors);
 * `text` prints one readable line per entry, as kubebuilder's development logger does.
 */
import { createRequire } from 'node:module';
import { pino } from 'pino';
import { ApiError } from '../client/errors.ts';

export type Logger = pino.Logger;
export type LogFormat = 'json' | 'text';
export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';

export interface LoggerOptions {
  level?: LogLevel;
  format?: LogFormat;
  /** Where to write (default stdout); tests pass a stream to capture. */
  destination?: NodeJS.WritableStream;
}

function serializeError(err: unknown): unknown {
  if (err instanceof ApiError) {
    return { type: 'ApiError', message: err.message, status: err.status, reason: err.reason || undefined };
  }
  return err instanceof Error ? pino.stdSerializers.err(err) : err;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const base = {
    level: options.level ?? 'info',
    timestamp: pino.stdTimeFunctions.isoTime,
    base: undefined, // no pid/hostname on every line
    formatters: { level: (label: string) => ({ level: label }) },
    // An API error is expected operational news: its message says it all, no stack needed.
    serializers: { err: serializeError },
  };
  if (options.format === 'text') {
    // Synchronous, in-process pretty printing: no worker thread, nothing lost on exit. Loaded only
    // for this format, so JSON logging does not pay for it.
    const pretty = createRequire(import.meta.url)('pino-pretty') as typeof import('pino-pretty');
    const stream = pretty({
      colorize: false,
      translateTime: 'UTC:yyyy-mm-dd"T"HH:MM:ss.l"Z"',
      ignore: 'pid,hostname',
      singleLine: true,
      sync: true,
      destination: options.destination ?? process.stdout,
    });
    return pino(base, stream);
  }
  return pino(base, options.destination ?? process.stdout);
}
