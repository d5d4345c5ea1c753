// Runs in: Node. Payment vouchers over the stream (docs/market.md "Vouchers"): instead of one
// ledger transaction per period, the buyer signs a durable-nonce transaction per period
// (cumulative since the last settlement: each supersedes the one before; ledger/nonce.ts) and
// hands it to the seller on the stream; the seller checks it at once, locally, stores it, and
// settles on the ledger only from time to time:
//   - when its unsettled credit reaches the credit limit (one period at first, then 3 × what this
//     buyer settled so far, at most MAX_CREDIT_PERIODS periods),
//   - when the buyer's balance (watched by subscription) falls below what is owed,
//   - at the end of the sale, and at start for anything left unsettled by a crash.
// Both sides store a voucher in SQLite before it is sent / acknowledged (store/vouchers.ts).
import {
  getBase64Encoder,
  getCompiledTransactionMessageDecoder,
  getTransactionDecoder,
  type Address,
} from '@solana/kit';
import {
  checkVoucher,
  closeNonceAccount,
  createNonceAccount,
  readNonce,
  sendInstructions,
  signVoucher,
  lastSettledVoucher,
  submitAndConfirm,
  txStatus,
  voucherInstructions,
  type VoucherRefusal,
  type VoucherTransfer,
} from '../ledger/nonce';
import { addressToPeerId, peerIdToAddress } from '../identity/identity';
import { relayOf } from './relay-pay';
import type { Budget } from '../ledger/fees';
import { createTokenAccountInstruction } from '../ledger/assets';
import { isFinal, type PurchaseRow, type SaleRow } from '../store/trades';
import { VoucherStore, type VoucherRow } from '../store/vouchers';
import type { MarketContext } from './context';
import type { Settled, VoucherAck, VoucherControl } from './frames';
import type { Run } from './purchase-run';

/** The seller's credit grows to this many times what the buyer settled so far. */
export const CREDIT_GROWTH = 3n;
/** …but never beyond this many periods unsettled. */
export const MAX_CREDIT_PERIODS = 60n;
/** The buyer closes a finished purchase's nonce account after the seller's last settlement, or
 *  after this long without one (the seller then loses what it did not settle). */
export const CLOSE_NONCE_AFTER_MS = 10 * 60_000;
/** A purchase's voucher budget (units, price) is planned again after this long. */
const BUDGET_TTL_MS = 60_000;
/** How long the buyer waits for the seller's answer to a voucher. */
const ACK_TIMEOUT_MS = 10_000;
/** Voucher memos stay valid this long (the seller settles within it: end, credit, balance). */
const MEMO_TTL_SEC = 7 * 24 * 3600;

/** Refusals that put money at risk: the stream is cut at once. */
const CUTS: ReadonlySet<string> = new Set<VoucherRefusal>([
  'malformed',
  'wrong-signer',
  'bad-signature',
  'wrong-nonce',
  'wrong-mint',
  'wrong-amount',
  'wrong-request',
]);

/** The most a seller lets a buyer owe unsettled (lamports), from what it settled so far. */
export function creditLimit(pricePerPeriod: bigint, settledHistory: bigint): bigint {
  const grown = settledHistory * CREDIT_GROWTH;
  const max = pricePerPeriod * MAX_CREDIT_PERIODS;
  return grown < pricePerPeriod ? pricePerPeriod : grown > max ? max : grown;
}

/**
 * Fees a voucher purchase pays beyond one per period, at most: creating the nonce account (two
 * signatures) and closing it; settlements are never more than the periods. The default spending
 * cap adds them to "each period's price and its fee" (pricing.ts) so that cap still covers all.
 */
export const VOUCHER_EXTRA_FEES = 3n;

/** What each side can lose at worst right now (shown for every purchase and sale). */
export interface Exposure {
  /** Seller: vouched but not settled (lost if the buyer empties its account or advances its nonce). */
  unsettled: bigint;
  /** Seller: its credit limit for this buyer now. */
  creditLimit: bigint;
  /** Buyer: what it signed in total (it can never pay more than that). */
  signed: bigint;
  settled: bigint;
  settlements: number;
}

// ---------------------------------------------------------------- seller

export interface SellerHooks {
  /** End a sale (cut its stream) with a reason. */
  endSale(id: string, to: 'ended' | 'failed', reason: string): void;
  /** Move a sale (recorded transition). */
  move(id: string, to: SaleRow['state'], reason: string): void;
  /** Send a control frame to the buyer on the sale's open stream(s). */
  notify(id: string, c: Settled): void;
  /** paid-until + grace of a sale (unix ms). */
  deadline(id: string): number;
}

export class VoucherSeller {
  readonly store: VoucherStore;
  /** Settlements under way (one per sale at a time). */
  readonly #settling = new Map<string, Promise<void>>();
  /** Nonce values a sale's settlements consumed: a voucher signed against one is stale, not forged. */
  readonly #stale = new Map<string, Set<string>>();
  /** Per sale: the relays its connection to the buyer ran over (a voucher may pay them their share). */
  readonly #relays = new Map<string, Set<string>>();
  /** Per sale: the relay shares its newest unsettled voucher carries (the buyer's balance must cover them too). */
  readonly #othersOwed = new Map<string, bigint>();
  /** Buyer balance watches: buyer address → stop + last seen lamports. */
  /** Buyer balance watches: `sol:<buyer>` and `<mint>:<buyer>` → stop + last value seen. */
  readonly #watches = new Map<string, BalanceWatch>();

  constructor(
    private readonly ctx: MarketContext,
    private readonly hooks: SellerHooks,
  ) {
    this.store = new VoucherStore(ctx.trades.db);
  }

  /** Settle whatever a crash left unsettled (the vouchers were stored before they were acknowledged). */
  start(): void {
    for (const v of this.store.all('in')) {
      if (!v.tx) continue;
      const sale = this.ctx.trades.sale(v.requestId);
      if (sale && !isFinal(sale.state)) this.#watch(sale);
      this.settle(v.requestId, 'unsettled at start');
    }
  }

  async stop(): Promise<void> {
    for (const w of this.#watches.values()) w.stop();
    this.#watches.clear();
    await Promise.allSettled([...this.#settling.values()]);
  }

  exposure(sale: SaleRow): Exposure {
    const v = this.store.get(sale.id, 'in');
    const unsettled = v?.tx ? v.lamports : 0n;
    return {
      unsettled,
      creditLimit: creditLimit(sale.pricePerPeriod, this.store.settledBy(sale.buyer)),
      signed: (v?.settled ?? 0n) + unsettled,
      settled: v?.settled ?? 0n,
      settlements: v?.settlements ?? 0,
    };
  }

  /** A voucher arrived on the stream: check it locally, store it, acknowledge it. */
  async onVoucher(saleId: string, m: VoucherControl): Promise<VoucherAck> {
    await this.#settling.get(saleId); // a settlement under way changes the nonce: answer after it
    const sale = this.ctx.trades.sale(saleId);
    const ack = (ok: boolean, reason?: string): VoucherAck => ({
      t: 'voucher-ack',
      period: m.period,
      ok,
      ...(reason ? { reason: reason.slice(0, 256) } : {}),
      paidUntil: Math.max(0, Math.floor(this.hooks.deadline(saleId))),
    });
    if (!sale || isFinal(sale.state)) return ack(false, `ended: this sale is ${sale?.state ?? 'unknown'}`);
    const log = this.ctx.log.child({ requestId: saleId, period: m.period });
    let row = this.store.get(saleId, 'in');
    const refuse = (reason: string, detail: string, signature?: string): VoucherAck => {
      const text = `${reason}: ${detail}`;
      log.info({ reason, detail }, 'voucher refused');
      this.ctx.trades.recordRefusedPayment({
        signature: signature ?? `voucher:${saleId}:${m.period}:${reason}`,
        requestId: saleId,
        payer: sale.buyer,
        recipient: this.ctx.identity.address,
        lamports: 0n,
        period: m.period,
        reason: `voucher ${text}`,
        slot: null,
      });
      if (row) this.store.update(saleId, 'in', { reason: text });
      this.ctx.emit('payment', {
        direction: 'in',
        requestId: saleId,
        period: m.period,
        lamports: 0n,
        signature: signature ?? '',
        state: 'refused',
        reason: text,
      });
      if (CUTS.has(reason)) {
        // money at risk: cut the stream once the answer is out
        setTimeout(() => this.hooks.endSale(saleId, 'failed', `voucher refused: ${text}`), 100).unref();
      }
      return ack(false, text);
    };
    if (!row) {
      // the first voucher names the buyer's nonce account: read it once (authority, value)
      const st = await readNonce(this.ctx.ledger.rpc, m.nonceAccount as Address).catch(() => null);
      if (!st) return refuse('wrong-nonce', `${m.nonceAccount} is no nonce account`);
      if (st.authority !== sale.buyer)
        return refuse('wrong-nonce', `the nonce account's authority is ${st.authority}, not the buyer`);
      row = this.store.get(saleId, 'in') ?? this.store.open(saleId, 'in', m.nonceAccount, st.value);
    }
    const cur: VoucherRow = row;
    if (m.nonceAccount !== cur.nonceAccount)
      return refuse('wrong-nonce', `nonce account ${m.nonceAccount}, this purchase uses ${cur.nonceAccount}`);
    if (m.period <= sale.paidThrough)
      return refuse('superseded', `period ${m.period} is already vouched for (through ${sale.paidThrough})`);
    if (m.period !== sale.paidThrough + 1)
      return refuse('wrong-period', `period ${m.period} out of order (vouched through ${sale.paidThrough})`);
    const owed = sale.pricePerPeriod * BigInt(m.period - cur.settledThrough);
    // a relayed connection over a priced relay: the voucher may carry the relay's share beside
    // ours (docs/market.md "Priced relays") — only to a relay this sale's connection ran over, and
    // never more than what the voucher pays us
    const relays = this.#relays.get(saleId) ?? new Set<string>();
    this.#relays.set(saleId, relays);
    const relay = relayOf(this.ctx.net.bestConnection(addressToPeerId(sale.buyer)));
    if (relay) relays.add(peerIdToAddress(relay));
    const c = await checkVoucher(m.tx, {
      buyer: sale.buyer as Address,
      nonceAccount: cur.nonceAccount as Address,
      nonceValue: cur.nonceValue,
      requestId: saleId,
      period: m.period,
      transfers: [{ to: this.ctx.identity.address, lamports: owed }],
      // in what the sale is priced in: a token voucher must pay that mint (else 'wrong-mint')
      asset: await this.ctx.ledger.asset(sale.mint),
      others: { allowed: (to) => relays.has(to), maxLamports: owed },
    });
    if (!c.ok) {
      if (c.reason === 'wrong-nonce' && this.#stale.get(saleId)?.has(lifetimeOf(m.tx) ?? ''))
        return refuse(
          'stale-nonce',
          `signed against a nonce our settlement consumed; the value now is ${cur.nonceValue}`,
        );
      return refuse(c.reason, c.detail);
    }
    // stored before the ack: a crash after this settles it at start
    row = this.store.update(saleId, 'in', {
      period: m.period,
      lamports: c.lamports,
      tx: m.tx,
      signature: c.signature,
      reason: null,
    });
    this.ctx.trades.updateSale(saleId, { paidThrough: m.period, earned: row.settled + c.lamports });
    this.hooks.move(saleId, 'streaming', `voucher through period ${m.period} (${c.lamports} lamports unsettled)`);
    this.ctx.emit('payment', {
      direction: 'in',
      requestId: saleId,
      period: m.period,
      lamports: sale.pricePerPeriod,
      signature: c.signature,
      state: 'vouched',
    });
    const others = (c.others ?? []).reduce((a, t) => a + t.lamports, 0n);
    this.#othersOwed.set(saleId, others);
    this.#watch(sale);
    const limit = creditLimit(sale.pricePerPeriod, this.store.settledBy(sale.buyer));
    const bal = this.#watches.get(`sol:${sale.buyer}`)?.value ?? null;
    const tokens = sale.mint ? (this.#watches.get(`${sale.mint}:${sale.buyer}`)?.value ?? null) : null;
    if (c.lamports >= limit) this.settle(saleId, `credit limit ${limit} reached`);
    else if (sale.mint && tokens !== null && tokens < c.lamports)
      this.settle(saleId, `buyer token balance ${tokens} below what is owed (${c.lamports})`);
    else if (bal !== null && bal < (sale.mint ? 0n : c.lamports) + others + SETTLE_FEE_MARGIN)
      this.settle(saleId, `buyer balance ${bal} below what is owed (${c.lamports} + ${others} to relays)`);
    return ack(true);
  }

  /** Settle a sale's newest voucher on the ledger now (in the background; one at a time). */
  settle(saleId: string, why: string): Promise<void> {
    const under = this.#settling.get(saleId);
    if (under) return under;
    const p = this.#settle(saleId, why)
      .catch((e) => this.ctx.log.error({ requestId: saleId, err: (e as Error).message }, 'settlement crashed'))
      .finally(() => this.#settling.delete(saleId));
    this.#settling.set(saleId, p);
    return p;
  }

  async #settle(saleId: string, why: string): Promise<void> {
    const v = this.store.get(saleId, 'in');
    if (!v?.tx || !v.signature) return;
    const sale = this.ctx.trades.sale(saleId);
    const buyer = sale?.buyer ?? '';
    const log = this.ctx.log.child({ requestId: saleId, period: v.period, lamports: v.lamports });
    log.info({ why }, 'settling voucher');
    const record = {
      signature: v.signature,
      requestId: saleId,
      payer: buyer,
      recipient: this.ctx.identity.address,
      lamports: v.lamports,
      period: v.period,
    };
    let slot: bigint;
    try {
      // already landed (a crash between landing and recording): nothing to send again
      const known = await txStatus(this.ctx.ledger.rpc, v.signature).catch(() => null);
      if (known === true) slot = 0n;
      else slot = (await submitAndConfirm(this.ctx.ledger.rpc, v.tx)).slot;
    } catch (e) {
      const reason = await this.#failure(v, e as Error);
      log.warn({ reason }, 'settlement failed');
      this.store.update(saleId, 'in', { tx: null, lamports: 0n, reason: `settlement failed: ${reason}` });
      this.ctx.trades.recordRefusedPayment({ ...record, reason: `settlement failed: ${reason}`, slot: null });
      this.ctx.emit('payment', {
        direction: 'in',
        requestId: saleId,
        period: v.period,
        lamports: v.lamports,
        signature: v.signature,
        state: 'refused',
        reason: `settlement failed: ${reason}`,
      });
      if (sale) this.ctx.trades.updateSale(saleId, { earned: v.settled });
      this.hooks.endSale(saleId, 'failed', `settlement failed: ${reason}; ${v.lamports} lamports unsettled are lost`);
      return;
    }
    const st = await readNonce(this.ctx.ledger.rpc, v.nonceAccount as Address).catch(() => null);
    let stale = this.#stale.get(saleId);
    if (!stale) this.#stale.set(saleId, (stale = new Set()));
    stale.add(v.nonceValue);
    // a newer voucher may have arrived meanwhile? No: vouchers wait for settlements (onVoucher)
    this.#othersOwed.delete(saleId);
    this.store.update(saleId, 'in', {
      tx: null,
      lamports: 0n,
      settledThrough: v.period,
      settled: v.settled + v.lamports,
      settlements: v.settlements + 1,
      nonceValue: st?.value ?? v.nonceValue,
      reason: null,
    });
    this.ctx.trades.recordPayment({ ...record, direction: 'in', state: 'verified', reason: null, slot });
    if (sale) this.ctx.trades.updateSale(saleId, { earned: v.settled + v.lamports });
    this.ctx.emit('payment', {
      direction: 'in',
      requestId: saleId,
      period: v.period,
      lamports: v.lamports,
      signature: v.signature,
      state: 'verified',
    });
    this.hooks.notify(saleId, {
      t: 'settled',
      signature: v.signature,
      through: v.period,
      lamports: String(v.lamports),
    });
    log.info('voucher settled');
  }

  /** Why a settlement did not land, in the words the records use. */
  async #failure(v: VoucherRow, e: Error): Promise<string> {
    const st = await readNonce(this.ctx.ledger.rpc, v.nonceAccount as Address).catch(() => undefined);
    if (st === null) return 'the buyer closed its nonce account';
    if (st && st.value !== v.nonceValue) return 'the buyer advanced its nonce behind our back';
    const sale = this.ctx.trades.sale(v.requestId);
    const bal = sale ? await this.ctx.ledger.balance(sale.buyer as Address).catch(() => null) : null;
    if (sale?.mint) {
      const asset = await this.ctx.ledger.asset(sale.mint).catch(() => null);
      const tokens = asset ? await this.ctx.ledger.balanceOf(asset, sale.buyer as Address).catch(() => null) : null;
      if (tokens !== null && tokens < v.lamports)
        return `the buyer emptied its ${asset?.symbol ?? 'token'} account (${tokens} left, ${v.lamports} owed)`;
      if (bal !== null && bal < 5000n) return `the buyer cannot pay the settlement's fee (${bal} lamports left)`;
    } else if (bal !== null && bal < v.lamports + 5000n)
      return `the buyer emptied its account (${bal} lamports left, ${v.lamports} owed)`;
    return e.message.slice(0, 200);
  }

  /** The sale ended: settle what is left, stop watching its buyer when it was the last. */
  onSaleEnd(saleId: string): void {
    const v = this.store.get(saleId, 'in');
    if (v?.tx) void this.settle(saleId, 'sale ended').finally(() => this.#relays.delete(saleId));
    else this.#relays.delete(saleId);
    for (const [key, w] of this.#watches) {
      if (!w.sales.delete(saleId) || w.sales.size > 0) continue;
      w.stop();
      this.#watches.delete(key);
    }
  }

  /**
   * Watch the buyer's balances (subscriptions): SOL always — a SOL sale settles at once when the
   * buyer's lamports fall below what is owed (+ the fee), a token sale when they cannot pay the
   * settlement's fee — and, for a sale priced in a token (USDC), the buyer's token account: it
   * settles at once when the token balance falls below what is owed.
   */
  #watch(sale: SaleRow): void {
    const watch = (key: string, start: (entry: BalanceWatch) => () => void): void => {
      let w = this.#watches.get(key);
      if (!w) {
        const entry: BalanceWatch = { stop: () => {}, value: null, sales: new Set<string>() };
        entry.stop = start(entry);
        this.#watches.set(key, (w = entry));
      }
      w.sales.add(sale.id);
    };
    watch(`sol:${sale.buyer}`, (entry) =>
      this.ctx.ledger.watchLamports(sale.buyer as Address, (lamports) => {
        entry.value = lamports;
        for (const id of entry.sales) {
          const v = this.store.get(id, 'in');
          if (!v?.tx) continue;
          const others = this.#othersOwed.get(id) ?? 0n;
          if (this.ctx.trades.sale(id)?.mint) {
            if (lamports < SETTLE_FEE_MARGIN + others)
              this.settle(id, `buyer SOL balance ${lamports} cannot pay the settlement's fee much longer`);
          } else if (lamports < v.lamports + others + SETTLE_FEE_MARGIN)
            this.settle(id, `buyer balance ${lamports} below what is owed (${v.lamports + others})`);
        }
      }),
    );
    if (!sale.mint) return;
    const mint = sale.mint;
    watch(`${mint}:${sale.buyer}`, (entry) => {
      let stop = (): void => {};
      let stopped = false;
      void this.ctx.ledger.asset(mint).then((asset) => {
        if (stopped) return;
        stop = this.ctx.ledger.watchTokenBalance(sale.buyer as Address, asset, (amount) => {
          entry.value = amount;
          for (const id of entry.sales) {
            const v = this.store.get(id, 'in');
            if (v?.tx && amount < v.lamports)
              this.settle(id, `buyer ${asset.symbol} balance ${amount} below what is owed (${v.lamports})`);
          }
        });
      });
      return () => {
        stopped = true;
        stop();
      };
    });
  }
}

/** A buyer balance followed by subscription (SOL, or one token) and the sales it matters to. */
interface BalanceWatch {
  stop: () => void;
  value: bigint | null;
  sales: Set<string>;
}

/** Lamports a buyer keeps for a settlement's fee (base + a priority): below it, settle now. */
const SETTLE_FEE_MARGIN = 10_000n;

/** The nonce value ("blockhash") a wire transaction was signed against (null: unreadable). */
function lifetimeOf(txBase64: string): string | null {
  try {
    const tx = getTransactionDecoder().decode(getBase64Encoder().encode(txBase64));
    const msg = getCompiledTransactionMessageDecoder().decode(tx.messageBytes) as { lifetimeToken?: string };
    return msg.lifetimeToken ?? null;
  } catch {
    return null;
  }
}

// ---------------------------------------------------------------- buyer

export class VoucherBuyer {
  readonly store: VoucherStore;
  /** The sync under way per purchase (sync()). */
  readonly #syncs = new Map<string, Promise<void>>();
  /** Per purchase: each vouched period's relay share (kept in memory until a settlement covers it). */
  readonly #relayShares = new Map<string, { period: number; relay: string; lamports: bigint }[]>();

  /** The relays' transfers of a voucher: the shares of the periods after the last settlement,
   *  cumulative per relay like the seller's amount. */
  #shareTransfers(id: string, settledThrough: number): VoucherTransfer[] {
    const list = (this.#relayShares.get(id) ?? []).filter((e) => e.period > settledThrough);
    this.#relayShares.set(id, list);
    const by = new Map<string, bigint>();
    for (const e of list) by.set(e.relay, (by.get(e.relay) ?? 0n) + e.lamports);
    return [...by].map(([to, lamports]) => ({ to: to as Address, lamports }));
  }
  /** Each purchase's voucher budget and when it was planned. */
  readonly #budgets = new Map<string, { at: number; budget: Budget; transfers: number }>();

  constructor(private readonly ctx: MarketContext) {
    this.store = new VoucherStore(ctx.trades.db);
  }

  exposure(p: PurchaseRow): Exposure {
    const v = this.store.get(p.id, 'out');
    const unsettled = v?.tx ? v.lamports : 0n;
    return {
      unsettled,
      creditLimit: 0n,
      signed: (v?.settled ?? 0n) + unsettled,
      settled: v?.settled ?? 0n,
      settlements: v?.settlements ?? 0,
    };
  }

  /**
   * Vouch for `period` (the caller checked cap, minutes, data): the nonce account first if the
   * purchase has none (ONE transaction, its rent locked until the end), then a voucher stored,
   * sent, acknowledged. Returns null when the seller acknowledged it, else why not.
   */
  async vouch(
    run: Run,
    p: PurchaseRow,
    period: number,
    fee: bigint,
    share?: { relay: string; lamports: bigint },
  ): Promise<string | null> {
    const session = run.session;
    if (!session || session.ended) return 'no stream to the seller';
    const signer = await this.ctx.identity.signer();
    let v = this.store.get(p.id, 'out');
    const asset = await this.ctx.ledger.asset(p.mint);
    if (!v && asset.kind === 'spl' && (await this.ctx.ledger.tokenAccountMissing(asset, p.seller as Address))) {
      // a settlement pays into the seller's token account: create it first (the buyer saw this rent
      // in the quote; booked as a fee of the purchase, with the transaction's fee)
      const rent = await this.ctx.ledger.tokenAccountRent();
      const sent = await sendInstructions(
        this.ctx.ledger.rpc,
        signer,
        [await createTokenAccountInstruction(signer, p.seller as Address, asset)],
        this.ctx.ledger.fees,
      );
      this.#addFees(p.id, sent.fee + rent);
      this.ctx.log.info({ id: p.id, seller: p.seller, rent }, "seller's token account created for vouchers");
    }
    if (!v) {
      const n = await createNonceAccount(this.ctx.ledger.rpc, signer, this.ctx.ledger.fees);
      v = this.store.open(p.id, 'out', n.account, n.state.value, n.rent);
      // two signatures (ours and the new account's) and its priority fee
      this.#addFees(p.id, n.sent.fee);
      this.ctx.log.info({ id: p.id, nonceAccount: n.account, rent: n.rent }, 'nonce account created for vouchers');
    }
    // the period runs over a priced relay: its share goes in the voucher too (SOL vouchers only: a
    // token voucher holds transfers of its token alone)
    const shares = (this.#relayShares.get(p.id) ?? []).filter((e) => e.period !== period);
    if (share && asset.kind === 'sol') shares.push({ period, relay: share.relay, lamports: share.lamports });
    this.#relayShares.set(p.id, shares);
    for (let attempt = 0; attempt < 2; attempt++) {
      const price = p.pricePerPeriod ?? 0n;
      const lamports = price * BigInt(period - v.settledThrough);
      const terms = {
        buyer: signer,
        requestId: p.id,
        period,
        asset,
        transfers: [{ to: p.seller as Address, lamports }, ...this.#shareTransfers(p.id, v.settledThrough)],
        expiresAt: Math.floor(Date.now() / 1000) + MEMO_TTL_SEC,
      };
      const signed = await signVoucher({
        ...terms,
        nonceAccount: v.nonceAccount as Address,
        nonceValue: v.nonceValue,
        budget: await this.#budget(p.id, signer, terms),
      });
      // stored before it leaves: we always know the most we signed
      v = this.store.update(p.id, 'out', { period, lamports, tx: signed.tx, signature: signed.signature });
      const answer = new Promise<VoucherAck | null>((resolve) => {
        const t = setTimeout(() => done(null), ACK_TIMEOUT_MS);
        const onAck = (a: VoucherAck): void => {
          if (a.period === period) done(a);
        };
        const onEnd = (): void => done(null);
        const done = (a: VoucherAck | null): void => {
          clearTimeout(t);
          session.off('voucher-ack', onAck);
          session.off('end', onEnd);
          resolve(a);
        };
        session.on('voucher-ack', onAck);
        session.on('end', onEnd);
      });
      if (!session.sendVoucher({ t: 'voucher', period, nonceAccount: v.nonceAccount, tx: signed.tx }))
        return 'the stream to the seller is gone';
      const a = await answer;
      if (!a) return 'the seller did not answer the voucher';
      if (a.ok) return null;
      if (!a.reason?.startsWith('stale-nonce') && !a.reason?.startsWith('wrong-nonce')) return a.reason ?? 'refused';
      // the seller settled meanwhile: learn the new nonce value and sign again
      v = await this.sync(p.id, fee);
      if (!v) return 'nonce account gone';
    }
    return 'the seller refused the voucher twice';
  }

  /**
   * A voucher's compute-unit limit and priority fee: the rule of every transaction
   * (FeePlanner.budgetFor), simulated once per purchase and then refreshed every BUDGET_TTL_MS
   * (the vouchers of a purchase all have the same shape).
   */
  async #budget(
    id: string,
    signer: Awaited<ReturnType<MarketContext['identity']['signer']>>,
    terms: Parameters<typeof voucherInstructions>[0],
  ): Promise<Budget> {
    const hit = this.#budgets.get(id);
    // planned again when a relay's share adds a transfer (more compute units)
    const transfers = terms.transfers.length;
    if (hit && hit.transfers === transfers && Date.now() - hit.at < BUDGET_TTL_MS) return hit.budget;
    const budget = await this.ctx.ledger.fees.budgetFor(signer, await voucherInstructions(terms));
    this.#budgets.set(id, { at: Date.now(), budget, transfers });
    return budget;
  }

  /** The seller says it settled: check the nonce moved, book the settlement and its fee. */
  async onSettled(id: string, s: Settled, fee: bigint): Promise<void> {
    const v = this.store.get(id, 'out');
    if (!v || v.signature !== s.signature) {
      // an older voucher of ours, or none: re-read the account anyway
      await this.sync(id, fee);
      return;
    }
    await this.sync(id, fee);
  }

  /**
   * Re-read the nonce account: when its value moved, our newest voucher landed (checked on the
   * ledger) — book it as settled and sign against the new value from now on.
   */
  sync(id: string, fee: bigint): Promise<VoucherRow | null> {
    // one at a time per purchase: a settlement notice, a stale-nonce retry and the closer can ask
    // at once, and two reads that both see the nonce moved would book the same settlement twice
    const next = (this.#syncs.get(id) ?? Promise.resolve()).then(() => this.#sync(id, fee));
    const tail = next.then(
      () => undefined,
      () => undefined,
    );
    this.#syncs.set(id, tail);
    void tail.then(() => {
      if (this.#syncs.get(id) === tail) this.#syncs.delete(id);
    });
    return next;
  }

  async #sync(id: string, fee: bigint): Promise<VoucherRow | null> {
    const v = this.store.get(id, 'out');
    if (!v) return null;
    const st = await readNonce(this.ctx.ledger.rpc, v.nonceAccount as Address);
    if (!st) return null;
    if (st.value === v.nonceValue) return v;
    // the nonce moved: which of our vouchers of that value landed? (read back from the ledger:
    // the seller may have settled an older one than the newest we signed)
    // what it paid the seller (a relay's share in the same voucher is booked with the fees)
    const seller = this.ctx.trades.purchase(id)?.seller;
    const landed = await lastSettledVoucher(
      this.ctx.ledger.rpc,
      v.nonceAccount as Address,
      this.ctx.identity.address,
      id,
      seller ? [seller as Address] : undefined,
    );
    if (landed && landed.period > v.settledThrough) {
      this.#addFees(id, landed.fee || fee); // what the settlement paid, as the ledger says
      const p = this.ctx.trades.purchase(id);
      // a voucher whose ack we never saw (stream gone, stop) was still ours: book what it paid
      if (p && p.pricePerPeriod !== null && landed.period > p.paidThrough)
        this.ctx.trades.updatePurchase(id, {
          paidThrough: landed.period,
          spent: p.pricePerPeriod * BigInt(landed.period + 1),
        });
      this.ctx.trades.recordPayment({
        signature: landed.signature,
        requestId: id,
        direction: 'out',
        payer: this.ctx.identity.address,
        recipient: p?.seller ?? '',
        lamports: landed.lamports,
        period: landed.period,
        state: 'confirmed',
        reason: null,
        slot: null,
      });
      this.ctx.emit('payment', {
        direction: 'out',
        requestId: id,
        period: landed.period,
        lamports: landed.lamports,
        signature: landed.signature,
        state: 'confirmed',
      });
      // every other voucher of the old value is void now
      return this.store.update(id, 'out', {
        nonceValue: st.value,
        tx: null,
        lamports: 0n,
        period: Math.max(v.period, landed.period),
        settledThrough: landed.period,
        settled: v.settled + landed.lamports,
        settlements: v.settlements + 1,
      });
    }
    return this.store.update(id, 'out', { nonceValue: st.value, reason: 'nonce moved without our voucher landing' });
  }

  /**
   * Finished purchases: close the nonce account (rent back) once the seller settled our newest
   * voucher, or CLOSE_NONCE_AFTER_MS after the end without a settlement.
   */
  async closeFinished(fee: () => Promise<bigint>, closeAfterMs = CLOSE_NONCE_AFTER_MS): Promise<void> {
    for (const v of this.store.all('out')) {
      if (v.closedAt !== null) continue;
      const p = this.ctx.trades.purchase(v.requestId);
      if (!p || !isFinal(p.state)) continue;
      // one account's trouble (the ledger busy, …) must not hold back the others
      await this.#closeOne(v, p, await fee(), closeAfterMs).catch((e) =>
        this.ctx.log.warn({ id: v.requestId, err: (e as Error).message }, 'nonce account not closed (yet)'),
      );
    }
  }

  async #closeOne(v: VoucherRow, p: PurchaseRow, f: bigint, closeAfterMs: number): Promise<void> {
    const now = await this.sync(v.requestId, f);
    if (!now) {
      this.store.update(v.requestId, 'out', { closedAt: Date.now() });
      return;
    }
    if (now.tx && Date.now() - p.updatedAt < closeAfterMs) return; // the seller may still settle
    const signer = await this.ctx.identity.signer();
    const st = await readNonce(this.ctx.ledger.rpc, v.nonceAccount as Address);
    if (st) {
      const sent = await closeNonceAccount(
        this.ctx.ledger.rpc,
        signer,
        v.nonceAccount as Address,
        st.lamports,
        this.ctx.ledger.fees,
      );
      this.#addFees(v.requestId, sent.fee); // no close of ours (already gone): no fee
    }
    this.store.update(v.requestId, 'out', {
      closedAt: Date.now(),
      ...(now.tx ? { reason: 'closed with a voucher never settled by the seller' } : {}),
    });
    this.ctx.log.info({ id: v.requestId, nonceAccount: v.nonceAccount }, 'nonce account closed (rent back)');
  }

  #addFees(id: string, lamports: bigint): void {
    const p = this.ctx.trades.purchase(id);
    if (p) this.ctx.trades.updatePurchase(id, { fees: p.fees + lamports });
  }
}
