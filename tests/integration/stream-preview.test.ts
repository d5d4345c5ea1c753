// What a buyer learns about a stream before paying, on the product path: the Listing's schema
// hint (given by the seller, or inferred by the seller's node from its first frames) reaches the
// buyer's catalog through the real local ledger.
import { describe, expect, it } from 'vitest';
import type { AxonNode } from '../../src-main/core/node';
import { parseSchemaHint } from '../../src-shared/stream-schema';
import { PreviewError } from '../../src-main/core/market/preview';
import { waitFor } from './market-helpers';
import { listingOnBuyer, useSellerAndBuyer } from './seller-buyer';

const SOL = 1_000_000_000n;
let seller: AxonNode;
let buyer: AxonNode;
const pair = useSellerAndBuyer(SOL, (p) => ({ seller, buyer } = p));

describe('schema hint in the listing', () => {
  it("the seller's words travel in the Listing: fields with units, checked on read", async () => {
    await seller.sell({
      streamId: 'wx-given',
      title: 'Weather',
      source: { kind: 'weather' },
      priceDirect: 60_000n,
      schema: 'json key=station: temp_c °C, wind_kt kt, pressure_hpa hPa',
    });
    const l = await listingOnBuyer(pair, 'wx-given');
    expect(l.schemaHint).toBe('json key=station: temp_c °C, wind_kt kt, pressure_hpa hPa');
    const r = parseSchemaHint(l.schemaHint!);
    expect(r.ok && r.schema.fields.find((f) => f.name === 'temp_c')?.unit).toBe('°C');
  });

  it('without one, the seller node infers it from the first frames (aircraft: key hex, positions, units)', async () => {
    await seller.sell({ streamId: 'adsb-inferred', title: 'Aircraft', source: { kind: 'adsb' }, priceDirect: 60_000n });
    const l = await listingOnBuyer(pair, 'adsb-inferred');
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

describe('free preview before paying', () => {
  it('a stranger previews a few recent frames peer to peer; the limit answers with a clear error; no money moves', async () => {
    await seller.sell({ streamId: 'adsb-preview', title: 'Aircraft', source: { kind: 'adsb' }, priceDirect: 60_000n });
    const l = await listingOnBuyer(pair, 'adsb-preview');
    // the listing says where to ask: no purchase, no earlier connection between the two nodes
    expect(l.addrs.length).toBeGreaterThan(0);
    const balanceBefore = await buyer.ledger.balance();
    const sellerBalanceBefore = await seller.ledger.balance();
    // a source that just started may not have three frames yet: a preview shows what there is
    await waitFor(
      () => (seller.status().offers.find((o) => o.offer.streamId === 'adsb-preview')?.framesIn ?? 0) >= 3 || null,
      15_000,
      'three frames at the seller',
    );

    const p = await buyer.preview(l.id, { frames: 3 });
    expect(p.streamId).toBe('adsb-preview');
    expect(p.frames).toHaveLength(3);
    const snap = JSON.parse(new TextDecoder().decode(p.frames[2]!.payload)) as { aircraft: unknown[] };
    expect(Array.isArray(snap.aircraft)).toBe(true);
    expect(p.frames[0]!.seq).toBeLessThan(p.frames[2]!.seq);
    expect(p.schema).toBe(l.schemaHint);

    // three at once per peer (PREVIEW_LIMITS.burst), then one per 20 s: the fourth is refused, with the wait
    await buyer.preview(l.id);
    await buyer.preview(l.id);
    const refused = await buyer.preview(l.id).catch((e: unknown) => e as PreviewError);
    expect(refused).toBeInstanceOf(PreviewError);
    expect((refused as PreviewError).code).toBe('rate-limited');
    expect((refused as PreviewError).message).toMatch(
      /preview limit: 3 at once, then one per 20 s per peer; try again in \d+ s/,
    );
    expect((refused as PreviewError).retryAfterMs).toBeGreaterThan(0);

    // free: nothing on the ledger for either side, no purchase, no sale
    expect(await buyer.ledger.balance()).toBe(balanceBefore);
    expect(buyer.purchases().length).toBe(0);
    expect(seller.sales().length).toBe(0);
    // (the seller's balance may only move by its own listing refreshes, never up)
    expect(await seller.ledger.balance()).toBeLessThanOrEqual(sellerBalanceBefore);
  });

  it('a seller can turn the preview off: the buyer is told so', async () => {
    await seller.sell({
      streamId: 'wx-private',
      title: 'No preview',
      source: { kind: 'weather' },
      priceDirect: 60_000n,
      preview: 'off',
    });
    const l = await listingOnBuyer(pair, 'wx-private');
    expect(l.addrs).toEqual([]); // no address published for it
    // over the connection the first test opened, the seller still refuses
    const e = await buyer.preview(l.id).catch((x: unknown) => x as PreviewError);
    expect(e).toBeInstanceOf(PreviewError);
    expect((e as PreviewError).code).toBe('off');
    expect((e as PreviewError).message).toBe('the seller offers no preview of this stream');
  });
});
