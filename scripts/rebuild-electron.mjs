#!/usr/bin/env node
// Build better-sqlite3 for Electron's ABI BESIDE the Node 22 build, so the tests/CLI (Node 22) and
// the desktop app (Electron) can both load it from one node_modules: the Electron build goes to
// node_modules/better-sqlite3/build/electron-<abi>/better_sqlite3.node, which
// src-main/core/store/db.ts loads when it runs inside Electron. (electron-builder rebuilds native
// modules for the packaged app by itself; this is for `npm start` with a real Electron binary.)
// Needs network access to Electron's headers, as any Electron native rebuild does.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, copyFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const require = createRequire(join(root, 'package.json'));
const electronVersion = JSON.parse(
  readFileSync(join(root, 'node_modules', 'electron', 'package.json'), 'utf8'),
).version;
const { getAbi } = require('node-abi');
const abi = getAbi(electronVersion, 'electron');
const pkgDir = join(root, 'node_modules', 'better-sqlite3');
const target = join(pkgDir, 'build', `electron-${abi}`, 'better_sqlite3.node');
if (existsSync(target) && !process.argv.includes('--force')) {
  console.log(`[axon] better-sqlite3 for Electron ${electronVersion} (ABI ${abi}) is already built`);
  process.exit(0);
}
console.log(`[axon] building better-sqlite3 for Electron ${electronVersion} (ABI ${abi})…`);
const work = mkdtempSync(join(tmpdir(), 'axon-electron-sqlite-'));
cpSync(pkgDir, work, { recursive: true, filter: (src) => !src.includes(`${pkgDir}/build`) });
const gyp = require.resolve('node-gyp/bin/node-gyp.js');
const r = spawnSync(
  process.execPath,
  [
    gyp,
    'rebuild',
    '--release',
    `--target=${electronVersion}`,
    '--runtime=electron',
    '--dist-url=https://electronjs.org/headers',
  ],
  { cwd: work, stdio: 'inherit', env: { ...process.env, npm_config_nodedir: '' } },
);
if (r.status !== 0) {
  console.error('[axon] the Electron build of better-sqlite3 failed (see above)');
  process.exit(1);
}
mkdirSync(dirname(target), { recursive: true });
copyFileSync(join(work, 'build', 'Release', 'better_sqlite3.node'), target);
rmSync(work, { recursive: true, force: true });
console.log(`[axon] wrote ${target}`);
