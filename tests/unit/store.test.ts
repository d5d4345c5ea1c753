import { describe, it, expect } from 'vitest';
import { join } from 'node:path';
import { BEFORE_APPLIED_SET, openDb, migrate, schemaVersion } from '../../src-main/core/store/db';
import { MIGRATIONS } from '../../src-main/core/store/migrations/index';
import { tempDir } from '../helpers/cli';

const tmp = () => join(tempDir('axon-store-'), 'axon.sqlite');

describe('store', () => {
  it('creates every table at the latest schema version, in WAL mode', () => {
    const db = openDb(tmp());
    expect(schemaVersion(db)).toBe(Math.max(...MIGRATIONS.map((m) => m.version)));
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    const tables = (db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table'`).all() as { name: string }[]).map(
      (r) => r.name,
    );
    for (const t of [
      'peers',
      'listings',
      'purchases',
      'sales',
      'payments',
      'connections',
      'connection_attempts',
      'ledger_cursors',
      'settings',
      'transitions',
    ]) {
      expect(tables).toContain(t);
    }
  });

  it('applies migrations once, in order, and refuses a database from a newer Axon', () => {
    const file = tmp();
    openDb(file).close();
    const db = openDb(file); // reopening applies nothing twice
    expect(schemaVersion(db)).toBe(MIGRATIONS.at(-1)!.version);
    db.pragma('user_version = 999');
    expect(() => migrate(db, MIGRATIONS)).toThrow(/newer than this Axon knows/);
  });

  it('applies a migration numbered below the database version that landed later, once (parallel branches)', () => {
    // a database written before the applied set existed: only user_version recorded what it had
    const file = tmp();
    const legacy = MIGRATIONS.filter((m) => BEFORE_APPLIED_SET.includes(m.version));
    const old = openDb(file, { migrations: legacy });
    old.exec('DROP TABLE schema_migrations');
    old.pragma(`user_version = ${Math.max(...BEFORE_APPLIED_SET)}`);
    old.close();
    // numbers taken ahead of time land after higher ones (like 011 after 012–014)
    const late = { version: 3, name: 'late', sql: 'CREATE TABLE late_three (x INTEGER)' };
    const all = [...MIGRATIONS, late];
    const db = openDb(file, { migrations: all });
    const names = (db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table'`).all() as { name: string }[]).map(
      (r) => r.name,
    );
    expect(names).toContain('late_three');
    const applied = (
      db.prepare('SELECT version FROM schema_migrations ORDER BY version').all() as { version: number }[]
    ).map((r) => r.version);
    expect(applied).toEqual(all.map((m) => m.version).sort((a, b) => a - b));
    expect(schemaVersion(db)).toBe(Math.max(...all.map((m) => m.version)));
    expect(() => migrate(db, all)).not.toThrow(); // nothing applied twice
    db.close();
    // a database that has a migration this build does not know is from a newer Axon
    const again = openDb(file, { migrations: all });
    expect(() => migrate(again, MIGRATIONS)).toThrow(/newer Axon/);
  });

  it('keeps lamports exact beyond 2^53 and refuses floats and negative amounts', () => {
    const db = openDb(tmp());
    const big = 2n ** 62n + 7n;
    db.prepare(
      `INSERT INTO payments (signature, request_id, direction, payer, recipient, lamports, period, state, created_at, updated_at) VALUES ('s', 'r', 'in', 'a', 'b', ?, 0, 'verified', 0, 0)`,
    ).run(big);
    const row = db.prepare('SELECT lamports FROM payments').safeIntegers(true).get() as { lamports: bigint };
    expect(row.lamports).toBe(big);
    const ins = db.prepare(
      `INSERT INTO payments (signature, request_id, direction, payer, recipient, lamports, period, state, created_at, updated_at) VALUES (?, 'r', 'in', 'a', 'b', ?, 0, 'verified', 0, 0)`,
    );
    expect(() => ins.run('f', 1.5)).toThrow(/cannot store REAL value in INTEGER column/);
    expect(() => ins.run('n', -1)).toThrow(/CHECK constraint failed/);
  });
});
