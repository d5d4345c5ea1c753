// Runs another program in this process's place, as far as Node allows (it has no exec): stdio is
// shared, signals sent to this process reach the child, and this process ends the way the child
// ended — the same exit code, or killed by the same signal. Used by bin/axon.mjs (re-run under
// the pinned Node 22), scripts/test.mjs (vitest) and scripts/start.mjs.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { constants } from 'node:os';

/** Signals a user, a service manager or a terminal sends to stop a program. */
const FORWARDED = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT'];
/** Signals a terminal sends to its whole foreground process group (the child included). */
const FROM_TERMINAL = new Set(['SIGINT', 'SIGQUIT', 'SIGHUP']);

/**
 * Whether this process is in its terminal's foreground process group: then Ctrl+C (SIGINT),
 * Ctrl+\ (SIGQUIT) and a hangup (SIGHUP) already reach the child from the kernel, and forwarding
 * them would deliver them twice (a second Ctrl+C means "exit now" to `axon`).
 */
function inForegroundOfTerminal() {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // after the name: state ppid pgrp session tty_nr tpgid …
    const [pgrp, ttyNr, tpgid] = [Number(f[2]), Number(f[4]), Number(f[5])];
    return ttyNr !== 0 && tpgid === pgrp;
  } catch {
    return Boolean(process.stdin.isTTY); // no /proc (macOS): a terminal is there, assume foreground
  }
}

/**
 * Spawns `cmd args` with inherited stdio and makes this process end as it does. Never returns
 * control: the caller must not do anything else afterwards.
 */
export function runInPlace(cmd, args, opts = {}) {
  const child = spawn(cmd, args, { stdio: 'inherit', ...opts });
  const handlers = new Map();
  for (const sig of FORWARDED) {
    const h = () => {
      if (FROM_TERMINAL.has(sig) && inForegroundOfTerminal()) return;
      try {
        child.kill(sig);
      } catch {
        /* already gone */
      }
    };
    handlers.set(sig, h);
    process.on(sig, h);
  }
  child.once('error', (err) => {
    console.error(`could not start ${cmd}: ${err.message}`);
    process.exit(127);
  });
  child.once('exit', (code, signal) => {
    for (const [sig, h] of handlers) process.off(sig, h);
    if (signal) {
      // Die of the same signal, so a shell or service manager sees what really happened.
      process.kill(process.pid, signal);
      setTimeout(() => process.exit(128 + (constants.signals[signal] ?? 0)), 1_000);
    } else process.exit(code ?? 1);
  });
  return child;
}
