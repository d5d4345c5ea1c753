// Runs in: Node (the `axon` command). Spinners for whatever waits on the ledger or the network
// (ora, on stderr). Animated only when both stdout and stderr are terminals and --json is off;
// otherwise the outcome lines (✔ / ✖ / ℹ) are printed plainly on stderr, and with --json nothing.
import ora, { type Ora } from 'ora';
import { safeText } from './format';

export interface ProgressOptions {
  json?: boolean;
  /** Force on/off (tests); default: TTY detection. */
  enabled?: boolean;
}

export interface Progress {
  /** Start (or move) the spinner to a new waiting step. */
  step(text: string): void;
  succeed(text?: string): void;
  fail(text?: string): void;
  info(text: string): void;
  /** Print a line without breaking the spinner. */
  log(line: string, stream?: NodeJS.WriteStream): void;
  stop(): void;
}

export function animated(o: ProgressOptions = {}): boolean {
  if (o.enabled !== undefined) return o.enabled;
  // A terminal of 0 columns (a pty without a window size) makes ora's line count infinite: no spinner.
  return (
    !o.json && !!process.stdout.isTTY && !!process.stderr.isTTY && (process.stderr.columns ?? 0) > 0 && !process.env.CI
  );
}

export function progress(o: ProgressOptions = {}): Progress {
  const quiet = !!o.json;
  const live = animated(o);
  let spinner: Ora | null = null;
  let current = '';
  const plain = (symbol: string, text: string): void => {
    // status lines may quote a stranger (a seller's reason): no escape sequences reach the terminal
    if (!quiet && text) process.stderr.write(`${symbol} ${safeText(text)}\n`);
  };
  return {
    step(raw) {
      const text = safeText(raw);
      current = text;
      if (!live) return;
      if (spinner) spinner.text = text;
      else spinner = ora({ text, stream: process.stderr, discardStdin: false }).start();
    },
    succeed(text) {
      const t = text === undefined ? current : safeText(text);
      if (spinner) spinner.succeed(t);
      else plain('✔', t);
      spinner = null;
    },
    fail(text) {
      const t = text === undefined ? current : safeText(text);
      if (spinner) spinner.fail(t);
      else plain('✖', t);
      spinner = null;
    },
    info(raw) {
      const text = safeText(raw);
      if (spinner) {
        spinner.info(text);
        spinner = null;
      } else plain('ℹ', text);
    },
    log(line, stream = process.stdout) {
      if (spinner?.isSpinning) {
        spinner.clear();
        stream.write(line + '\n');
        spinner.render();
      } else stream.write(line + '\n');
    },
    stop() {
      spinner?.stop();
      spinner = null;
    },
  };
}
