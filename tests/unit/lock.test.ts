// One node per data dir (src-main/core/lock.ts): a stale pid file is replaced, a second lock in the
// same process is refused, a release frees the dir.
import { afterEach, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataDirLockedError, LOCK_FILE, dataDirHolder, lockDataDir } from '../../src-main/core/lock';

describe('data-dir lock', () => {
  const dirs: string[] = [];
  const dir = (): string => {
    const d = mkdtempSync(join(tmpdir(), 'axon-lock-'));
    dirs.push(d);
    return d;
  };
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('replaces the pid file of a process that is gone', () => {
    const d = dir();
    const gone = spawnSync(process.execPath, ['-e', '0']).pid!;
    writeFileSync(join(d, LOCK_FILE), String(gone));
    expect(dataDirHolder(d)).toBeNull();
    const release = lockDataDir(d);
    expect(readFileSync(join(d, LOCK_FILE), 'utf8')).toBe(String(process.pid));
    release();
    expect(existsSync(join(d, LOCK_FILE))).toBe(false);
  });

  it('refuses a second node on the same data dir in this process, until released', () => {
    const d = dir();
    const release = lockDataDir(d);
    expect(() => lockDataDir(d)).toThrow(DataDirLockedError);
    expect(() => lockDataDir(d)).toThrow(/an axon node in this process already runs on the data dir/);
    expect(dataDirHolder(d)).toBe(process.pid);
    release();
    expect(dataDirHolder(d)).toBeNull();
    lockDataDir(d)();
  });
});
