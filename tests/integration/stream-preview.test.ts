// What a buyer learns about a stream before paying, on the product path: the Listing's schema
// hint (given by the seller, or inferred by the seller's node from its first frames) reaches the
// buyer's catalog through the real local ledger.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AxonNode } from '../../src-main/core/node';
import { parseSchemaHint } from '../../src-shared/stream-schema';
import { runCleanups, startSellerAndBuyer, waitFor } from './market-helpers';

const SOL = 1_000_000_000n;
const cleanups: (() => Promise<void> | void)[] = [];
let seller: AxonNode;
let buyer: AxonNode;

beforeAll(async () => {
  ({ seller, buyer } = await startSellerAndBuyer(SOL, cleanups));
});
afterAll(async () => {
  await runCleanups(cleanups);
});

const listingOnBuyer = (streamId: string) =>
  waitFor(
    () => buyer.listings({}).find((l) => l.id === `${seller.identity.address}:${streamId}`),
    15_000,
    `listing ${streamId} on the buyer`,
  );

describe('schema hint in the listing', () => {
  it("the seller's words travel in the Listing: fields with units, checked on read", async () => {
    await seller.sell({
      streamId: 'wx-given',
      title: 'Weather',
      source: { kind: 'weather' },
      priceDirect: 60_000n,
      schema: 'json key=station: temp_c °C, wind_kt kt, pressure_hpa hPa',
    });
    const l = await listingOnBuyer('wx-given');
    expect(l.schemaHint).toBe('json key=station: temp_c °C, wind_kt kt, pressure_hpa hPa');
    const r = parseSchemaHint(l.schemaHint!);
    expect(r.ok && r.schema.fields.find((f) => f.name === 'temp_c')?.unit).toBe('°C');
  });

  it('without one, the seller node infers it from the first frames (aircraft: key hex, positions, units)', async () => {
    await seller.sell({ streamId: 'adsb-inferred', title: 'Aircraft', source: { kind: 'adsb' }, priceDirect: 60_000n });
    const l = await listingOnBuyer('adsb-inferred');
    const r = parseSchemaHint(l.schemaHint ?? '');
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.schema.format).toBe('json');
    expect(r.schema.key).toBe('hex');
    expect(r.schema.geo).toBe(true);
    expect(r.schema.fields.find((f) => f.name === 'alt_baro')?.unit).toBe('ft');
  });

  it('a bad hint is refused at sell time with the reason, nothing listed', async () => {
    await expect(
      seller.sell({
        streamId: 'wx-bad',
        title: 'Bad',
        source: { kind: 'weather' },
        priceDirect: 60_000n,
        schema: 'temp c, temp f',
      }),
    ).rejects.toThrow(/schema: field 'temp' named twice/);
    expect(seller.ownStreams().some((o) => o.offer.streamId === 'wx-bad')).toBe(false);
  });
});
