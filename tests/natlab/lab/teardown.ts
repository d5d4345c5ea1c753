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

function allNamespaces(): string[] {
  return runSyncQuiet('ip', ['netns', 'list'])
    .split('\n')
    .map((l) => l.trim().split(/\s+/)[0] ?? '')
    .filter(Boolean);
}

export function labNamespaces(name: string): string[] {
  return allNamespaces().filter((ns) => ns.startsWith(`${name}-`));
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

/** When `pid` started (clock ticks since boot, /proc/PID/stat field 22), or '' if unknown. */
function startTime(pid: number): string {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? '';
  } catch {
    return '';
  }
}

/** A lock file's owner: "PID STARTTIME" (older files: "PID"). */
interface Owner {
  pid: number;
  start: string;
}

function readOwner(file: string): Owner | null {
  try {
    const [pid, start] = readFileSync(file, 'utf8').trim().split(/\s+/);
    return Number(pid) > 0 ? { pid: Number(pid), start: start ?? '' } : null;
  } catch {
    return null;
  }
}

/** The owner still runs — the same process, not a later one that was given its pid. */
function ownerAlive(o: Owner): boolean {
  return pidAlive(o.pid) && (!o.start || startTime(o.pid) === o.start);
}

/**
 * Claims lab name `name` for this process. Throws if a live process holds it; otherwise removes
 * the leftovers (namespaces `<name>-…` and their processes, its files) of a dead holder, and
 * those of every other lab whose owner is gone (sweepStaleLabs).
 */
export function claimLabName(name: string): void {
  mkdirSync(LOCK_DIR, { recursive: true });
  const lockFile = join(LOCK_DIR, `${name}.pid`);
  const holder = readOwner(lockFile);
  if (holder && holder.pid !== process.pid && ownerAlive(holder)) {
    throw new Error(`NAT lab name "${name}" is in use by live process ${holder.pid}; choose another name`);
  }
  if (holder?.pid === process.pid && liveLabs.has(name)) {
    throw new Error(`NAT lab name "${name}" is already in use in this process; destroy it first or pick another`);
  }
  for (const ns of labNamespaces(name)) deleteNamespaceSync(ns);
  rmSync(labTmpDir(name), { recursive: true, force: true });
  writeFileSync(lockFile, `${process.pid} ${startTime(process.pid)}`);
  sweepStaleLabs();
}

/**
 * Removes what crashed NAT-lab runs left behind, whatever their names: the namespaces of every
 * lab whose recorded owner process is gone (killing the processes inside them, which takes
 * their nft rules and conntrack state along), their scratch directories and lock files, scratch
 * directories no live lab owns, and availability-probe namespaces of dead processes. Labs of live
 * processes (another test run on the same machine) are left alone. Returns what it removed.
 */
export function sweepStaleLabs(): string[] {
  const removed: string[] = [];
  mkdirSync(LOCK_DIR, { recursive: true });
  const live = new Set<string>();
  for (const file of readdirSync(LOCK_DIR)) {
    if (!file.endsWith('.pid')) continue;
    const name = file.slice(0, -'.pid'.length);
    const owner = readOwner(join(LOCK_DIR, file));
    if (owner && ownerAlive(owner)) {
      live.add(name);
      continue;
    }
    for (const ns of labNamespaces(name)) {
      deleteNamespaceSync(ns);
      removed.push(`namespace ${ns}`);
    }
    rmSync(join(LOCK_DIR, file), { force: true });
    removed.push(`lock ${name}`);
  }
  const prefix = 'axon-natlab-';
  for (const entry of readdirSync(tmpdir())) {
    if (!entry.startsWith(prefix) || live.has(entry.slice(prefix.length))) continue;
    rmSync(join(tmpdir(), entry), { recursive: true, force: true });
    removed.push(`directory ${join(tmpdir(), entry)}`);
  }
  for (const ns of allNamespaces()) {
    const probe = /^natlab-(?:probe|preflight)-(\d+)$/.exec(ns);
    if (probe && !pidAlive(Number(probe[1]))) {
      deleteNamespaceSync(ns);
      removed.push(`namespace ${ns}`);
    }
  }
  return removed;
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
