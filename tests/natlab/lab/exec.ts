// Runs in: Node (test harness, as root). Small wrappers around child_process for the NAT lab:
// run a command to completion (async or sync), run a shell script inside a namespace.
import { execFile, execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Repository root, found from this file's location (CI clones the repo elsewhere). */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

/** The project's Node 22 (node_modules/.bin/node), else the running Node. */
export const NODE_BIN = (() => {
  const pinned = join(REPO_ROOT, 'node_modules/.bin/node');
  return existsSync(pinned) ? pinned : process.execPath;
})();

/** tsx's CLI entry; run as `NODE_BIN TSX_CLI file.ts` so the shebang's `env node` (Node 20) is bypassed. */
export const TSX_CLI = join(REPO_ROOT, 'node_modules/tsx/dist/cli.mjs');

/** PATH with the repo's node_modules/.bin first, so `node` inside a namespace is Node 22. */
export function labPath(): string {
  return [join(REPO_ROOT, 'node_modules/.bin'), process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin'].join(':');
}

export class CommandError extends Error {
  constructor(
    readonly command: string,
    readonly code: number | string | null,
    readonly stderr: string,
  ) {
    super(`\`${command}\` failed (${code}): ${stderr.trim() || '(no stderr)'}`);
    this.name = 'CommandError';
  }
}

/** Runs a command to completion; resolves with stdout, rejects with CommandError (stderr included). */
export function run(cmd: string, args: string[], opts: { input?: string; timeoutMs?: number } = {}): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    const child = execFile(
      cmd,
      args,
      {
        timeout: opts.timeoutMs ?? 30_000,
        maxBuffer: 16 * 1024 * 1024,
        env: { ...process.env, PATH: labPath() },
      },
      (err, stdout, stderr) => {
        if (err) {
          const code = (err as NodeJS.ErrnoException & { code?: number | string }).code ?? null;
          reject(new CommandError([cmd, ...args].join(' '), code, String(stderr) || err.message));
        } else resolvePromise(String(stdout));
      },
    );
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });
}

/** Synchronous variant for exit handlers; never throws, returns stdout or '' on failure. */
export function runSyncQuiet(cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, {
      stdio: ['ignore', 'pipe', 'ignore'],
      timeout: 10_000,
    }).toString();
  } catch {
    return '';
  }
}

/** Runs a `sh -e` script inside namespace `ns`; each line is one command. */
export function nsScript(ns: string, lines: string[]): Promise<string> {
  return run('ip', ['netns', 'exec', ns, 'sh', '-ec', lines.join('\n')]);
}

/** Runs one command inside namespace `ns`. */
export function nsRun(ns: string, cmd: string, args: string[], opts: { input?: string } = {}): Promise<string> {
  return run('ip', ['netns', 'exec', ns, cmd, ...args], opts);
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
