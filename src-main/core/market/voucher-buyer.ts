// Runs in: Node. The buyer's side of payment vouchers (docs/market.md "Vouchers"; shared rules in
// voucher.ts): signing and handing over a voucher per period, booking the seller's settlements,
// and the nonce accounts — kept ACROSS purchases (store/nonce-accounts.ts): a purchase takes a
// free one or creates one with its first voucher, gives it back once its newest voucher settled,
// and an account is closed (rent back) only when idle for a day or left with a voucher the seller
// never settled.
import type { Address } from '@solana/kit';
import { closeNonceAccount, createNonceAccount, readNonce } from '../ledger/nonce';
import { sendInstructions } from '../ledger/send';
import { signVoucher, lastSettledVoucher, voucherInstructions, type VoucherTransfer } from '../ledger/voucher-tx';
import type { Budget } from '../ledger/fees';
import { createTokenAccountInstruction } from '../ledger/assets';
import { isFinal, type PurchaseRow } from '../store/trades';
import { VoucherStore, type VoucherRow } from '../store/vouchers';
import { NonceAccountStore } from '../store/nonce-accounts';
import type { MarketContext } from './context';
import type { Settled, VoucherAck } from './frames';
import type { Run } from './purchase-run';
import { CLOSE_NONCE_AFTER_MS, MAX_FREE_NONCE_ACCOUNTS, NONCE_IDLE_CLOSE_MS, type Exposure } from './voucher-shared';

/** A purchase's voucher budget (units, price) is planned again after this long. */
const BUDGET_TTL_MS = 60_000;
/** How long the buyer waits for the seller's answer to a voucher. */
const ACK_TIMEOUT_MS = 10_000;
/** Voucher memos stay valid this long (the seller settles within it: end, credit, balance). */
const MEMO_TTL_SEC = 7 * 24 * 3600;

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
  /** Purchases whose vouch() runs now: their nonce account is not given back meanwhile. */
  readonly #vouching = new Set<string>();
  /** Each purchase's voucher budget and when it was planned. */
  readonly #budgets = new Map<string, { at: number; budget: Budget; transfers: number }>();

  /** The nonce accounts kept across purchases. */
  readonly pool: NonceAccountStore;

  constructor(private readonly ctx: MarketContext) {
    this.store = new VoucherStore(ctx.trades.db);
    this.pool = new NonceAccountStore(ctx.trades.db);
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
    this.#vouching.add(p.id);
    try {
      return await this.#vouch(run, p, period, fee, share);
    } finally {
      this.#vouching.delete(p.id);
    }
  }

  async #vouch(
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
    v ??= await this.#nonceFor(p, signer, asset);
    // the purchase may have ended while the account was being set up: sign nothing more
    if (isFinal(this.ctx.trades.purchase(p.id)?.state ?? 'ended')) return 'the purchase ended';
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
   * The nonce account a purchase's vouchers sign against: a free one kept from an earlier purchase
   * (no transaction), else a new one (ONE transaction, its rent locked until the account is
   * closed). A token purchase whose seller has no token account yet creates it in that same
   * transaction (or alone, with a kept account); the buyer saw its rent in the quote, booked as a
   * fee of the purchase.
   */
  async #nonceFor(
    p: PurchaseRow,
    signer: Awaited<ReturnType<MarketContext['identity']['signer']>>,
    asset: Awaited<ReturnType<MarketContext['ledger']['asset']>>,
  ): Promise<VoucherRow> {
    const { rpc, fees } = this.ctx.ledger;
    const tokenAccount =
      asset.kind === 'spl' && (await this.ctx.ledger.tokenAccountMissing(asset, p.seller as Address))
        ? [await createTokenAccountInstruction(signer, p.seller as Address, asset)]
        : [];
    const tokenRent = tokenAccount.length ? await this.ctx.ledger.tokenAccountRent() : 0n;
    const kept = this.pool.take(p.id);
    if (kept) {
      const st = await readNonce(rpc, kept.address as Address);
      if (st && st.authority === signer.address) {
        if (tokenAccount.length) {
          const sent = await sendInstructions(rpc, signer, tokenAccount, fees);
          this.#addFees(p.id, sent.fee + tokenRent);
        }
        this.ctx.log.info({ id: p.id, nonceAccount: kept.address }, 'nonce account of an earlier purchase reused');
        return this.store.get(p.id, 'out') ?? this.store.open(p.id, 'out', kept.address, st.value);
      }
      // unreadable now (gone, or the ledger did not answer): leave it to the closer, make a new one
      this.pool.release(kept.address);
      this.ctx.log.warn({ nonceAccount: kept.address }, 'kept nonce account unreadable; creating a new one');
    }
    const n = await createNonceAccount(rpc, signer, fees, tokenAccount);
    this.pool.add(n.account, n.rent, p.id);
    const v = this.store.open(p.id, 'out', n.account, n.state.value, n.rent);
    // two signatures (ours and the new account's), its priority fee, and a token account's rent
    this.#addFees(p.id, n.sent.fee + tokenRent);
    this.ctx.log.info({ id: p.id, nonceAccount: n.account, rent: n.rent }, 'nonce account created for vouchers');
    return v;
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
   * Finished purchases: once the seller settled a purchase's newest voucher (every voucher it
   * signed is then paid or void), its nonce account goes back to the pool for the next purchase
   * (no transaction); an account left with a voucher the seller did not settle within
   * `closeAfterMs` is closed (rent back: that voucher can never land). Then the pool's idle
   * accounts are closed (closeIdle).
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
    // a purchase that ended before its first voucher was stored (kill -9 in between): give its account back
    for (const a of this.pool.open()) {
      if (a.inUseBy === null || this.store.get(a.inUseBy, 'out')) continue;
      const p = this.ctx.trades.purchase(a.inUseBy);
      if (!p || isFinal(p.state)) this.pool.release(a.address);
    }
    // the fee is asked of the ledger only when there is something to close (an idle node reads nothing)
    if (this.#idle(NONCE_IDLE_CLOSE_MS).length === 0) return;
    await this.closeIdle(await fee()).catch((e) =>
      this.ctx.log.warn({ err: (e as Error).message }, 'idle nonce accounts not closed (yet)'),
    );
  }

  async #closeOne(v: VoucherRow, p: PurchaseRow, f: bigint, closeAfterMs: number): Promise<void> {
    const now = await this.sync(v.requestId, f);
    const kept = this.pool.get(v.nonceAccount);
    if (!now) {
      this.store.update(v.requestId, 'out', { closedAt: Date.now() });
      if (kept) this.pool.closed(v.nonceAccount);
      return;
    }
    if (!now.tx && kept && kept.inUseBy === v.requestId) {
      // every voucher of this purchase is settled or void: the next purchase signs against it
      if (this.#vouching.has(v.requestId)) return; // a voucher being signed as it ended: after it
      this.pool.release(v.nonceAccount);
      this.store.update(v.requestId, 'out', { closedAt: Date.now() });
      this.ctx.log.info({ id: v.requestId, nonceAccount: v.nonceAccount }, 'nonce account kept for the next purchase');
      return;
    }
    if (now.tx && Date.now() - p.updatedAt < closeAfterMs) return; // the seller may still settle
    const fee = await this.#closeAccount(v.nonceAccount);
    if (fee !== undefined) this.#addFees(v.requestId, fee); // no close of ours (already gone): no fee
    if (kept) this.pool.closed(v.nonceAccount);
    this.store.update(v.requestId, 'out', {
      closedAt: Date.now(),
      ...(now.tx ? { reason: 'closed with a voucher never settled by the seller' } : {}),
    });
    this.ctx.log.info({ id: v.requestId, nonceAccount: v.nonceAccount }, 'nonce account closed (rent back)');
  }

  /** Close a nonce account of ours (its rent back); the close's fee, or undefined when it is gone already. */
  async #closeAccount(address: string): Promise<bigint | undefined> {
    const st = await readNonce(this.ctx.ledger.rpc, address as Address);
    if (!st) return undefined;
    const sent = await closeNonceAccount(
      this.ctx.ledger.rpc,
      await this.ctx.identity.signer(),
      address as Address,
      st.lamports,
      this.ctx.ledger.fees,
    );
    return sent.fee;
  }

  /** Free accounts to close: unused for `idleMs`, or beyond the MAX_FREE_NONCE_ACCOUNTS most recently used. */
  #idle(idleMs: number): ReturnType<NonceAccountStore['free']> {
    return this.pool
      .free()
      .filter((a, i) => i >= MAX_FREE_NONCE_ACCOUNTS || Date.now() - (a.releasedAt ?? a.createdAt) >= idleMs);
  }

  /**
   * Close the pool's idle accounts (rent back): free ones unused for `idleMs` (a day), and the
   * free ones beyond the MAX_FREE_NONCE_ACCOUNTS most recently used. The close's fee is booked on
   * the last purchase that used the account.
   */
  async closeIdle(f: bigint, idleMs = NONCE_IDLE_CLOSE_MS): Promise<number> {
    let closed = 0;
    for (const a of this.#idle(idleMs)) {
      const fee = await this.#closeAccount(a.address);
      if (fee !== undefined) this.#addFees(a.lastUsedBy, fee || f);
      this.pool.closed(a.address);
      closed++;
      this.ctx.log.info({ nonceAccount: a.address }, 'idle nonce account closed (rent back)');
    }
    return closed;
  }

  #addFees(id: string, lamports: bigint): void {
    const p = this.ctx.trades.purchase(id);
    if (p) this.ctx.trades.updatePurchase(id, { fees: p.fees + lamports });
  }
}
