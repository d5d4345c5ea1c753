// Attacks on a seller's books and capacity by hostile buyers — real ledger, real nodes on
// loopback, real SQLite. Hostile buyers are the project's own node with one behaviour altered
// (a payment with an extra transfer, no answer to accepts, no payments), raw ledger memos, or
// raw streams on the stream protocol. Each test pushes past one bound (docs/security.md, "Money
// and capacity") and shows an honest buyer is still served.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encode } from 'cborg';
import { appendTransactionMessageInstructions, type Address } from '@solana/kit';
import { getTransferSolInstruction } from '@solana-program/system';
import { AxonNode } from '../../src-main/core/node';
import type { LocalLedger } from '../../src-main/local-ledger/index';
import type { AxonMessage } from '../../src-main/core/ledger/types';
import type { MarketContext } from '../../src-main/core/market/context';
import { encodeEnvelope, ENVELOPE_PREFIX, PROTOCOL_VERSION } from '../../src-main/core/ledger/envelope';
import { CATALOG, TYPE_CODES, expiresIn, fieldToWire, newNonce } from '../../src-main/core/ledger/messages';
import { memoInstruction } from '../../src-main/core/ledger/transactions';
import { addressToPeerId } from '../../src-main/core/identity/identity';
import { FrameDecoder, KIND_CONTROL, STREAM_PROTOCOL, encodeControl } from '../../src-main/core/market/frames';
import { SELLER_LIMITS } from '../../src-main/core/market/seller';
import { isFinal, type PurchaseRow } from '../../src-main/core/store/trades';
import { runCleanups, startLedger, startNode, waitFor } from './market-helpers';
import { postRawMemo, sendInstructions } from './ledger-helpers';

const SOL = 1_000_000_000n;

/** Sign and send instructions as `node`, wait for confirmation. */
async function sendRaw(
  node: AxonNode,
  signer: Awaited<ReturnType<AxonNode['identity']['signer']>>,
  instructions: Parameters<typeof appendTransactionMessageInstructions>[0],
) {
  const { signature, slot, err } = await sendInstructions(node.ledger.rpc, signer, instructions, {
    what: 'raw transaction',
  });
  if (err) throw new Error(`raw transaction failed: ${JSON.stringify(err)}`);
  return { signature: signature as string, slot, fee: 5_000n };
}

/** The memo of a message WITHOUT validation (what a hostile peer can put on the ledger). */
function rawEnvelope(msg: Record<string, unknown> & { type: AxonMessage['type'] }): Uint8Array {
  const fields = CATALOG[msg.type].map((f) => fieldToWire(f.kind, msg[f.name]));
  const cbor = encode([TYPE_CODES[msg.type], msg.nonce, msg.expiresAt, ...fields]);
  const payload = new Uint8Array(1 + cbor.length);
  payload[0] = PROTOCOL_VERSION;
  payload.set(cbor, 1);
  return new TextEncoder().encode(ENVELOPE_PREFIX + Buffer.from(payload).toString('base64'));
}

function ctxOf(node: AxonNode): MarketContext {
  return AxonNode.internalsForTests(node).market.ctx;
}

/** A buyer that asks but never takes up an accept (it never connects, never pays). */
function neverConnects(node: AxonNode): void {
  AxonNode.internalsForTests(node).market.buyer.onAccept = async () => undefined;
}

/** A buyer whose payments never reach the ledger. */
function neverPays(node: AxonNode): void {
  const ctx = ctxOf(node);
  // pays per period on the ledger (not by voucher), and every such payment fails
  ctx.timing.payments = 'per-period';
  const post = ctx.postTo;
  ctx.postTo = (peer, msg, o) =>
    msg.type === 'Payment' ? Promise.reject(new Error('this buyer does not pay')) : post(peer, msg, o);
}

describe('hostile buyers cannot inflate, fill or drain a seller', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  let ledger: LocalLedger;
  let seller: AxonNode;
  let honest: AxonNode;

  async function newNode(): Promise<AxonNode> {
    const n = await startNode(ledger, { airdrop: 2n * SOL });
    cleanups.unshift(n.cleanup);
    return n.node;
  }

  beforeAll(async () => {
    const l = await startLedger();
    ledger = l.ledger;
    cleanups.push(l.cleanup);
    // the seller keeps unanswered requests for the default minute (the attack of issue 11 §3)
    const s = await startNode(ledger, { airdrop: 2n * SOL, timing: { requestTimeoutMs: 60_000 } });
    cleanups.unshift(s.cleanup);
    seller = s.node;
    honest = await newNode();
  });
  afterAll(async () => {
    await runCleanups(cleanups);
  });

  async function sell(streamId: string, o: { capacity?: number } = {}): Promise<string> {
    await seller.sell({
      streamId,
      title: streamId,
      source: { kind: 'weather', hz: 5 },
      priceDirect: 60_000n, // 2 000 lamports per 2 s period
      periodSec: 2,
      graceSec: 2,
      capacity: o.capacity ?? 50,
    });
    return `${seller.identity.address}:${streamId}`;
  }

  async function seen(node: AxonNode, id: string): Promise<void> {
    await waitFor(() => node.listings().some((l) => l.id === id), 15_000, `listing ${id}`);
  }

  async function served(node: AxonNode, id: string): Promise<PurchaseRow> {
    await seen(node, id);
    const p = await node.buy(id, { minutes: 1 });
    await waitFor(
      () => {
        const r = node.purchase(p.id)!;
        if (isFinal(r.state)) throw new Error(`purchase ${r.state}: ${r.reason}`);
        return (
          r.paidThrough >= 0 &&
          r.frames + (AxonNode.internalsForTests(node).market.buyer.runs.get(p.id)?.frames ?? 0) > 0
        );
      },
      30_000,
      'the honest buyer to be served',
    );
    return node.stopPurchase(p.id);
  }

  it("a payment carrying a transfer to someone else does not inflate the seller's books", async () => {
    const id = await sell('books');
    const payer = await newNode();
    await seen(payer, id);
    // the payer's Payment transactions also move 0.5 SOL to itself (the transfer the old watcher picked);
    // it pays per period on the ledger (a voucher with a foreign transfer is refused as wrong-amount
    // and cuts the stream: market-vouchers.test.ts)
    const ctx = ctxOf(payer);
    ctx.timing.payments = 'per-period';
    const post = ctx.postTo;
    ctx.postTo = async (peer, msg, o) => {
      if (msg.type !== 'Payment' || !o?.transfer) return post(peer, msg, o);
      const signer = await payer.identity.signer();
      return sendRaw(payer, signer, [
        getTransferSolInstruction({ source: signer, destination: payer.identity.address, amount: SOL / 2n }),
        getTransferSolInstruction({ source: signer, destination: o.transfer.to, amount: o.transfer.lamports }),
        memoInstruction(await payer.ledger.stdinTopic(peer as Address), encodeEnvelope(msg)),
      ]);
    };
    const p = await payer.buy(id, { minutes: 1 });
    const sale = await waitFor(
      () => {
        const s = seller.sale(p.id);
        return s && s.paidThrough >= 1 ? s : null;
      },
      30_000,
      'two verified payments',
    );
    await payer.stopPurchase(p.id);
    const paid = BigInt(sale.paidThrough + 1);
    expect(sale.earned).toBe(2_000n * paid);
    const rows = seller.payments(p.id).filter((r) => r.direction === 'in' && r.state === 'verified');
    expect(rows.length).toBe(Number(paid));
    for (const r of rows) expect(r.lamports).toBe(2_000n);
  });

  it('one key cannot fill a stream: its extra requests replace its pending one or go unanswered', async () => {
    const id = await sell('crowded', { capacity: 2 });
    const hog = await newNode();
    neverConnects(hog);
    await seen(hog, id);
    const tries = SELLER_LIMITS.requestsPerMinute + 4;
    const t0 = Date.now();
    for (let i = 0; i < tries; i++) await hog.buy(id, { minutes: 1, allowDuplicate: true });
    const hogSales = () => seller.sales().filter((s) => s.buyer === hog.identity.address);
    // an honest buyer asks after all of them (same stdin: the seller reads in order) and is served
    await served(honest, id);
    // the bucket refills requestsPerMinute tokens a minute while the seller reads the requests
    const allowed =
      SELLER_LIMITS.requestsPerMinute + Math.floor(((Date.now() - t0) * SELLER_LIMITS.requestsPerMinute) / 60_000);
    expect(hogSales().length).toBeLessThanOrEqual(Math.min(allowed, tries - 1)); // the rest were never answered
    expect(hogSales().length).toBeGreaterThanOrEqual(SELLER_LIMITS.requestsPerMinute);
    expect(hogSales().filter((s) => !isFinal(s.state)).length).toBeLessThanOrEqual(1);
  });

  it('an unpaid request that never connects stops holding its place after pendingHoldMs', async () => {
    const id = await sell('tiny', { capacity: 1 });
    const squatter = await newNode();
    neverConnects(squatter);
    await seen(squatter, id);
    await seen(honest, id);
    const held = await squatter.buy(id, { minutes: 1 });
    await waitFor(() => seller.sale(held.id), 15_000, 'the squatting sale');
    const early = await honest.buy(id, { minutes: 1 });
    const refused = await waitFor(
      () => {
        const r = honest.purchase(early.id)!;
        return isFinal(r.state) ? r : null;
      },
      15_000,
      'the early request to be answered',
    );
    expect(refused).toMatchObject({ state: 'rejected' });
    expect(refused.reason).toMatch(/full: stream 'tiny' is full \(.*\); no rebroadcast of it is live/);
    const since = seller.sale(held.id)!.createdAt;
    await new Promise((r) => setTimeout(r, Math.max(0, since + SELLER_LIMITS.pendingHoldMs - Date.now())));
    await served(honest, id);
  });

  it('a buyer that took a grace window without paying gets no second one; an honest buyer is served', async () => {
    const id = await sell('graced');
    const freeloader = await newNode();
    neverPays(freeloader);
    await seen(freeloader, id);
    const first = await freeloader.buy(id, { minutes: 1 });
    const sale = await waitFor(
      () => {
        const s = seller.sale(first.id);
        return s && isFinal(s.state) ? s : null;
      },
      30_000,
      'the unpaid sale to be cut',
    );
    expect(sale.startedAt).not.toBeNull();
    expect(sale.paidThrough).toBe(-1);
    await freeloader.stopPurchase(first.id);
    const again = await freeloader.buy(id, { minutes: 1 });
    const second = await waitFor(
      () => {
        const r = freeloader.purchase(again.id)!;
        return isFinal(r.state) ? r : null;
      },
      15_000,
      'the second request to be answered',
    );
    expect(second.state).toBe('rejected');
    expect(second.reason).toMatch(/took its grace window on 'graced' without paying: no new one for \d+ s/);
    expect(second.frames).toBe(0);
    await served(honest, id);
  });

  it('one sale gets at most SELLER_LIMITS.sessionsPerSale streams; the purchase keeps streaming', async () => {
    const id = await sell('sessions');
    await seen(honest, id);
    const p = await honest.buy(id, { minutes: 1 });
    await waitFor(() => honest.purchase(p.id)!.paidThrough >= 0, 30_000, 'the purchase paid');
    const sellerPeer = addressToPeerId(seller.identity.address as Address);
    const answers: string[] = [];
    const streams = [];
    for (let i = 0; i < 5; i++) {
      const s = await honest.net.libp2p.dialProtocol(sellerPeer, STREAM_PROTOCOL, { runOnLimitedConnection: true });
      streams.push(s);
      s.send(encodeControl({ t: 'ticket', v: 1, requestId: p.id, streamId: 'sessions', lastSeq: -1 }));
      const dec = new FrameDecoder();
      let answer = 'none';
      for await (const chunk of s) {
        const f = dec.push(chunk).find((x) => x.kind === KIND_CONTROL);
        if (f && f.kind === KIND_CONTROL) {
          answer = f.control.t === 'error' ? f.control.code : f.control.t;
          break;
        }
      }
      answers.push(answer);
    }
    // the purchase's own session plus one more
    expect(answers.filter((a) => a === 'welcome').length).toBe(SELLER_LIMITS.sessionsPerSale - 1);
    expect(answers.filter((a) => a === 'too-many-sessions').length).toBe(5 - (SELLER_LIMITS.sessionsPerSale - 1));
    for (const s of streams) s.abort(new Error('done'));
    const frames =
      AxonNode.internalsForTests(honest).market.buyer.runs.get(p.id)!.frames + honest.purchase(p.id)!.frames;
    await waitFor(
      () =>
        AxonNode.internalsForTests(honest).market.buyer.runs.get(p.id)!.frames + honest.purchase(p.id)!.frames > frames,
      10_000,
      'more frames on the purchase',
    );
    await honest.stopPurchase(p.id);
  });

  it('amounts above i64 max are refused at validation and skipped; the seller answers the next request', async () => {
    const id = await sell('huge');
    const liar = await newNode();
    const market = await liar.ledger.marketTopic('main');
    const before = honest.ledger.garbage.counts.schema ?? 0;
    await postRawMemo(
      liar.ledger,
      liar.identity,
      market,
      rawEnvelope({
        type: 'Listing',
        nonce: newNonce(),
        expiresAt: expiresIn(300),
        streamId: 'u64',
        title: 'Costs 2^63',
        description: '',
        tags: [],
        format: 'application/x-ndjson',
        rateMilliHz: 1000,
        priceDirect: 1n << 63n,
        periodSec: 60,
        healthy: true,
        roles: [],
      }),
    );
    const sellerBefore = seller.ledger.garbage.counts.schema ?? 0;
    await postRawMemo(
      liar.ledger,
      liar.identity,
      await liar.ledger.stdinTopic(seller.identity.address as Address),
      rawEnvelope({
        type: 'ServiceRequest',
        nonce: newNonce(),
        expiresAt: expiresIn(60),
        requestId: 'req-u64',
        streamId: 'huge',
        tier: 'direct',
        maxMinutes: 1,
        maxLamports: (1n << 64n) - 1n,
        sealed: new Uint8Array(64),
      }),
    );
    await served(honest, id); // posted after both: read after both
    expect(honest.ledger.garbage.counts.schema ?? 0).toBeGreaterThan(before);
    expect(seller.ledger.garbage.counts.schema ?? 0).toBeGreaterThan(sellerBefore);
    expect(honest.listings().some((l) => l.streamId === 'u64')).toBe(false);
    expect(seller.sale('req-u64')).toBeUndefined();
  });

  it('a listing with a made-up origin or a far expiry is not listed; a true rebroadcast is', async () => {
    const id = await sell('origin');
    const poser = await newNode();
    await seen(poser, id);
    const market = await poser.ledger.marketTopic('main');
    const listing = (streamId: string, o: Partial<Extract<AxonMessage, { type: 'Listing' }>>): AxonMessage => ({
      type: 'Listing',
      nonce: newNonce(),
      expiresAt: expiresIn(300),
      streamId,
      title: streamId,
      description: '',
      tags: [],
      format: 'application/x-ndjson',
      rateMilliHz: 1000,
      priceDirect: 1n,
      periodSec: 60,
      healthy: true,
      roles: [],
      ...o,
    });
    await poser.ledger.post(
      market,
      listing('fake-origin', { origin: { seller: seller.identity.address as Address, streamId: 'no-such-stream' } }),
    );
    await poser.ledger.post(market, listing('forever', { expiresAt: expiresIn(365 * 86_400) }));
    await poser.ledger.post(
      market,
      listing('true-relay', { origin: { seller: seller.identity.address as Address, streamId: 'origin' } }),
    );
    await waitFor(() => honest.listings().some((l) => l.streamId === 'true-relay'), 15_000, 'the true rebroadcast');
    const names = honest.listings().map((l) => l.streamId);
    expect(names).not.toContain('fake-origin');
    expect(names).not.toContain('forever');
  });
});
