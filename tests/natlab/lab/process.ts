// Runs in: Node (test harness). A process running inside a lab namespace (`ip netns exec` execs
// the command itself, so the child's pid is the command's pid). stdout is split into lines and
// kept, so any number of readers can wait for lines or JSON lines without racing each other.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

export interface ProcessExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface SpawnOptions {
  /** Extra environment variables (added to the test process's environment). */
  env?: Record<string, string>;
  cwd?: string;
  /** Written to stdin, which is then left open (close it with `proc.stdin.end()`). */
  input?: string;
  /** Label used in error messages; defaults to the command's basename. */
  label?: string;
  /** Copy each stdout/stderr line to the test's stderr, prefixed with the label (debugging). */
  echo?: boolean;
}

const MAX_STDERR = 64 * 1024;

export class LabProcess {
  readonly child: ChildProcess;
  readonly label: string;
  /** Every stdout line so far, in order. */
  readonly stdoutLines: string[] = [];
  private stderrBuf = '';
  private exitInfo: ProcessExit | null = null;
  private readonly waiters = new Set<() => void>();
  /** Resolves when the process has exited (never rejects). */
  readonly exited: Promise<ProcessExit>;

  constructor(ns: string, argv: string[], env: NodeJS.ProcessEnv, opts: SpawnOptions) {
    const [cmd, ...args] = argv;
    if (!cmd) throw new Error('LabProcess: empty command');
    this.label = opts.label ?? `${ns}:${cmd.split('/').pop()}`;
    this.child = spawn('ip', ['netns', 'exec', ns, cmd, ...args], {
      env,
      cwd: opts.cwd,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code, signal) => {
        this.exitInfo = { code, signal };
        this.wake();
        resolve(this.exitInfo);
      });
      this.child.once('error', (err) => {
        this.stderrBuf += `spawn error: ${err.message}\n`;
        this.exitInfo = { code: -1, signal: null };
        this.wake();
        resolve(this.exitInfo);
      });
    });
    createInterface({ input: this.child.stdout! }).on('line', (line) => {
      this.stdoutLines.push(line);
      if (opts.echo) process.stderr.write(`[${this.label}] ${line}\n`);
      this.wake();
    });
    this.child.stderr!.on('data', (chunk: Buffer) => {
      if (opts.echo) process.stderr.write(`[${this.label}!] ${chunk.toString()}`);
      this.stderrBuf = (this.stderrBuf + chunk.toString()).slice(-MAX_STDERR);
    });
    if (opts.input !== undefined) this.child.stdin!.write(opts.input);
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  get stdin(): NodeJS.WritableStream {
    return this.child.stdin!;
  }

  /** The last 64 KiB of stderr. */
  get stderr(): string {
    return this.stderrBuf;
  }

  /** null while running. */
  get exit(): ProcessExit | null {
    return this.exitInfo;
  }

  /** Writes one line (plus '\n') to stdin, e.g. a JSON command. */
  send(line: string | object): void {
    this.child.stdin!.write((typeof line === 'string' ? line : JSON.stringify(line)) + '\n');
  }

  /** stdout lines from the first one on; ends when the process exits. Each call starts over. */
  async *lines(): AsyncGenerator<string> {
    let i = 0;
    for (;;) {
      while (i < this.stdoutLines.length) yield this.stdoutLines[i++]!;
      if (this.exitInfo) return;
      await new Promise<void>((r) => this.waiters.add(r));
    }
  }

  /** stdout lines that parse as JSON objects, from the first one on (other lines are skipped). */
  async *jsonLines<T = Record<string, unknown>>(): AsyncGenerator<T> {
    for await (const line of this.lines()) {
      const obj = parseJsonLine(line);
      if (obj) yield obj as T;
    }
  }

  /** All JSON lines seen so far. */
  jsonSoFar<T = Record<string, unknown>>(): T[] {
    return this.stdoutLines.map(parseJsonLine).filter((o): o is Record<string, unknown> => o !== null) as T[];
  }

  /**
   * Resolves with the first stdout line (from the start, not only new ones) matching `match`;
   * rejects when the process exits first or after `timeoutMs`, quoting its stderr.
   */
  waitForLine(match: RegExp | ((line: string) => boolean), timeoutMs = 10_000): Promise<string> {
    const test = typeof match === 'function' ? match : (l: string) => match.test(l);
    return this.waitFor((line) => (test(line) ? line : undefined), timeoutMs, String(match));
  }

  /** Like waitForLine for JSON lines: the first JSON object for which `match` returns true. */
  waitForJson<T = Record<string, unknown>>(match: (obj: T) => boolean, timeoutMs = 10_000): Promise<T> {
    return this.waitFor(
      (line) => {
        const obj = parseJsonLine(line) as T | null;
        return obj !== null && match(obj) ? obj : undefined;
      },
      timeoutMs,
      match.toString(),
    );
  }

  /** Sends `signal`, then SIGKILL after `graceMs`; resolves when the process is gone. */
  async kill(signal: NodeJS.Signals = 'SIGTERM', graceMs = 2_000): Promise<ProcessExit> {
    if (this.exitInfo) return this.exitInfo;
    this.child.kill(signal);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    const exit = await this.exited;
    clearTimeout(timer);
    return exit;
  }

  private waitFor<R>(pick: (line: string) => R | undefined, timeoutMs: number, what: string): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      let i = 0;
      let done = false;
      const finish = (fn: () => void): void => {
        done = true;
        clearTimeout(timer);
        this.waiters.delete(check);
        fn();
      };
      const check = (): void => {
        if (done) return;
        while (i < this.stdoutLines.length) {
          const r = pick(this.stdoutLines[i++]!);
          if (r !== undefined) return finish(() => resolve(r));
        }
        if (this.exitInfo) {
          return finish(() =>
            reject(new Error(`${this.label} exited (${JSON.stringify(this.exitInfo)}) before ${what}${this.tail()}`)),
          );
        }
        this.waiters.add(check);
      };
      const timer = setTimeout(
        () => finish(() => reject(new Error(`${this.label}: no ${what} within ${timeoutMs} ms${this.tail()}`))),
        timeoutMs,
      );
      check();
    });
  }

  private wake(): void {
    const ws = [...this.waiters];
    this.waiters.clear();
    for (const w of ws) w();
  }

  private tail(): string {
    const out = this.stdoutLines.slice(-5).join('\n');
    const err = this.stderrBuf.split('\n').slice(-10).join('\n');
    return `\n--- last stdout ---\n${out}\n--- last stderr ---\n${err}`;
  }
}

function parseJsonLine(line: string): Record<string, unknown> | null {
  const t = line.trim();
  if (!t.startsWith('{')) return null;
  try {
    const v: unknown = JSON.parse(t);
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}
