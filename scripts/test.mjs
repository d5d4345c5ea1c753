#!/usr/bin/env node
// `npm test` and `npm run test:*`: before vitest runs, make sure the system has what the selected
// suites need (the list is scripts/system-deps.mjs). Missing Debian packages are installed where
// that is possible (root, Debian/Ubuntu, apt-get); otherwise it stops at once with one message
// naming the packages and the command that installs them. Then runs `vitest run` with the same
// arguments, in this process's place (same output, same exit status).
//
// AXON_SYSTEM_DEPS=check  only check, never install (stops with the message instead).
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runInPlace } from './run-child.mjs';
import { SUITES, findCommand, isMet, requirementsFor, selectedTests } from './system-deps.mjs';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const args = process.argv.slice(2);
const say = (m) => console.log(`[axon test] ${m}`);
const isRoot = process.getuid?.() === 0;

function debianLike() {
  try {
    const osRelease = readFileSync('/etc/os-release', 'utf8');
    const ids = /^ID(?:_LIKE)?=(.*)$/gm;
    let m;
    while ((m = ids.exec(osRelease))) if (/\b(debian|ubuntu)\b/.test(m[1].replace(/"/g, ''))) return true;
  } catch {
    /* no os-release */
  }
  return existsSync('/etc/debian_version');
}

/** Why packages cannot be installed here, or null when they can. */
function cannotInstall() {
  if (process.env.AXON_SYSTEM_DEPS === 'check') return 'AXON_SYSTEM_DEPS=check (check only)';
  if (process.platform !== 'linux') return `this is ${process.platform}, not Debian/Ubuntu`;
  if (!debianLike()) return 'this Linux is not Debian/Ubuntu';
  if (!findCommand('apt-get')) return 'apt-get is not on this machine';
  if (!isRoot) return 'not running as root';
  return null;
}

const where = (req) => `${req.suite}${req.files ? ` (${req.files.map((f) => f.split('/').pop()).join(', ')})` : ''}`;
const envNote = (req) =>
  !req.envPath
    ? ''
    : process.env[req.envPath]
      ? ` (${req.envPath}=${process.env[req.envPath]}: no such file)`
      : ` (or set ${req.envPath})`;
const describe = (req) => `  ${req.debian.padEnd(16)} ${req.command}${envNote(req)} — ${req.why}; for ${where(req)}`;
const packagesOf = (reqs) => [...new Set(reqs.map((r) => r.debian))];
const APT_OPTS = ['-o', 'DPkg::Lock::Timeout=300'];

function stop(lines) {
  const head = 'Cannot run the selected tests on this machine as it is (nothing was run):';
  console.error([head, ...lines].map((l) => `[axon test] ${l}`).join('\n'));
  process.exit(1);
}

function installCommand(pkgs) {
  const sudo = isRoot ? '' : 'sudo ';
  return `${sudo}apt-get update && ${sudo}apt-get install -y --no-install-recommends ${pkgs.join(' ')}`;
}

const selected = selectedTests(args, root);
const problems = [];
if (selected.some((s) => s.suite === 'natlab') && (process.platform !== 'linux' || !isRoot)) {
  const others = Object.keys(SUITES)
    .filter((s) => s !== 'natlab')
    .map((s) => `--project ${s}`)
    .join(' ');
  problems.push(
    `The natlab suite needs ${SUITES.natlab.needs}; this process is ${
      process.platform !== 'linux' ? `on ${process.platform}` : `not root (uid ${process.getuid?.()})`
    }.`,
    process.platform === 'linux'
      ? `  Run the tests as root (sudo npm test), or leave it out: npm test -- ${others}`
      : `  Leave it out: npm test -- ${others}`,
  );
}
let missing = requirementsFor(selected).filter((r) => !isMet(r));
const why = cannotInstall();
if (missing.length && (problems.length || why)) {
  const pkgs = packagesOf(missing);
  problems.push(
    `Missing on this machine (Debian/Ubuntu package, program, what for):`,
    ...missing.map(describe),
    `Not installed automatically: ${why ?? 'see above'}. Install them, then run the tests again:`,
    `  ${installCommand(pkgs)}`,
  );
  if (process.platform !== 'linux')
    problems.push('  (those are Debian/Ubuntu package names; these suites run on Linux)');
}
if (problems.length) stop(problems);

if (missing.length) {
  const missing0 = missing;
  const pkgs = packagesOf(missing);
  say('The selected test suites need programs this machine lacks; installing them (root, apt-get):');
  for (const req of missing) console.log(describe(req));
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  say('apt-get update');
  const upd = spawnSync('apt-get', [...APT_OPTS, 'update'], { stdio: 'inherit', env });
  if (upd.status !== 0)
    say(`apt-get update failed (exit ${upd.status ?? upd.signal}); trying with the package lists there are`);
  say(`apt-get install -y --no-install-recommends ${pkgs.join(' ')}`);
  const inst = spawnSync('apt-get', [...APT_OPTS, 'install', '-y', '--no-install-recommends', ...pkgs], {
    stdio: 'inherit',
    env,
  });
  missing = missing.filter((r) => !isMet(r));
  if (missing.length) {
    const still = missing.map((r) => `${r.command} (${r.debian})`).join(', ');
    stop([
      inst.status !== 0
        ? `apt-get install failed (exit ${inst.status ?? inst.signal}); still missing: ${still}.`
        : `apt-get installed the packages, but still not found: ${still}.`,
      'Fix the error above, or install the packages yourself, then run the tests again:',
      `  ${installCommand(pkgs)}`,
    ]);
  }
  if (inst.status !== 0)
    say(`apt-get reported an error (exit ${inst.status ?? inst.signal}), but every program needed is there`);
  for (const service of new Set(missing0.map((r) => r.service).filter(Boolean))) {
    const active = findCommand('systemctl') && spawnSync('systemctl', ['is-active', '--quiet', service]).status === 0;
    if (active)
      say(
        `note: the package started the ${service} service, which the tests do not use: systemctl disable --now ${service}`,
      );
  }
  say(`installed ${pkgs.join(', ')}; running the tests`);
}

const pinned = join(root, 'node_modules', 'node', 'bin', 'node');
const node = Number(process.versions.node.split('.')[0]) < 22 && existsSync(pinned) ? pinned : process.execPath;
runInPlace(node, [join(root, 'node_modules', 'vitest', 'vitest.mjs'), 'run', ...args], { cwd: root });
