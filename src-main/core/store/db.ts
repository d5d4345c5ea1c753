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
  return db;
}

export function schemaVersion(db: Db): number {
  return db.pragma('user_version', { simple: true }) as number;
}

export function migrate(db: Db, migrations: Migration[]): number {
  const current = schemaVersion(db);
  const latest = migrations.reduce((m, x) => Math.max(m, x.version), 0);
  if (current > latest) {
    throw new Error(`database schema v${current} is newer than this Axon knows (v${latest}): refusing to touch it`);
  }
  for (const m of [...migrations].sort((a, b) => a.version - b.version)) {
    if (m.version <= current) continue;
    db.transaction(() => {
      db.exec(m.sql);
      db.pragma(`user_version = ${m.version}`);
    })();
  }
  return schemaVersion(db);
}

/** Unix ms now; one place so that tests can reason about times. */
export const now = (): number => Date.now();
