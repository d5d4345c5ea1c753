#!/usr/bin/env node
// `npm run bench -- <name> [<name>…]`: runs tests/bench/<name>.ts (each prints its own table).
// With no name, runs every benchmark in turn.
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const dir = join(root, 'tests', 'bench');
const all = readdirSync(dir)
  .filter((f) => f.endsWith('.ts'))
  .map((f) => f.slice(0, -3))
  .sort();
const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const names = wanted.length ? wanted : all;
const unknown = names.filter((n) => !all.includes(n));
if (unknown.length) {
  console.error(`unknown benchmark: ${unknown.join(', ')}. Available: ${all.join(', ')}`);
  process.exit(2);
}
const { register } = await import('tsx/esm/api');
register();
for (const name of names) {
  console.log(`\n=== bench: ${name} ===`);
  const mod = await import(pathToFileURL(join(dir, `${name}.ts`)).href);
  await mod.default();
}
process.exit(0);
