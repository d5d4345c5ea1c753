// The market's store modules on a real SQLite file: catalog search and expiry, trade state machine.
import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDb, type Db } from '../../src-main/core/store/db';
import { ListingStore } from '../../src-main/core/store/listings';
import { TradeStore, TransitionError } from '../../src-main/core/store/trades';
import { pricePerPeriod } from '../../src-main/core/market/pricing';

let dir: string;
let db: Db;
afterEach(() => {
  db?.close();
  rmSync(dir, { recursive: true, force: true });
});
function open(): Db {
  dir = mkdtempSync(join(tmpdir(), 'axon-mstore-'));
  db = openDb(join(dir, 'a.sqlite'));
  return db;
}

const base = {
  description: '',
  tags: [] as string[],
  format: 'application/x-ndjson',
  rateMilliHz: 10_000,
  priceRelay: null,
  periodSec: 60,
  region: null,
  origin: null,
  healthy: true,
  own: false,
  signature: null,
};

describe('catalog (listings)', () => {
  it('searches by text, tag, format, price and freshness; expired and delisted listings disappear', () => {
    const s = new ListingStore(open());
    const now = Date.now();
    s.upsert({
      ...base,
      seller: 'A',
      streamId: 'adsb',
      title: 'Aircraft over FRA',
      tags: ['adsb', 'Aviation'],
      priceDirect: 1000n,
      publishedAt: now - 1000,
      expiresAt: now + 60_000,
    });
    s.upsert({
      ...base,
      seller: 'B',
      streamId: 'wx',
      title: 'Weather 100%',
      format: 'text/csv',
      tags: ['weather'],
      priceDirect: 50n,
      publishedAt: now - 120_000,
      expiresAt: now + 60_000,
    });
    s.upsert({
      ...base,
      seller: 'C',
      streamId: 'old',
      title: 'Stale aircraft',
      priceDirect: 1n,
      publishedAt: now - 600_000,
      expiresAt: now - 1,
    });
    expect(s.search({ text: 'aircraft' }).map((l) => l.id)).toEqual(['A:adsb']);
    expect(s.search({ text: '100%' }).map((l) => l.id)).toEqual(['B:wx']);
    expect(s.search({ text: '%' }).map((l) => l.id)).toEqual(['B:wx']); // LIKE wildcards are escaped
    expect(s.search({ tag: 'aviation' }).map((l) => l.id)).toEqual(['A:adsb']);
    expect(s.search({ format: 'text/csv' }).map((l) => l.id)).toEqual(['B:wx']);
    expect(s.search({ maxPrice: 100n }).map((l) => l.id)).toEqual(['B:wx']);
    expect(s.search({ freshWithinMs: 60_000 }).map((l) => l.id)).toEqual(['A:adsb']);
    expect(
      s
        .search()
        .map((l) => l.id)
        .sort(),
    ).toEqual(['A:adsb', 'B:wx']);
    // the seller stopped refreshing: gone once past its expiry, without any message
    expect(s.search({}, now + 61_000)).toHaveLength(0);
    // an older copy never overwrites a newer one; a refresh after a delist brings it back
    s.upsert({
      ...base,
      seller: 'A',
      streamId: 'adsb',
      title: 'OLD TITLE',
      priceDirect: 1000n,
      publishedAt: now - 5000,
      expiresAt: now + 60_000,
    });
    expect(s.get('A:adsb')!.title).toBe('Aircraft over FRA');
    expect(s.delist('A', 'adsb', now)).toBe(true);
    expect(s.search().map((l) => l.id)).toEqual(['B:wx']);
    s.upsert({
      ...base,
      seller: 'A',
      streamId: 'adsb',
      title: 'Back',
      priceDirect: 1000n,
      publishedAt: now + 10,
      expiresAt: now + 60_000,
    });
    expect(s.search({ text: 'back' })).toHaveLength(1);
    expect(s.purge(0, now + 120_000)).toBeGreaterThan(0);
  });

  it('keeps lamports exact beyond 2^53', () => {
    const s = new ListingStore(open());
    const big = 2n ** 62n + 1n;
    s.upsert({
      ...base,
      seller: 'A',
      streamId: 'x',
      title: 'x',
      priceDirect: big,
      publishedAt: Date.now(),
      expiresAt: Date.now() + 1000,
    });
    expect(s.get('A:x')!.priceDirect).toBe(big);
  });
});

describe('trade state machine', () => {
  it('records every transition with its reason and refuses illegal moves', () => {
    const t = new TradeStore(open());
    t.insertPurchase({
      id: 'req-aaaaaaaa',
      listingId: 'S:x',
      seller: 'S',
      streamId: 'x',
      tier: 'direct',
      maxMinutes: 5,
      maxLamports: 10_000n,
      sinks: {},
      expiresAt: Date.now() + 1000,
    });
    t.movePurchase('req-aaaaaaaa', 'accepted', 'quote');
    t.movePurchase('req-aaaaaaaa', 'connecting', 'ladder');
    t.movePurchase('req-aaaaaaaa', 'streaming', 'stream open');
    t.movePurchase('req-aaaaaaaa', 'streaming', 'paid through period 0');
    t.movePurchase('req-aaaaaaaa', 'ended', 'stopped by the buyer');
    expect(() => t.movePurchase('req-aaaaaaaa', 'streaming', 'zombie')).toThrow(TransitionError);
    const h = t.transitions('purchase', 'req-aaaaaaaa');
    expect(h.map((x) => [x.from, x.to, x.reason])).toEqual([
      [null, 'requested', 'buy'],
      ['requested', 'accepted', 'quote'],
      ['accepted', 'connecting', 'ladder'],
      ['connecting', 'streaming', 'stream open'],
      ['streaming', 'streaming', 'paid through period 0'],
      ['streaming', 'ended', 'stopped by the buyer'],
    ]);
    t.insertSale({
      id: 'req-bbbbbbbb',
      buyer: 'B',
      streamId: 'x',
      tier: 'direct',
      pricePerPeriod: 5n,
      periodMs: 1000,
      graceMs: 1000,
      maxLamports: 10n,
      maxMinutes: 1,
    });
    expect(() => t.moveSale('req-bbbbbbbb', 'streaming', 'skip')).toThrow(/not allowed/);
  });

  it('prices a period by rounding up (the seller is never underpaid)', () => {
    expect(pricePerPeriod(60_000n, 2)).toBe(2000n);
    expect(pricePerPeriod(1n, 1)).toBe(1n);
    expect(pricePerPeriod(100n, 60)).toBe(100n);
  });
});
