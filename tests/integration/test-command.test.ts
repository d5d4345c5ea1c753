// `npm test` (scripts/test.mjs) checks what the selected suites need from the system before
// vitest runs: a machine that lacks a program and cannot install it gets one message naming the
// Debian packages and the command to install them — no test runs, no wall of failures. The real
// script, run with a PATH that hides the programs, and as an unprivileged user.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { NODE, ROOT } from '../helpers/cli';

const SCRIPT = join(ROOT, 'scripts', 'test.mjs');

/** Runs `npm test -- ARGS` as npm would, with a PATH that has only Node: nothing else is found. */
function npmTest(args: string[], env: Record<string, string> = {}, uid?: number) {
  const base = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith('VITEST') && k !== 'FORCE_COLOR'),
  );
  return spawnSync(NODE, [SCRIPT, ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 120_000,
    env: { ...base, NO_COLOR: '1', PATH: dirname(NODE), AXON_SYSTEM_DEPS: 'check', ...env },
    ...(uid !== undefined ? { uid, gid: uid } : {}),
  });
}

describe('npm test on a machine that lacks what a suite needs', () => {
  test('natlab without coturn: stops at once, names the packages and the install command', () => {
    const r = npmTest(['tests/natlab/lab.test.ts']);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('Cannot run the selected tests');
    expect(r.stderr).toMatch(/coturn +turnserver — the STUN server; for natlab/);
    expect(r.stderr).toMatch(/apt-get install -y --no-install-recommends [a-z0-9 ]*coturn/);
    expect(r.stderr).toContain('AXON_SYSTEM_DEPS=check');
    expect(r.stdout).not.toContain('RUN'); // vitest never started
  });

  test('the keychain test needs gnome-keyring; other integration files need nothing', () => {
    const keychain = npmTest(['tests/integration/keychain.test.ts']);
    expect(keychain.status).toBe(1);
    expect(keychain.stderr).toMatch(/gnome-keyring +gnome-keyring-daemon/);
    expect(keychain.stderr).toMatch(/libsecret-tools +secret-tool/);
    expect(keychain.stderr).not.toContain('coturn');
    const unit = npmTest(['tests/unit/lock.test.ts']);
    expect(unit.stderr).not.toContain('Cannot run');
    expect(unit.stdout).toMatch(/Test Files +1 passed \(1\)/);
    expect(unit.status).toBe(0);
  });

  test('e2e with CHROMIUM_PATH naming no file: says so', () => {
    const r = npmTest(['--config', 'vitest.e2e.config.ts'], { CHROMIUM_PATH: '/nonexistent/chromium' });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('CHROMIUM_PATH=/nonexistent/chromium: no such file');
    expect(r.stderr).toMatch(/--no-install-recommends chromium/);
  });

  test.runIf(process.getuid?.() === 0)('not root: the natlab suite says it needs root, up front', () => {
    const r = npmTest(
      ['--config', 'vitest.natlab.config.ts'],
      { PATH: `${dirname(NODE)}:/usr/sbin:/usr/bin:/sbin:/bin` },
      65534,
    );
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('The natlab suite needs root on Linux');
    expect(r.stderr).toContain('npm test -- --project unit --project integration --project e2e');
    expect(r.stdout).not.toContain('RUN');
  });
});
