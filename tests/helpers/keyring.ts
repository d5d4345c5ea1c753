// Shell commands run against a real Secret Service: a fresh gnome-keyring in a private D-Bus
// session, its home under a test directory (never a user's keyring).
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';

/** Run `commands` (bash, `set -e`) in a private D-Bus session with an unlocked keyring homed in `dir`/home. */
export function inKeyringSession(dir: string, commands: string[], timeoutMs: number): SpawnSyncReturns<string> {
  const script = [
    'set -e',
    `export HOME="${dir}/home" XDG_DATA_HOME="${dir}/home/.local/share"`,
    'mkdir -p "$XDG_DATA_HOME"',
    'eval "$(echo -n test-password | gnome-keyring-daemon --unlock --components=secrets)"',
    ...commands,
  ].join('\n');
  return spawnSync('dbus-run-session', ['--', 'bash', '-c', script], { encoding: 'utf8', timeout: timeoutMs });
}

/** The lines of `stdout` that are JSON objects, parsed. */
export function jsonLines<T = ReturnType<typeof JSON.parse>>(stdout: string): T[] {
  return stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as T);
}
