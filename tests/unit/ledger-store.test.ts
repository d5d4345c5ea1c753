import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDb, type Db } from '../../src-main/core/store/db';
import { getCursor, listCursors, setCursor } from '../../src-main/core/store/cursors';
import {
  claimIncomingPayment,
  getPayment,
  listPayments,
  recordPayment,
  recordRefusedPayment,
  totalForRequest,
} from '../../src-main/core/store/payments';

let dir: string;
let db: Db;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'axon-ledger-store-'));
  db = openDb(join(dir, 'axon.db'));
});
afterEach(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('ledger cursors', () => {
  it('stores, updates and survives reopening', () => {
    expect(getCursor(db, 'topicA')).toBeUndefined();
    setCursor(db, 'topicA', 'sig1', 5n, 1000);
    setCursor(db, 'topicA', 'sig2', 9_007_199_254_740_993n, 2000);
    db.close();
    db = openDb(join(dir, 'axon.db'));
    expect(getCursor(db, 'topicA')).toEqual({
      name: 'topicA',
      lastSignature: 'sig2',
      lastSlot: 9_007_199_254_740_993n,
      updatedAt: 2000,
    });
    setCursor(db, 'topicB', null, null);
    expect(listCursors(db).map((c) => c.name)).toEqual(['topicA', 'topicB']);
  });
});

describe('payments table', () => {
  const base = { requestId: 'r1', payer: 'P', recipient: 'R', lamports: 9_007_199_254_740_993n, period: 0, slot: 3n };

  it('accepts a signature once; a replay for another period is refused', () => {
    expect(claimIncomingPayment(db, { ...base, signature: 's1' })).toBe('claimed');
    expect(claimIncomingPayment(db, { ...base, signature: 's1', period: 1 })).toBe('replayed');
    const p = getPayment(db, 's1')!;
    expect(p).toMatchObject({ state: 'verified', direction: 'in', period: 0, lamports: 9_007_199_254_740_993n });
  });

  it('a refusal never downgrades a verified payment, and a refused one can still be verified', () => {
    recordRefusedPayment(db, { ...base, signature: 's2', reason: 'wrong-period' });
    expect(getPayment(db, 's2')).toMatchObject({ state: 'refused', reason: 'wrong-period' });
    expect(claimIncomingPayment(db, { ...base, signature: 's2' })).toBe('claimed');
    recordRefusedPayment(db, { ...base, signature: 's2', reason: 'replayed' });
    expect(getPayment(db, 's2')!.state).toBe('verified');
  });

  it('records the buyer side and totals per request exactly', () => {
    recordPayment(db, { ...base, signature: 'o1', direction: 'out', state: 'sent', lamports: 5n });
    recordPayment(db, { ...base, signature: 'o1', direction: 'out', state: 'confirmed', lamports: 5n });
    recordPayment(db, { ...base, signature: 'o2', direction: 'out', state: 'confirmed', lamports: 7n });
    recordPayment(db, { ...base, signature: 'o3', direction: 'out', state: 'failed', lamports: 100n });
    expect(totalForRequest(db, 'r1', 'out')).toBe(12n);
    expect(listPayments(db, { direction: 'out' })).toHaveLength(3);
    expect(listPayments(db, { requestId: 'nope' })).toHaveLength(0);
  });
});
