// Runs in: Node and Electron main. Opens the SQLite database (better-sqlite3, WAL) and applies
// the numbered migrations. One module per table group sits beside this file.
import Database from 'better-sqlite3';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';
import { MIGRATIONS, type Migration } from './migrations/index';

export type Db = Database.Database;

/**
 * better-sqlite3 is a native module: one build per runtime ABI. Node 22 (tests, CLI) uses the
 * package's own build; Electron uses the copy that scripts/rebuild-electron.mjs puts under
 * build/electron-<abi>/ (electron-builder rebuilds the packaged app by itself).
 */
export function nativeBinding(): string | undefined {
  if (!process.versions.electron) return undefined;
  const require = createRequire(import.meta.url);
  const pkgDir = dirname(require.resolve('better-sqlite3/package.json'));
  const p = join(pkgDir, 'build', `electron-${process.versions.modules}`, 'better_sqlite3.node');
  return existsSync(p) ? p : undefined;
}

export interface OpenDbOptions {
  readonly?: boolean;
  migrations?: Migration[];
}

export function openDb(file: string, opts: OpenDbOptions = {}): Db {
  const db = new Database(file, { readonly: opts.readonly ?? false, nativeBinding: nativeBinding() });
  if (!opts.readonly) {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = ON');
    db.pragma('busy_timeout = 5000');
    migrate(db, opts.migrations ?? MIGRATIONS);
  }
  reuseStatements(db);
  return db;
}

/** Prepared statements kept per database (SQL texts; the stores build a bounded set of them). */
const STATEMENT_CACHE = 512;

/**
 * `db.prepare(sql)` returns the statement already prepared for that text: the stores call
 * prepare() at every query, and SQLite's parse and plan of the same text each time was ~1.5–3.5 %
 * of a busy node's CPU (mesh bench profile of 25 buyers). A reused statement starts with the
 * defaults again (`safeIntegers(false)`, the one mode the stores set per call).
 */
function reuseStatements(db: Db): void {
  const prepare = db.prepare.bind(db);
  const cache = new Map<string, Database.Statement>();
  db.prepare = ((sql: string) => {
    const hit = cache.get(sql);
    if (hit) return hit.safeIntegers(false);
    const s = prepare(sql);
    if (cache.size >= STATEMENT_CACHE) cache.delete(cache.keys().next().value!);
    cache.set(sql, s);
    return s;
  }) as Db['prepare'];
}

export function schemaVersion(db: Db): number {
  return db.pragma('user_version', { simple: true }) as number;
}

/**
 * The versions a database had applied when only `user_version` recorded them (before the
 * `schema_migrations` table): the migrations on main up to then. A database at user_version N from
 * that time has exactly these versions ≤ N — and none of the numbers in between (011 was not yet
 * shipped when 012–014 were), which is why a "versions above the current one" rule would skip them.
 */
export const BEFORE_APPLIED_SET = [1, 4, 5, 6, 7, 8, 9, 10, 12, 13, 14];

/**
 * Apply every migration this database has not applied yet, in version order, each in one
 * transaction with its record in `schema_migrations` (so numbers landed out of order — parallel
 * branches take numbers ahead of time — are applied too). `user_version` keeps the highest applied
 * version, for tools and for refusing a database from a newer Axon.
 */
export function migrate(db: Db, migrations: Migration[]): number {
  const current = schemaVersion(db);
  const known = new Set(migrations.map((m) => m.version));
  const latest = Math.max(0, ...known);
  if (current > latest) {
    throw new Error(`database schema v${current} is newer than this Axon knows (v${latest}): refusing to touch it`);
  }
  db.exec(
    'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)',
  );
  const applied = (): Set<number> =>
    new Set((db.prepare('SELECT version FROM schema_migrations').all() as { version: number }[]).map((r) => r.version));
  if (applied().size === 0 && current > 0) {
    const seed = db.prepare(
      `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, 'before the applied set', 0)`,
    );
    db.transaction(() => {
      for (const v of BEFORE_APPLIED_SET) if (v <= current) seed.run(v);
    })();
  }
  const done = applied();
  const unknown = [...done].filter((v) => !known.has(v));
  if (unknown.length) {
    throw new Error(
      `database has migrations this Axon does not know (${unknown.join(', ')}): it is from a newer Axon; refusing to touch it`,
    );
  }
  const record = db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)');
  for (const m of [...migrations].sort((a, b) => a.version - b.version)) {
    if (done.has(m.version)) continue;
    db.transaction(() => {
      db.exec(m.sql);
      record.run(m.version, m.name, now());
      db.pragma(`user_version = ${Math.max(schemaVersion(db), m.version)}`);
    })();
  }
  return schemaVersion(db);
}

/** Unix ms now; one place so that tests can reason about times. */
export const now = (): number => Date.now();
