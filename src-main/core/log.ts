// Runs in: Node (main process, CLI, tests). Structured logging with pino.
// Key material never reaches a log line: known secret fields are redacted, and byte arrays
// are never logged (log addresses and PeerIds, which are public).
import { pino, type Logger, type DestinationStream } from 'pino';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

export type { Logger };

export const REDACT_PATHS = [
  'secret',
  'secretKey',
  'privateKey',
  'seed',
  'keypair',
  'password',
  'token',
  '*.secret',
  '*.secretKey',
  '*.privateKey',
  '*.seed',
  '*.keypair',
  '*.password',
  '*.token',
];

export interface LogOptions {
  level?: string;
  /** Path of the one log file in the data directory; omitted = stderr only. */
  file?: string;
  /** Also write to stderr (pretty enough for a terminal: JSON lines). */
  stderr?: boolean;
  /** For tests: write to this stream instead. */
  stream?: DestinationStream;
}

export function createLogger(opts: LogOptions = {}): Logger {
  const level = opts.level ?? process.env.AXON_LOG_LEVEL ?? 'info';
  const base = { level, redact: { paths: REDACT_PATHS, censor: '[redacted]' } };
  if (opts.stream) return pino(base, opts.stream);
  const targets: pino.StreamEntry[] = [];
  if (opts.file) {
    mkdirSync(dirname(opts.file), { recursive: true });
    targets.push({
      level: level as pino.Level,
      stream: pino.destination({ dest: opts.file, sync: false, mkdir: true }),
    });
  }
  if (opts.stderr ?? !opts.file) targets.push({ level: level as pino.Level, stream: pino.destination(2) });
  return pino(base, pino.multistream(targets));
}

/** A logger that drops everything: for library defaults, never for the app. */
export const silentLogger: Logger = pino({ level: 'silent' });
