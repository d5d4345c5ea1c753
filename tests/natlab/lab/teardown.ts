// Runs in: Node (test harness, as root). Teardown of lab namespaces: normal (async), at process
// exit / on signals (sync), and of leftovers from a crashed earlier run with the same name.
// Everything a lab creates lives inside namespaces named `<name>-…` (links, addresses, routes,
// nft rules, conntrack state): killing the processes in them and deleting them removes it all.
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runSyncQuiet } from './exec';

/** Where a live lab records its owner pid, so a second run with the same name is refused. */
const LOCK_DIR = '/run/axon-natlab';

/** The lab's scratch directory (fixed per name, so a crashed run's is found and removed). */
export function labTmpDir(name: string): string {
  return join(tmpdir(), `axon-natlab-${name}`);
}

export function labNamespaces(name: string): string[] {
  const out = runSyncQuiet('ip', ['netns', 'list']);
  return out
    .split('\n')
    .map((l) => l.trim().split(/\s+/)[0] ?? '')
    .filter((ns) => ns.startsWith(`${name}-`));
}

/** Kills every process inside `ns` (SIGKILL) and deletes it. Sync; never throws. */
export function deleteNamespaceSync(ns: string): void {
  for (let round = 0; round < 3; round++) {
    const pids = runSyncQuiet('ip', ['netns', 'pids', ns])
      .split('\n')
      .map((p) => Number(p.trim()))
      .filter((p) => Number.isInteger(p) && p > 1 && p !== process.pid);
    if (pids.length === 0) break;
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
  }
  runSyncQuiet('ip', ['netns', 'delete', ns]);
}

/** Whether `pid` is a running process (a zombie — killed, not yet reaped — counts as dead). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/**
 * Claims lab name `name` for this process. Throws if a live process holds it; otherwise removes
 * the leftovers (namespaces `<name>-…` and their processes) of a dead holder.
 */
export function claimLabName(name: string): void {
  mkdirSync(LOCK_DIR, { recursive: true });
  const lockFile = join(LOCK_DIR, `${name}.pid`);
  let holder = 0;
  try {
    holder = Number(readFileSync(lockFile, 'utf8').trim());
  } catch {
    /* no lock */
  }
  if (holder && holder !== process.pid && pidAlive(holder)) {
    throw new Error(`NAT lab name "${name}" is in use by live process ${holder}; choose another name`);
  }
  if (holder === process.pid && liveLabs.has(name)) {
    throw new Error(`NAT lab name "${name}" is already in use in this process; destroy it first or pick another`);
  }
  for (const ns of labNamespaces(name)) deleteNamespaceSync(ns);
  rmSync(labTmpDir(name), { recursive: true, force: true });
  writeFileSync(lockFile, String(process.pid));
  sweepDeadLabs();
}

/** Removes the namespaces of every lab (any name) whose recorded owner process is gone. */
function sweepDeadLabs(): void {
  for (const file of readdirSync(LOCK_DIR)) {
    if (!file.endsWith('.pid')) continue;
    const other = file.slice(0, -'.pid'.length);
    let pid: number;
    try {
      pid = Number(readFileSync(join(LOCK_DIR, file), 'utf8').trim());
    } catch {
      continue;
    }
    if (pid && pidAlive(pid)) continue;
    for (const ns of labNamespaces(other)) deleteNamespaceSync(ns);
    rmSync(labTmpDir(other), { recursive: true, force: true });
    rmSync(join(LOCK_DIR, file), { force: true });
  }
}

export function releaseLabName(name: string): void {
  rmSync(join(LOCK_DIR, `${name}.pid`), { force: true });
}

/** Sync destroy callbacks of live labs, run on exit and on fatal signals. */
const liveLabs = new Map<string, () => void>();
let hooksInstalled = false;

export function registerLiveLab(name: string, destroySync: () => void): void {
  liveLabs.set(name, destroySync);
  installHooks();
}

export function unregisterLiveLab(name: string): void {
  liveLabs.delete(name);
}

function destroyAllSync(): void {
  for (const [name, destroy] of [...liveLabs]) {
    liveLabs.delete(name);
    try {
      destroy();
    } catch {
      /* best effort at exit */
    }
  }
}

function installHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  // 'exit' also runs after an uncaught exception or unhandled rejection ends the process.
  process.on('exit', destroyAllSync);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const onSignal = (): void => {
      destroyAllSync();
      process.off(sig, onSignal);
      // If nobody else handles the signal, re-raise it so the process still ends as asked.
      if (process.listenerCount(sig) === 0) process.kill(process.pid, sig);
    };
    process.on(sig, onSignal);
  }
}
