// Crash safety: a process writing purchases and payments in a loop is killed with SIGKILL;
// afterwards the database is intact and holds no half-written purchase or payment.
import { describe, it, expect } from 'vitest';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { ROOT, NODE, tempDir } from '../helpers/cli';
import { openDb } from '../../src-main/core/store/db';

function runWriterUntil(dbFile: string, purchases: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(NODE, ['--import', 'tsx', join(ROOT, 'tests/fixtures/sqlite-writer.ts'), dbFile], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let killed = false;
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      const last = Number(chunk.trim().split('\n').pop());
      if (!killed && last >= purchases) {
        killed = true;
        child.kill('SIGKILL');
      }
    });
    child.on('exit', (code, signal) => (signal === 'SIGKILL' ? resolve() : reject(new Error(`writer exited ${code}`))));
  });
}

describe('SQLite history survives a SIGKILL mid-write', () => {
  it('passes integrity_check and holds only whole purchases and payments', async () => {
    const dbFile = join(tempDir(), 'axon.sqlite');
    for (const target of [200, 400]) {
      await runWriterUntil(dbFile, target); // killed twice: the second run reopens the crashed file
      const db = openDb(dbFile);
      db.defaultSafeIntegers(true);
      expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
      const purchases = db.prepare('SELECT COUNT(*) AS n FROM purchases').get() as { n: bigint };
      expect(Number(purchases.n)).toBeGreaterThanOrEqual(target / 2);
      // Every purchase has its first transition; no orphan transition.
      const orphans = db
        .prepare(
          `SELECT (SELECT COUNT(*) FROM purchases p WHERE NOT EXISTS (SELECT 1 FROM transitions t WHERE t.ref_id = p.id)) +
                  (SELECT COUNT(*) FROM transitions t WHERE NOT EXISTS (SELECT 1 FROM purchases p WHERE p.id = t.ref_id)) AS n`,
        )
        .get() as { n: bigint };
      expect(orphans.n).toBe(0n);
      // Each purchase's spent / paid_through equal exactly what its payment rows say.
      const mismatched = db
        .prepare(
          `SELECT p.id FROM purchases p LEFT JOIN (
             SELECT request_id, SUM(lamports) AS s, MAX(period) AS m, COUNT(*) AS c FROM payments GROUP BY request_id
           ) q ON q.request_id = p.id
           WHERE p.spent != COALESCE(q.s, 0) OR p.paid_through != COALESCE(q.m, -1) OR COALESCE(q.c, 0) != p.paid_through + 1`,
        )
        .all();
      expect(mismatched).toEqual([]);
      db.close();
      // resume with fresh ids in the next round
      const db2 = openDb(dbFile);
      db2.exec(
        `UPDATE purchases SET id = 'round${target}-' || id; UPDATE transitions SET ref_id = 'round${target}-' || ref_id; UPDATE payments SET request_id = 'round${target}-' || request_id, signature = 'round${target}-' || signature;`,
      );
      db2.close();
    }
  });
});
