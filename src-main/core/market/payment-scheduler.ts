// Runs in: Node. The buyer's pay-as-you-go schedule: each next period is paid shortly before it
// starts — by default with a signed voucher over the stream (market/voucher.ts: no ledger
// transaction per period), or (timing.payments 'per-period') with ONE tx: System transfer +
// Payment memo on the seller's stdin — but only while data arrives, within the spending cap and
// the bought minutes. Otherwise the paid time runs out and the purchase ends (through
// PurchaseControl.stopPurchase).
import type { Address } from '@solana/kit';
import { newNonce, expiresIn } from '../ledger/messages';
import { isFinal, type PurchaseRow } from '../store/trades';
import type { MarketContext } from './context';
import type { BackgroundTasks } from './background-tasks';
import { paidUntil, type PurchaseControl, type Run } from './purchase-run';
import { addressToPeerId } from '../identity/identity';
import { VoucherBuyer } from './voucher';

/**
 * One more period (its price and the fee of its transaction) fits the spending cap; a purchase
 * paid in a token counts prices only (its cap is in token units, its fees are lamports).
 */
function withinCap(p: PurchaseRow, fee: bigint): boolean {
  if (p.mint) return p.spent + (p.pricePerPeriod ?? 0n) <= p.maxLamports;
  return p.spent + p.fees + (p.pricePerPeriod ?? 0n) + fee <= p.maxLamports;
}

/**
 * Vouchers: one more period fits the cap with the fees still to come reserved — the settlement of
 * the newest voucher (one at a time is unsettled), closing the nonce account, and creating it
 * (two signatures) if not done yet. Fees already paid are in `fees`.
 */
function withinVoucherCap(p: PurchaseRow, fee: bigint, hasNonce: boolean, relayShare = 0n): boolean {
  // a token-priced purchase's cap is in the token: its fees (lamports) are shown beside it (pricing.ts)
  if (p.mint) return p.spent + (p.pricePerPeriod ?? 0n) <= p.maxLamports;
  const reserve = 2n * fee + (hasNonce ? 0n : 2n * fee);
  return p.spent + p.fees + (p.pricePerPeriod ?? 0n) + relayShare + reserve <= p.maxLamports;
}

/** Period `k` (0-based) starts within the bought minutes. */
function withinMinutes(p: PurchaseRow, k: number): boolean {
  return p.periodMs !== null && p.periodMs > 0 && k * p.periodMs < p.maxMinutes * 60_000;
}

export class PaymentScheduler {
  readonly vouchers: VoucherBuyer;

  constructor(
    private readonly ctx: MarketContext,
    private readonly tasks: BackgroundTasks,
    private readonly control: PurchaseControl,
  ) {
    this.vouchers = new VoucherBuyer(ctx);
  }

  /** (Re)arm the timer that pays the next period, a little before the paid time runs out. */
  schedule(run: Run): void {
    if (run.payTimer) clearTimeout(run.payTimer);
    const p = this.ctx.trades.purchase(run.id);
    if (!p || isFinal(p.state) || p.startedAt === null || p.periodMs === null) return;
    const lead = Math.min(p.periodMs * 0.5, Math.max(300, p.periodMs * this.ctx.timing.payLeadFraction));
    const due = paidUntil(p) - lead;
    run.payTimer = setTimeout(() => this.tasks.run('payment', () => this.#due(run)), Math.max(0, due - Date.now()));
    run.payTimer.unref();
  }

  /** No frame for this long ends the purchase: scales with the period (2 periods, 2 s … dataStallMs). */
  #stallMs(p: PurchaseRow): number {
    return Math.min(this.ctx.timing.dataStallMs, Math.max(2000, 2 * (p.periodMs ?? 0)));
  }

  #later(run: Run, ms: number): void {
    run.payTimer = setTimeout(() => this.tasks.run('payment', () => this.#due(run)), ms);
    run.payTimer.unref();
  }

  /**
   * Time to pay the next period — or to stop. Rule: period k+1 is paid only if a frame arrived
   * during period k (after the connection); otherwise the purchase ends when period k does, with
   * "no data from the seller". A stream that dropped moments ago is being re-opened: as long as
   * data came during this period, keep paying so it can resume.
   */
  async #due(run: Run): Promise<void> {
    const p = this.ctx.trades.purchase(run.id);
    if (!p || isFinal(p.state) || run.stopping || p.startedAt === null || p.periodMs === null) return;
    const next = p.paidThrough + 1;
    const until = paidUntil(p);
    const now = Date.now();
    if (p.paidThrough < 0) return this.#firstPeriod(run, p, now);
    let stop: string | null = null;
    const fee = await this.#fee(run).catch(() => null);
    if (fee !== null && !this.#fits(p, fee, this.#relayShare(p)?.lamports))
      stop = p.mint
        ? `spending cap reached (${p.spent} of ${p.maxLamports} base units of the token)`
        : `spending cap reached (${p.spent} lamports + ${p.fees} lamports of fees of ${p.maxLamports})`;
    else if (!withinMinutes(p, next)) stop = `bought time used (${p.maxMinutes} min)`;
    if (!stop) {
      const periodStart = p.startedAt + p.paidThrough * p.periodMs;
      if (run.dataAt === null || run.dataAt < periodStart) {
        // nothing arrived during this period (yet): never pay the next one for nothing
        if (now < until) return this.#later(run, Math.min(250, until - now));
        const why = run.session ? 'no data from the seller' : 'no data from the seller (not connected)';
        await this.control.stopPurchase(run.id, `${why} during period ${p.paidThrough}`);
        return;
      }
      if (now - run.lastFrameAt > this.#stallMs(p))
        stop = run.session ? 'data stopped arriving' : 'no connection to the seller';
    }
    if (stop) {
      // let the paid time run out, then end
      const reason = stop;
      run.endTimer = setTimeout(
        () => this.tasks.run('stopping the purchase', () => this.control.stopPurchase(run.id, reason)),
        Math.max(0, until - now),
      );
      run.endTimer.unref();
      return;
    }
    const ok = await this.pay(run, next);
    if (ok) this.schedule(run);
    // failed (e.g. balance): try again shortly; the seller cuts us after the grace if it never lands
    else this.#later(run, 1000);
  }

  /**
   * Period 0 is paid when the stream opens (PurchaseStream). When that payment did not go through
   * — the stream dropped while the voucher was on its way, the ledger was slow — nothing is paid
   * yet and nothing is lost by trying again: pay period 0 again while a stream is open (a dropped
   * one is re-dialed by PurchaseStream meanwhile), for at most one period after the stream first
   * opened; then end, saying that nothing was paid. (Before this, the "data during period k" rule
   * ran with k = -1 and ended such a purchase at once: "no data … during period -1".)
   */
  async #firstPeriod(run: Run, p: PurchaseRow, now: number): Promise<void> {
    if (p.startedAt === null || p.periodMs === null) return;
    if (now < p.startedAt + p.periodMs) {
      if (run.session && !run.paying && (await this.pay(run, 0))) return this.schedule(run);
      return this.#later(run, 1000);
    }
    const why = run.session ? 'the first payment did not go through' : 'no connection to the seller';
    await this.control.stopPurchase(run.id, `${why} within the first period; no period was paid`);
  }

  /**
   * Whether this purchase pays by voucher: it has a nonce account already, or vouchers are on, no
   * priced relay takes a share, and it has not started paying per period.
   */
  #voucherMode(p: PurchaseRow, share: bigint | undefined): boolean {
    if (this.vouchers.store.get(p.id, 'out')) return true;
    if (this.ctx.timing.payments !== 'voucher' || share) return false;
    return !this.ctx.trades.payments(p.id).some((x) => x.direction === 'out');
  }

  /** One more period fits the spending cap, under the purchase's way of paying. */
  #fits(p: PurchaseRow, fee: bigint, share: bigint | undefined): boolean {
    if (!this.#voucherMode(p, share)) return withinCap(p, fee + (share ?? 0n));
    // a relay's share rides in a SOL voucher (docs/market.md "Priced relays") and counts like a fee
    return withinVoucherCap(p, fee, this.vouchers.store.get(p.id, 'out') !== null, p.mint ? 0n : (share ?? 0n));
  }

  /** The share of the next period owed to the priced relay the connection runs over now, if any. */
  #relayShare(p: PurchaseRow): ReturnType<NonNullable<MarketContext['relayPricing']>['shareFor']> {
    if (!this.ctx.relayPricing || p.periodMs === null) return undefined;
    return this.ctx.relayPricing.shareFor(addressToPeerId(p.seller).toString(), p.periodMs);
  }

  /** The fee of one payment (asked of the ledger once per run). */
  fee(run: Run): Promise<bigint> {
    return this.#fee(run);
  }

  async #fee(run: Run): Promise<bigint> {
    run.payFee ??= await this.ctx.ledger.estimateFee(true);
    return run.payFee;
  }

  /**
   * Pay `period` (true: paid now or already). Never over the cap (prices + fees), never beyond the
   * bought minutes, never twice at once.
   */
  async pay(run: Run, period: number): Promise<boolean> {
    if (run.paying) return false;
    run.paying = true;
    let p = this.ctx.trades.purchase(run.id);
    try {
      if (!p || p.pricePerPeriod === null || p.periodMs === null) return false;
      if (p.paidThrough >= period) return true;
      if (period !== p.paidThrough + 1 || !withinMinutes(p, period)) return false;
      const fee = await this.#fee(run);
      p = this.ctx.trades.purchase(run.id)!;
      const price = p.pricePerPeriod;
      if (p.paidThrough >= period) return true;
      if (price === null || isFinal(p.state) || run.stopping) return false;
      // a relayed connection over a priced relay: its share goes in the same transaction, and
      // counts against the cap like a fee (docs/market.md "Priced relays")
      const share = this.#relayShare(p);
      if (!this.#fits(p, fee, share?.lamports)) {
        this.ctx.log.info(
          { id: p.id, period, spent: p.spent, fees: p.fees, fee, relayShare: share?.lamports },
          'payment skipped: over the cap',
        );
        return false;
      }
      // a purchase that started with vouchers keeps them (a restart does not switch it over); one
      // whose first payment ran over a priced relay pays per period, each transaction carrying the
      // relay's share (a relay checks its share on the ledger; a voucher lands only when the seller
      // settles) — docs/market.md "Priced relays"
      if (this.#voucherMode(p, share?.lamports)) {
        const relayShare = share && !p.mint ? share : undefined;
        const why = await this.vouchers.vouch(run, p, period, fee, relayShare);
        if (why !== null) throw new Error(`voucher for period ${period} not accepted: ${why}`);
        const now = this.ctx.trades.purchase(run.id)!;
        // a settlement read back meanwhile (vouchers.sync) may have booked this period already
        if (now.paidThrough < period)
          this.ctx.trades.updatePurchase(p.id, {
            paidThrough: period,
            spent: now.spent + price,
            fees: now.fees + (relayShare?.lamports ?? 0n),
          });
        this.control.move(p.id, 'streaming', `vouched through period ${period}`);
        const v = this.vouchers.store.get(p.id, 'out');
        if (relayShare && v?.tx && v.signature) {
          this.ctx.relayPricing?.recordShare({
            signature: v.signature,
            requestId: p.id,
            period,
            payer: this.ctx.identity.address,
            relay: relayShare.relay,
            peer: p.seller,
            lamports: relayShare.lamports,
            reason: "in the voucher: lands with the seller's settlement",
          });
          // the relay checks it as the seller did and credits its share (it cannot wait for the
          // settlement: that comes at the seller's credit limit or at the end)
          const hand = this.ctx.relayPricing?.sendVoucher?.(relayShare.relayPeer, {
            requestId: p.id,
            period,
            nonceAccount: v.nonceAccount,
            tx: v.tx,
          });
          void hand?.catch(() => undefined);
        }
        this.ctx.emit('payment', {
          direction: 'out',
          requestId: p.id,
          period,
          lamports: price,
          signature: v?.signature ?? '',
          state: 'vouched',
        });
        return true;
      }
      // in the purchase's asset; a token payment creates the seller's token account when it has
      // none yet (the first one only; the buyer saw that rent in the quote) and books that rent as a fee
      const asset = await this.ctx.ledger.asset(p.mint);
      const createAccount =
        asset.kind === 'spl' &&
        p.paidThrough < 0 &&
        (await this.ctx.ledger.tokenAccountMissing(asset, p.seller as Address));
      const rent = createAccount ? await this.ctx.ledger.tokenAccountRent() : 0n;
      const res = await this.ctx.postTo(
        p.seller as Address,
        { type: 'Payment', nonce: newNonce(), expiresAt: expiresIn(600), requestId: p.id, period },
        {
          transfer: { to: p.seller as Address, lamports: price, asset, createRecipientAccount: createAccount },
          ...(share ? { relayShare: { to: share.relay as Address, lamports: share.lamports } } : {}),
          // a re-send bids higher only within what the cap leaves (a SOL purchase counts fees in it)
          ...(p.mint ? {} : { maxFeeLamports: p.maxLamports - p.spent - p.fees - price - (share?.lamports ?? 0n) }),
        },
      );
      if (share)
        this.ctx.relayPricing?.recordShare({
          signature: res.signature,
          requestId: p.id,
          period,
          payer: this.ctx.identity.address,
          relay: share.relay,
          peer: p.seller,
          lamports: share.lamports,
        });
      this.ctx.trades.recordPayment({
        signature: res.signature,
        requestId: p.id,
        direction: 'out',
        payer: this.ctx.identity.address,
        recipient: p.seller,
        lamports: price,
        period,
        state: 'confirmed',
        reason: null,
        slot: res.slot,
      });
      this.ctx.trades.updatePurchase(p.id, {
        paidThrough: period,
        spent: p.spent + price,
        fees: p.fees + res.fee + (share?.lamports ?? 0n) + rent,
      });
      this.control.move(p.id, 'streaming', `paid through period ${period}`);
      this.ctx.emit('payment', {
        direction: 'out',
        requestId: p.id,
        period,
        lamports: price,
        signature: res.signature,
        state: 'confirmed',
      });
      return true;
    } catch (e) {
      const msg = (e as Error).message;
      this.ctx.log.warn({ id: run.id, period, err: msg }, 'payment failed');
      this.ctx.emit('payment', {
        direction: 'out',
        requestId: run.id,
        period,
        lamports: p?.pricePerPeriod ?? 0n,
        signature: '',
        state: 'failed',
        reason: msg,
      });
      return false;
    } finally {
      run.paying = false;
    }
  }
}
