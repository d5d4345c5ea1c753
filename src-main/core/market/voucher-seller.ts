// Runs in: Node. The seller's side of payment vouchers (docs/market.md "Vouchers"; shared rules in
// voucher.ts): the local check of each voucher, the credit limit, settlements on the ledger, the
// buyer's balance watched by subscription.
import {
  getBase64Encoder,
  getCompiledTransactionMessageDecoder,
  getTransactionDecoder,
  type Address,
} from '@solana/kit';
import { readNonce } from '../ledger/nonce';
import { submitAndConfirm, txStatus } from '../ledger/send';
import { checkVoucher, type VoucherRefusal } from '../ledger/voucher-tx';
import { addressToPeerId, peerIdToAddress } from '../identity/identity';
import { relayOf } from './relay-pay';
import { isFinal, type SaleRow } from '../store/trades';
import { VoucherStore, type VoucherRow } from '../store/vouchers';
import type { MarketContext } from './context';
import type { Settled, VoucherAck, VoucherControl } from './frames';
import { creditLimit, type Exposure } from './voucher-shared';

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
