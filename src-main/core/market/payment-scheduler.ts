// Runs in: Node. The buyer's pay-as-you-go schedule: each next period is paid (ONE tx: System
// transfer + Payment memo on the seller's stdin) shortly before it starts — but only while data
// arrives, within the spending cap and the bought minutes. Otherwise the paid time runs out and
// the purchase ends (through PurchaseControl.stopPurchase).
import type { Address } from '@solana/kit';
import { newNonce, expiresIn } from '../ledger/messages';
import { isFinal, type PurchaseRow } from '../store/trades';
import type { MarketContext } from './context';
import type { BackgroundTasks } from './background-tasks';
import { paidUntil, type PurchaseControl, type Run } from './purchase-run';

export class PaymentScheduler {
  constructor(
    private readonly ctx: MarketContext,
    private readonly tasks: BackgroundTasks,
    private readonly control: PurchaseControl,
  ) {}

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
    const price = p.pricePerPeriod ?? 0n;
    const until = paidUntil(p);
    const now = Date.now();
    let stop: string | null = null;
    if (p.spent + price > p.maxLamports) stop = `spending cap reached (${p.spent} of ${p.maxLamports} lamports)`;
    else if (next * p.periodMs >= p.maxMinutes * 60_000) stop = `bought time used (${p.maxMinutes} min)`;
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

  /** Pay `period` (true: paid now or already). Never over the cap, never twice at once. */
  async pay(run: Run, period: number): Promise<boolean> {
    if (run.paying) return false;
    const p = this.ctx.trades.purchase(run.id);
    if (!p || p.pricePerPeriod === null) return false;
    if (p.paidThrough >= period) return true;
    if (p.spent + p.pricePerPeriod > p.maxLamports) return false;
    run.paying = true;
    try {
      const res = await this.ctx.postTo(
        p.seller as Address,
        { type: 'Payment', nonce: newNonce(), expiresAt: expiresIn(600), requestId: p.id, period },
        { transfer: { to: p.seller as Address, lamports: p.pricePerPeriod } },
      );
      this.ctx.trades.recordPayment({
        signature: res.signature,
        requestId: p.id,
        direction: 'out',
        payer: this.ctx.identity.address,
        recipient: p.seller,
        lamports: p.pricePerPeriod,
        period,
        state: 'confirmed',
        reason: null,
        slot: res.slot,
      });
      this.ctx.trades.updatePurchase(p.id, { paidThrough: period, spent: p.spent + p.pricePerPeriod });
      this.control.move(p.id, 'streaming', `paid through period ${period}`);
      this.ctx.emit('payment', {
        direction: 'out',
        requestId: p.id,
        period,
        lamports: p.pricePerPeriod,
        signature: res.signature,
        state: 'confirmed',
      });
      return true;
    } catch (e) {
      const msg = (e as Error).message;
      this.ctx.log.warn({ id: p.id, period, err: msg }, 'payment failed');
      this.ctx.emit('payment', {
        direction: 'out',
        requestId: p.id,
        period,
        lamports: p.pricePerPeriod,
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
