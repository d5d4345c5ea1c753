// Runs in: Node (main process, CLI, tests). Structured logging with pino.
// Key material never reaches a log line: known secret fields are redacted, and byte arrays
// are never logged (log addresses and PeerIds, which are public).
//
// Bounds (docs/security.md, "Logs"): each message (level + text) is written at most
// LOG_LINES_PER_SEC times a second; the rest are counted and summed up in one line per second
// ("suppressed K lines: <message>"), so a peer or web page provoking a warning in a loop cannot
// fill the disk. The log file is rotated at LOG_FILE_MAX_BYTES, LOG_FILES_KEPT files in all
// (axon.log, axon.log.1, axon.log.2).
import { pino, type Logger, type DestinationStream } from 'pino';
import { closeSync, fstatSync, mkdirSync, openSync, renameSync, writeSync } from 'node:fs';
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

export const LOG_LINES_PER_SEC = 20;
export const LOG_FILE_MAX_BYTES = 10 * 1024 * 1024;
export const LOG_FILES_KEPT = 3;

export interface LogOptions {
  level?: string;
  /** Path of the one log file in the data directory; omitted = stderr only. */
  file?: string;
  /** Also write to stderr (pretty enough for a terminal: JSON lines). */
  stderr?: boolean;
  /** For tests: write to this stream instead. */
  stream?: DestinationStream;
}

/** Per message and second: the first LOG_LINES_PER_SEC pass, the rest are counted. */
class LineLimiter {
  #window = 0;
  #counts = new Map<string, number>();
  #suppressed = new Map<string, { n: number; level: number; msg: string }>();

  allow(level: number, msg: string, now = Date.now()): boolean {
    const w = Math.floor(now / 1000);
    if (w !== this.#window) {
      this.#window = w;
      this.#counts.clear();
    }
    const key = `${level}\u0000${msg}`;
    const n = (this.#counts.get(key) ?? 0) + 1;
    this.#counts.set(key, n);
    if (n <= LOG_LINES_PER_SEC) return true;
    const s = this.#suppressed.get(key);
    if (s) s.n++;
    else this.#suppressed.set(key, { n: 1, level, msg });
    return false;
  }

  /** Counts of suppressed lines since the last call. */
  take(): { n: number; level: number; msg: string }[] {
    const out = [...this.#suppressed.values()];
    this.#suppressed.clear();
    return out;
  }
}

const flushers = new Set<() => void>();

/**
 * The log file, rotated by size: past `maxBytes` the file becomes file.1 (file.1 → file.2 …,
 * the oldest dropped) and writing goes on in a fresh file. Lines are gathered in memory and
 * written at the next turn of the event loop (or at 64 KiB), always whole, so no line is split
 * between two files; at exit the rest is written synchronously.
 */
export function rotatingFile(file: string, maxBytes = LOG_FILE_MAX_BYTES, keep = LOG_FILES_KEPT): DestinationStream {
  mkdirSync(dirname(file), { recursive: true });
  let fd = openSync(file, 'a', 0o600);
  let size = fstatSync(fd).size;
  let pending: string[] = [];
  let pendingBytes = 0;
  let scheduled = false;
  const rotate = (): void => {
    closeSync(fd);
    for (let i = keep - 1; i >= 1; i--) {
      const from = i === 1 ? file : `${file}.${i - 1}`;
      try {
        renameSync(from, `${file}.${i}`);
      } catch {
        /* not there yet */
      }
    }
    fd = openSync(file, 'a', 0o600);
    size = 0;
  };
  const flush = (): void => {
    scheduled = false;
    if (pending.length === 0) return;
    const lines = pending;
    pending = [];
    pendingBytes = 0;
    let chunk = '';
    let chunkBytes = 0;
    try {
      for (const line of lines) {
        const n = Buffer.byteLength(line);
        if (size > 0 && size + chunkBytes + n > maxBytes) {
          if (chunk) writeSync(fd, chunk);
          chunk = '';
          chunkBytes = 0;
          rotate();
        }
        chunk += line;
        chunkBytes += n;
        if (size === 0 && chunkBytes >= maxBytes) {
          // one batch larger than a whole file: write it and start the next file after it
          writeSync(fd, chunk);
          size = chunkBytes;
          chunk = '';
          chunkBytes = 0;
        }
      }
      if (chunk) writeSync(fd, chunk);
      size += chunkBytes;
    } catch {
      /* disk full or file gone: drop these lines rather than crash the node */
    }
  };
  if (flushers.size === 0) process.once('exit', () => flushers.forEach((f) => f()));
  flushers.add(flush);
  return {
    write(line: string): void {
      pending.push(line);
      pendingBytes += line.length;
      if (pendingBytes >= 64 * 1024) flush();
      else if (!scheduled) {
        scheduled = true;
        setImmediate(flush);
      }
    },
    flushSync: flush,
  } as DestinationStream;
}

export function createLogger(opts: LogOptions = {}): Logger {
  const level = opts.level ?? process.env.AXON_LOG_LEVEL ?? 'info';
  const limiter = new LineLimiter();
  let root: Logger | null = null;
  const base: pino.LoggerOptions = {
    level,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    hooks: {
      logMethod(args, method, lvl) {
        const a = args as unknown[];
        const msg = typeof a[0] === 'string' ? a[0] : typeof a[1] === 'string' ? a[1] : '';
        if (limiter.allow(lvl, msg)) method.apply(this, args);
      },
    },
  };
  const flush = setInterval(() => {
    if (!root) return;
    for (const s of limiter.take()) {
      const label = (root.levels.labels[s.level] ?? 'warn') as pino.Level;
      root[label]({ suppressed: s.n }, `suppressed ${s.n} lines: ${s.msg.slice(0, 200)}`);
    }
  }, 1000);
  flush.unref();
  if (opts.stream) return (root = pino(base, opts.stream));
  const targets: pino.StreamEntry[] = [];
  if (opts.file) targets.push({ level: level as pino.Level, stream: rotatingFile(opts.file) });
  if (opts.stderr ?? !opts.file) targets.push({ level: level as pino.Level, stream: pino.destination(2) });
  return (root = pino(base, pino.multistream(targets)));
}

/** A logger that drops everything: for library defaults, never for the app. */
export const silentLogger: Logger = pino({ level: 'silent' });
