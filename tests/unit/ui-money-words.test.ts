// The UI's shared rules (issue 14): one identity format (the Solana address; its PeerId derived in
// the renderer must be libp2p's own), the notice for a purchase that ends (cap, seller stopped),
// and source errors in a seller's words.
import { describe, expect, it } from 'vitest';
import { Identity } from '../../src-main/core/identity/identity';
import { addressToPeerIdText, peerIdTextToAddress } from '../../src-shared/contract/identity';
import { PurchaseEndWatch, purchaseEndNotice } from '../../src-shared/contract/notices';
import type { PurchaseView } from '../../src-shared/contract/api';
import { sourceProblemInWords } from '../../src-main/api/source-words';
import { NotificationPolicy } from '../../src-main/api/notify-policy';

function purchase(o: Partial<PurchaseView>): PurchaseView {
  return {
    id: 'p1',
    listingId: 'x:y',
    seller: 'S',
    streamId: 'y',
    title: 'Aircraft',
    format: 'application/x-ndjson',
    tier: 'direct',
    state: 'streaming',
    reason: null,
    maxMinutes: 1,
    maxLamports: '1000',
    pricePerPeriod: '10',
    periodMs: 2000,
    paidThrough: 0,
    spent: '10',
    fees: '5000',
    frames: 1,
    dropped: 0,
    rateHz: 1,
    createdAt: 0,
    updatedAt: 0,
    ...o,
  };
}

describe('one identity format', () => {
  it("the renderer's PeerId of an address is libp2p's, and back", () => {
    for (let i = 0; i < 5; i++) {
      const id = Identity.generate();
      expect(addressToPeerIdText(id.address)).toBe(id.peerId.toString());
      expect(peerIdTextToAddress(id.peerId.toString())).toBe(id.address);
    }
    expect(addressToPeerIdText('not-base58-0OIl')).toBeNull();
    expect(peerIdTextToAddress('QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N')).toBeNull();
  });
});

describe('purchase end notices', () => {
  it('says why: cap reached, seller stopped, ended; once, on the step into a final state', () => {
    expect(purchaseEndNotice(purchase({}))).toBeNull();
    expect(
      purchaseEndNotice(purchase({ state: 'ended', reason: 'spending cap reached (10 lamports + 5000 ...)' }))?.kind,
    ).toBe('cap');
    expect(
      purchaseEndNotice(purchase({ state: 'ended', reason: 'seller ended the stream: seller stopped selling' }))?.kind,
    ).toBe('seller-stopped');
    expect(purchaseEndNotice(purchase({ state: 'ended', reason: 'stopped by the buyer' }))?.kind).toBe('ended');
    const w = new PurchaseEndWatch();
    expect(w.update(purchase({}))).toBeNull();
    expect(w.update(purchase({ state: 'ended', reason: 'spending cap reached' }))?.title).toBe('Spending cap reached');
    expect(w.update(purchase({ state: 'ended', reason: 'spending cap reached' }))).toBeNull();
    // a purchase first seen already ended (a page reload) is not announced again
    expect(new PurchaseEndWatch().update(purchase({ state: 'ended' }))).toBeNull();
  });
});

describe('desktop notifications (Electron main)', () => {
  it('tell when a purchase hits its cap or the seller stops, once', () => {
    const policy = new NotificationPolicy();
    expect(policy.decide('purchase', purchase({}))).toBeNull();
    const n = policy.decide(
      'purchase',
      purchase({ state: 'ended', reason: 'seller ended the stream: seller stopped selling' }),
    );
    expect(n?.title).toBe('The seller stopped sending');
    expect(n?.body).toContain("'Aircraft'");
    expect(policy.decide('purchase', purchase({ state: 'ended', reason: 'seller ended the stream' }))).toBeNull();
  });
});

describe('source errors in plain words', () => {
  it('names what is wrong instead of errno codes', () => {
    expect(sourceProblemInWords("ENOENT: no such file or directory, open '/tmp/nope.ndjson'")).toBe(
      "the file '/tmp/nope.ndjson' does not exist",
    );
    expect(sourceProblemInWords('connect ECONNREFUSED 127.0.0.1:1')).toBe('nothing is listening at 127.0.0.1:1');
    expect(sourceProblemInWords('command exited (code 127)')).toBe('the command was not found');
    expect(sourceProblemInWords(null)).toBeNull();
  });
});
