// Runs in: Node. One node per data dir: a pid file (`node.pid`) in the data dir, ignored when the
// process that wrote it is gone (e.g. after a crash or SIGKILL). Taken by AxonNode.start (so by
// `axon sell`/`buy`, `axon serve`, the Electron app alike) and checked early by startHost.
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const LOCK_FILE = 'node.pid';

export class DataDirLockedError extends Error {
  override name = 'DataDirLockedError';
  constructor(
    readonly dataDir: string,
    /** The process holding the data dir (this process's own pid when it is held in this process). */
    readonly pid: number,
  ) {
    super(
      pid === process.pid
        ? `an axon node in this process already runs on the data dir ${dataDir}: stop it first, or use another data dir`
        : `another axon node (process ${pid}) is running on the data dir ${dataDir}: stop it, or give this one its own --data-dir`,
    );
  }
}

/** Data dirs locked by this process (a second node in the same process must be refused too). */
const heldHere = new Set<string>();

function alive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: it exists but belongs to another user
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The pid of the live process holding this data dir, or null when it is free. */
export function dataDirHolder(root: string): number | null {
  const dir = resolve(root);
  if (heldHere.has(dir)) return process.pid;
  const file = join(dir, LOCK_FILE);
  if (!existsSync(file)) return null;
  let pid: number;
  try {
    pid = Number(readFileSync(file, 'utf8').trim());
  } catch {
    return null;
  }
  // our own pid in the file but not held here: left by an earlier node of this process that did not release
  if (pid === process.pid) return null;
  return alive(pid) ? pid : null;
}

/** Throws DataDirLockedError when another node holds the data dir. */
export function assertDataDirFree(root: string): void {
  const pid = dataDirHolder(root);
  if (pid !== null) throw new DataDirLockedError(resolve(root), pid);
}

/** Lock the data dir for this process; returns the release (idempotent). */
export function lockDataDir(root: string): () => void {
  const dir = resolve(root);
  assertDataDirFree(dir);
  const file = join(dir, LOCK_FILE);
  // O_EXCL: of two processes starting at once, one wins; a stale file (holder gone) is replaced
  for (let attempt = 0; ; attempt++) {
    try {
      writeFileSync(file, String(process.pid), { flag: 'wx' });
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      assertDataDirFree(dir);
      if (attempt > 0) throw e;
      rmSync(file, { force: true });
    }
  }
  heldHere.add(dir);
  let released = false;
  return () => {
    if (released) return;
    released = true;
    heldHere.delete(dir);
    try {
      if (Number(readFileSync(file, 'utf8').trim()) === process.pid) rmSync(file, { force: true });
    } catch {
      /* already gone */
    }
  };
}
