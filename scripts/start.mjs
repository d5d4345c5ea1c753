#!/usr/bin/env node
// `npm start`: the desktop app where it can run, the same UI in a browser where it cannot.
// - Electron needs its binary (node_modules/electron/dist, downloaded by electron's postinstall)
//   and a display (X11/Wayland on Linux; always on macOS and Windows).
// - Otherwise: run `axon serve --ui` (the node headless, UI and API on loopback) and say why.
// Builds out/ first when it is missing or older than the sources. Extra arguments go to the app
// (e.g. `npm start -- --data-dir /tmp/axon-b`).
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { runInPlace } from './run-child.mjs';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const args = process.argv.slice(2);
const say = (m) => console.log(`[axon start] ${m}`);

function electronBinary() {
  const dist = join(root, 'node_modules', 'electron', 'dist');
  const file = join(root, 'node_modules', 'electron', 'path.txt');
  if (!existsSync(file) || !existsSync(dist)) return null;
  const bin = join(dist, readFileSync(file, 'utf8').trim());
  return existsSync(bin) ? bin : null;
}

function hasDisplay() {
  if (process.platform === 'darwin' || process.platform === 'win32') return true;
  return Boolean(process.env.DISPLAY || process.env.WAYLAND_DISPLAY);
}

function newestMtime(dir) {
  let newest = 0;
  if (!existsSync(dir)) return newest;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    newest = Math.max(newest, e.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}

function buildIfNeeded(what) {
  const outputs =
    what === 'electron'
      ? ['out/main/index.js', 'out/preload/index.cjs', 'out/renderer/index.html']
      : ['out/renderer/index.html'];
  const built = outputs.map((o) => join(root, o));
  const oldest = built.every(existsSync) ? Math.min(...built.map((f) => statSync(f).mtimeMs)) : 0;
  const sources = Math.max(
    newestMtime(join(root, 'src-renderer')),
    newestMtime(join(root, 'src-preload')),
    what === 'electron' ? newestMtime(join(root, 'src-main')) : 0,
  );
  if (oldest && oldest >= sources) return;
  say(oldest ? 'sources changed since the last build: building…' : 'building the app (first start)…');
  const r = spawnSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit', shell: process.platform === 'win32' });
  if (r.status !== 0) {
    say('the build failed (see above). Fix it, or run `npm run build` to see the error again.');
    process.exit(r.status ?? 1);
  }
}

/** Runs the app in this process's place: signals reach it, and its exit status is ours. */
function run(cmd, cmdArgs, env = process.env) {
  runInPlace(cmd, cmdArgs, { cwd: root, env });
}

const electron = electronBinary();
const display = hasDisplay();
if (electron && display) {
  buildIfNeeded('electron');
  // better-sqlite3 for Electron's ABI, beside the Node 22 build the tests and CLI use.
  const native = spawnSync(process.execPath, [join(root, 'scripts', 'rebuild-electron.mjs')], {
    cwd: root,
    stdio: 'inherit',
  });
  if (native.status !== 0) {
    say('could not build better-sqlite3 for Electron (see above); the app cannot open its database.');
    process.exit(1);
  }
  say('starting the desktop app');
  const env = { ...process.env };
  delete env.ELECTRON_RUN_AS_NODE;
  run(electron, [root, ...args], env);
} else {
  const why = !electron
    ? 'the Electron binary is not installed (node_modules/electron/dist is missing — its download needs internet access; run `node node_modules/electron/install.js` on a machine with network access)'
    : 'there is no display ($DISPLAY and $WAYLAND_DISPLAY are unset)';
  say(`running headless because ${why}.`);
  say('Starting `axon serve --ui`: open the URL it prints in a browser on this machine.');
  buildIfNeeded('renderer');
  const cli = join(root, 'bin', 'axon.mjs');
  const help = spawnSync(process.execPath, [cli, '--help'], { cwd: root, encoding: 'utf8' });
  if (/^\s+serve\b/m.test(help.stdout ?? '')) {
    // the user's flags after the subcommand: global ones (--data-dir) and serve's (--no-demo, --port)
    run(process.execPath, [cli, 'serve', '--ui', ...args]);
  } else {
    // This CLI has no `serve` subcommand yet: start the same thing directly.
    const pinned = join(root, 'node_modules', 'node', 'bin', 'node');
    const node = existsSync(pinned) ? pinned : process.execPath;
    const dataDir = args.includes('--data-dir') ? args[args.indexOf('--data-dir') + 1] : undefined;
    const serve = pathToFileURL(join(root, 'src-main', 'cli', 'commands', 'serve.ts')).href;
    const code = `const m = await import(${JSON.stringify(serve)}); await m.serveCommand({ ui: true, dataDir: ${JSON.stringify(dataDir)} }); process.exit(0);`;
    run(node, ['--import', 'tsx', '--input-type=module', '-e', code]);
  }
}
