// The `axon` launcher (bin/axon.mjs) as a user, systemd or Docker starts it: under the system
// Node (20 here — the launcher then re-runs itself under the pinned Node 22) and under Node 22.
// Signals sent to the pid that was started must stop the real node; a closed pipe must not print
// a stack trace. Real processes, real signals, real ports.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { afterEach, describe, expect, test } from 'vitest';
import { AXON, NODE, tempDir } from '../helpers/cli';

/** The machine's own Node (20 on this kind of machine), else the pinned one. */
const SYSTEM_NODE = existsSync('/usr/bin/node') ? '/usr/bin/node' : NODE;
const systemMajor = Number(
  spawnSync(SYSTEM_NODE, ['-p', 'process.versions.node'], { encoding: 'utf8' }).stdout.split('.')[0],
);

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/** Whether `pid` is a live process (a zombie counts as gone). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

async function until(what: string, ok: () => boolean | Promise<boolean>, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`still not ${what} after ${ms} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const started: ChildProcess[] = [];
const strays: number[] = [];
afterEach(() => {
  for (const p of started.splice(0)) p.kill('SIGKILL');
  for (const pid of strays.splice(0)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone, as it should be */
    }
  }
});

interface Running {
  launcher: ChildProcess;
  /** The process that serves: the launcher's child under Node 22, or the launcher itself. */
  node: number;
  port: number;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  output: () => string;
}

/** `axon ledger` started the way a service manager would: the system Node, our own pid. */
async function startLedger(): Promise<Running> {
  const port = await freePort();
  const launcher = spawn(SYSTEM_NODE, [AXON, '--data-dir', tempDir(), 'ledger', '--port', String(port)], {
    env: { ...process.env, AXON_KEYSTORE: 'file' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  started.push(launcher);
  let out = '';
  launcher.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  launcher.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    launcher.once('exit', (code, signal) => resolve({ code, signal })),
  );
  await until('serving', () => out.includes('local ledger: JSON-RPC') || launcher.exitCode !== null, 60_000);
  expect(out).toContain('local ledger: JSON-RPC');
  expect(await portOpen(port)).toBe(true);
  const kids = childrenOf(launcher.pid!);
  strays.push(...kids);
  if (systemMajor < 22) expect(kids, 'the launcher re-runs itself under the pinned Node 22').toHaveLength(1);
  return { launcher, node: kids[0] ?? launcher.pid!, port, exited, output: () => out };
}

describe('signals sent to the axon process stop the node', () => {
  test.each(['SIGTERM', 'SIGINT'] as const)('%s: the node stops cleanly and the launcher exits 0', async (sig) => {
    const r = await startLedger();
    r.launcher.kill(sig);
    expect(await r.exited).toEqual({ code: 0, signal: null });
    await until('gone', () => !alive(r.node));
    expect(await portOpen(r.port)).toBe(false);
  });

  test('SIGHUP (not handled by the node): the node dies of it and so does the launcher', async () => {
    const r = await startLedger();
    r.launcher.kill('SIGHUP');
    expect(await r.exited).toEqual({ code: null, signal: 'SIGHUP' });
    await until('gone', () => !alive(r.node));
    expect(await portOpen(r.port)).toBe(false);
  });

  test('SIGKILL of the launcher: its orphaned node notices and stops', async () => {
    const r = await startLedger();
    r.launcher.kill('SIGKILL');
    await r.exited;
    await until('gone', () => !alive(r.node));
    expect(await portOpen(r.port)).toBe(false);
  });
});

test('Ctrl+C in a terminal stops the node once, cleanly (the launcher does not pass it on twice)', async () => {
  // `script` gives the launcher a real terminal; \x03 typed there makes the kernel send SIGINT to
  // the whole foreground process group — the launcher and its Node 22 child.
  const port = await freePort();
  // `exec`: `script` runs the command through $SHELL (or /bin/sh); without exec dash stays as the
  // parent, dies of the same Ctrl+C itself, and `script` reports its 130 instead of axon's exit.
  const cmd = `exec "${SYSTEM_NODE}" "${AXON}" --data-dir "${tempDir()}" ledger --port ${port}`;
  const term = spawn('script', ['-qec', cmd, '/dev/null'], {
    env: { ...process.env, AXON_KEYSTORE: 'file' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  started.push(term);
  let out = '';
  term.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => term.once('exit', (code) => resolve(code)));
  await until('serving', () => out.includes('press Ctrl-C'), 60_000);
  expect(await portOpen(port)).toBe(true);
  term.stdin!.write('\x03');
  expect(await exited, out).toBe(0); // `script -e` passes on the exit status; 130 = died of SIGINT
  expect(await portOpen(port)).toBe(false);
});

describe('a reader that goes away', () => {
  test.each([
    ['the system Node', SYSTEM_NODE],
    ['Node 22', NODE],
  ])('`axon --help | head -1` under %s prints one line and no error', (_, node) => {
    const r = spawnSync('bash', ['-c', `set -o pipefail; "${node}" "${AXON}" --help | head -1`], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(r.stdout).toBe('Usage: axon [options] [command]\n');
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  test('a reader that closed before the first line: still no error, exit 0', () => {
    // `true` exits at once, so every write of the help text fails with EPIPE.
    const r = spawnSync('bash', ['-c', `set -o pipefail; "${NODE}" "${AXON}" --help | true`], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });
});
