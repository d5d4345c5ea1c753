// What the test suites need from the system beyond node_modules — one list, read by
// scripts/test.mjs before vitest runs (`npm test`, `npm run test:*`). To add a requirement, add
// an entry to REQUIREMENTS: which suite (and, if only some of its files, which), the command that
// proves it is there, the Debian/Ubuntu package that provides it, and why the tests need it.
import { accessSync, constants, existsSync, readdirSync } from 'node:fs';
import { delimiter, join, relative, resolve } from 'node:path';

/** The vitest projects of `npm test` (vitest.config.ts) and where their files live. */
export const SUITES = {
  unit: { dir: 'tests/unit' },
  integration: { dir: 'tests/integration' },
  natlab: {
    dir: 'tests/natlab',
    config: 'vitest.natlab.config.ts',
    needs: 'root on Linux (network namespaces, nftables)',
  },
  e2e: { dir: 'tests/e2e', config: 'vitest.e2e.config.ts' },
};

/**
 * @typedef {object} Requirement
 * @property {keyof typeof SUITES} suite
 * @property {string[]} [files]  only these files of the suite need it (paths from the repo root)
 * @property {string} command    found on PATH (or in /usr/sbin, /sbin) when the requirement is met
 * @property {string} [envPath]  an environment variable that may name the program instead
 * @property {string} debian     the Debian/Ubuntu package that provides `command`
 * @property {string} why
 * @property {string} [service]  a system service the package starts on install that the tests do not need
 */

/** @type {Requirement[]} */
export const REQUIREMENTS = [
  {
    suite: 'integration',
    files: ['tests/integration/keychain.test.ts'],
    command: 'dbus-run-session',
    debian: 'dbus',
    why: 'a private D-Bus session for the real Secret Service',
  },
  {
    suite: 'integration',
    files: ['tests/integration/keychain.test.ts'],
    command: 'gnome-keyring-daemon',
    debian: 'gnome-keyring',
    why: 'the Secret Service (OS keychain) that holds the key',
  },
  {
    suite: 'integration',
    files: ['tests/integration/keychain.test.ts'],
    command: 'secret-tool',
    debian: 'libsecret-tools',
    why: 'looks the key up in the Secret Service',
  },
  {
    suite: 'integration',
    files: ['tests/integration/cli-launcher.test.ts'],
    command: 'script',
    debian: 'bsdutils',
    why: 'a real terminal for the Ctrl+C test of the axon launcher',
  },
  {
    suite: 'integration',
    files: ['tests/integration/stream-mqtt.test.ts'],
    command: 'mosquitto',
    debian: 'mosquitto',
    why: 'a real MQTT broker for the MQTT source and sink',
    service: 'mosquitto',
  },
  {
    suite: 'integration',
    files: ['tests/integration/stream-mqtt.test.ts'],
    command: 'mosquitto_passwd',
    debian: 'mosquitto',
    why: "the broker's password file (a broker that refuses wrong credentials)",
  },
  { suite: 'natlab', command: 'ip', debian: 'iproute2', why: 'network namespaces and veth links' },
  { suite: 'natlab', command: 'ss', debian: 'iproute2', why: 'waits for servers to listen' },
  { suite: 'natlab', command: 'nft', debian: 'nftables', why: "the NAT routers' rules" },
  { suite: 'natlab', command: 'turnserver', debian: 'coturn', why: 'the STUN server', service: 'coturn' },
  { suite: 'natlab', command: 'turnutils_natdiscovery', debian: 'coturn', why: 'classifies the NAT routers' },
  {
    suite: 'natlab',
    files: ['tests/natlab/portmap.test.ts'],
    command: 'miniupnpd',
    debian: 'miniupnpd-nftables',
    why: 'the UPnP-IGD / NAT-PMP daemon of the port-mapping router',
    service: 'miniupnpd',
  },
  {
    suite: 'natlab',
    command: 'python3',
    debian: 'python3',
    why: 'delayed links on kernels without netem (tests/natlab/lab/fixtures/tap-wire.py)',
  },
  {
    suite: 'e2e',
    command: 'chromium',
    envPath: 'CHROMIUM_PATH',
    debian: 'chromium',
    why: 'the headless browser that drives the UI',
  },
];

function executable(file) {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Where `command` is (PATH, then /usr/sbin and /sbin, which a non-root PATH may lack), or null. */
export function findCommand(command, env = process.env) {
  const dirs = [...(env.PATH ?? '').split(delimiter), '/usr/local/sbin', '/usr/sbin', '/sbin'].filter(Boolean);
  const exts = process.platform === 'win32' ? (env.PATHEXT ?? '.EXE;.CMD').split(';') : [''];
  for (const dir of dirs)
    for (const ext of exts) if (executable(join(dir, command + ext))) return join(dir, command + ext);
  return null;
}

/** Whether a requirement is met on this machine. */
export function isMet(req, env = process.env) {
  if (req.envPath && env[req.envPath]) return existsSync(env[req.envPath]);
  return findCommand(req.command, env) !== null;
}

function testFiles(root, dir) {
  const out = [];
  const walk = (d) => {
    let entries;
    try {
      entries = readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.test.ts')) out.push(relative(root, p).split('\\').join('/'));
    }
  };
  walk(join(root, dir));
  return out;
}

/** vitest options that take a value as the next argument (`--opt value`). */
const VALUE_OPTIONS = new Set([
  '-c',
  '--config',
  '-r',
  '--root',
  '--dir',
  '--project',
  '-t',
  '--testNamePattern',
  '--reporter',
  '--outputFile',
  '--shard',
  '--pool',
  '--environment',
  '--maxWorkers',
  '--minWorkers',
  '--testTimeout',
  '--hookTimeout',
  '--bail',
  '--retry',
  '--exclude',
  '--mode',
  '--maxConcurrency',
]);

/**
 * Which suites and files a vitest command line (the arguments after `vitest run`) will run.
 * Understands file filters, `--project` and `--config`; anything it cannot tell narrows nothing.
 * @returns {{ suite: string, files: string[] }[]}
 */
export function selectedTests(args, root) {
  const filters = [];
  const projects = [];
  let config = null;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--') continue;
    if (a.startsWith('-')) {
      const eq = a.indexOf('=');
      const name = eq > 0 ? a.slice(0, eq) : a;
      const value = eq > 0 ? a.slice(eq + 1) : VALUE_OPTIONS.has(name) ? args[++i] : undefined;
      if (name === '--project' && value) projects.push(value);
      if ((name === '--config' || name === '-c') && value) config = value;
      continue;
    }
    filters.push(a.replace(/:\d+(-\d+)?$/, '')); // file:line
  }
  let suites = Object.keys(SUITES);
  if (config) {
    const base = config.split(/[\\/]/).pop();
    const only = suites.find((s) => SUITES[s].config === base);
    if (only) suites = [only];
  }
  if (projects.length) {
    const want = projects.filter((p) => !p.startsWith('!')).map(globRe);
    const not = projects.filter((p) => p.startsWith('!')).map((p) => globRe(p.slice(1)));
    suites = suites.filter((s) => (!want.length || want.some((re) => re.test(s))) && !not.some((re) => re.test(s)));
  }
  const all = suites.map((suite) => ({ suite, files: testFiles(root, SUITES[suite].dir) }));
  const matches = (file, f) =>
    file.includes(f) || resolve(root, file).includes(f) || resolve(f) === resolve(root, file);
  const matching = all.map(({ suite, files }) => ({
    suite,
    files: files.filter((file) => filters.some((f) => matches(file, f))),
  }));
  // Filters that match no file (or a value this parser took for a filter): vitest decides; check everything.
  if (!filters.length || matching.every((s) => s.files.length === 0)) return all;
  return matching.filter((s) => s.files.length > 0);
}

function globRe(p) {
  return new RegExp(
    `^${p
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
  );
}

/** The requirements of the selected tests. */
export function requirementsFor(selected) {
  return REQUIREMENTS.filter((req) =>
    selected.some(
      ({ suite, files }) => suite === req.suite && (!req.files || req.files.some((f) => files.includes(f))),
    ),
  );
}
