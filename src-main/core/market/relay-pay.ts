// Runs in: Node. Priced relays (docs/market.md "Priced relays"), both sides:
// - the buyer (BuyerRelayPricing): a relay is used only when its announced price is at most
//   roles.maxRelayPrice; each period paid while the purchase's connection runs over a priced relay
//   carries the relay's share, ceil(price × period / 1 min), as a second transfer in the period's
//   payment transaction (payment-scheduler.ts), kept in relay_payments;
// - the relay (RelayPayChecker): follows the shares paid to its address on the ledger, matches
//   each to the circuit between the payer and the peer it paid in the same transaction, and
//   credits that pair the minutes the share bought; net/relay-meter.ts cuts a circuit whose pair
//   has not paid within the grace window. Every share seen is kept in relay_payments.
import type { Connection } from '@libp2p/interface';
import type { Logger } from '../log';
import type { LedgerClient } from '../ledger/types';
import type { RelayShareReader } from '../ledger/relay-shares';
import type { RelayMeter } from '../net/relay-meter';
import { addressToPeerId, peerIdToAddress } from '../identity/identity';
import type { RoleStore } from '../store/roles';
import type { RelayPricing } from './types';

/** What one period of `periodMs` owes a relay priced at `pricePerMin` lamports per minute (rounded up). */
export function relayShare(pricePerMin: bigint, periodMs: number): bigint {
  if (pricePerMin <= 0n || periodMs <= 0) return 0n;
  const ms = BigInt(Math.ceil(periodMs));
  return (pricePerMin * ms + 59_999n) / 60_000n;
}

/** How long a share of `lamports` pays a relay priced at `pricePerMin` for (ms, rounded down). */
export function relayMsPaid(lamports: bigint, pricePerMin: bigint): number {
  if (pricePerMin <= 0n) return Number.MAX_SAFE_INTEGER;
  return Number((lamports * 60_000n) / pricePerMin);
}

/** The relay a connection runs through (…/p2p/<relay>/p2p-circuit/…), if it is relayed. */
export function relayOf(conn: Connection | undefined): string | undefined {
  return conn ? /\/p2p\/([^/]+)\/p2p-circuit/.exec(conn.remoteAddr.toString())?.[1] : undefined;
}

export class BuyerRelayPricing implements RelayPricing {
  constructor(
    private readonly o: {
      /** The price a relay announced (undefined: not in the directory). */
      priceOf(relayPeer: string): bigint | undefined;
      bestConnection(peer: string): Connection | undefined;
      /** roles.maxRelayPrice */
      maxPrice: bigint;
      store?: RoleStore;
      log: Logger;
    },
  ) {}

  allowed(relayPeer: string): boolean {
    return (this.o.priceOf(relayPeer) ?? 0n) <= this.o.maxPrice;
  }

  shareFor(peer: string, periodMs: number): { relay: string; relayPeer: string; lamports: bigint } | undefined {
    const relayPeer = relayOf(this.o.bestConnection(peer));
    if (!relayPeer) return undefined;
    const price = this.o.priceOf(relayPeer) ?? 0n;
    const lamports = relayShare(price, periodMs);
    if (lamports === 0n) return undefined;
    return { relay: peerIdToAddress(relayPeer), relayPeer, lamports };
  }

  recordShare(row: Parameters<RelayPricing['recordShare']>[0]): void {
    try {
      this.o.store?.recordRelayPayment({ ...row, direction: 'out', state: 'confirmed', reason: null });
    } catch (e) {
      this.o.log.warn({ err: (e as Error).message }, 'could not keep a relay share');
    }
  }
}

export interface RelayPayCheckerOptions {
  ledger: Pick<LedgerClient, 'relayShareReader'>;
  meter: RelayMeter;
  /** roles.relayPrice, lamports per minute (> 0). */
  pricePerMin: bigint;
  /** A circuit unpaid this long after it opened (or after its paid time) is cut. */
  graceMs: number;
  /** Read the ledger this often while circuits are open (ms). */
  pollMs: number;
  store?: RoleStore;
  log: Logger;
}

export class RelayPayChecker {
  readonly #reader: RelayShareReader;
  #timer: NodeJS.Timeout | null = null;
  #busy = false;
  #lastCircuitAt = 0;
  #started = false;

  constructor(private readonly o: RelayPayCheckerOptions) {
    this.#reader = o.ledger.relayShareReader();
  }

  start(): void {
    this.o.meter.setPayGate({ graceMs: this.o.graceMs });
    void this.poll(); // marks where reading starts
    this.#timer = setInterval(() => void this.poll(), this.o.pollMs);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    this.o.meter.setPayGate(undefined);
  }

  /** Read the shares that landed since the last poll and credit the circuits they pay for. */
  async poll(): Promise<void> {
    if (this.#busy) return;
    const circuits = this.o.meter.circuits();
    if (circuits.length > 0) this.#lastCircuitAt = Date.now();
    // idle (no circuit for a while): the ledger is not read — except the first call, which marks
    // where reading starts
    else if (this.#started && Date.now() - this.#lastCircuitAt > 4 * this.o.graceMs) return;
    this.#started = true;
    this.#busy = true;
    try {
      for (const s of await this.#reader.next()) this.#credit(s, circuits);
    } catch (e) {
      this.o.log.warn({ err: (e as Error).message }, 'reading relay shares failed');
    } finally {
      this.#busy = false;
    }
  }

  #credit(
    s: Awaited<ReturnType<RelayShareReader['next']>>[number],
    circuits: ReturnType<RelayMeter['circuits']>,
  ): void {
    const payerPeer = addressToPeerId(s.payer).toString();
    const open = circuits.filter((c) => c.src === payerPeer || c.dst === payerPeer);
    // the pair: the payer and the peer it paid in the same transaction, with a circuit between them
    const other = s.others
      .map((a) => addressToPeerId(a).toString())
      .find((p) => open.some((c) => c.src === p || c.dst === p));
    let reason: string | null = null;
    if (!s.payment) reason = 'no Payment memo in the transaction: it pays no purchase';
    else if (!other) reason = 'no relayed circuit between the payer and the peer it paid';
    const row = {
      signature: s.signature,
      direction: 'in' as const,
      requestId: s.payment?.requestId ?? '',
      period: s.payment?.period ?? -1,
      payer: s.payer,
      relay: this.#reader.relay,
      peer: other ? peerIdToAddress(other) : (s.others[0] ?? ''),
      lamports: s.lamports,
      state: reason ? ('refused' as const) : ('verified' as const),
      reason,
    };
    let fresh = true;
    try {
      fresh = this.o.store?.recordRelayPayment(row) ?? true;
    } catch (e) {
      this.o.log.warn({ err: (e as Error).message }, 'could not keep a relay share');
    }
    if (!fresh) return; // counted once
    if (reason || !other) {
      this.o.log.info(
        { signature: s.signature, payer: s.payer, lamports: s.lamports, reason },
        'relay share not matched',
      );
      return;
    }
    const ms = relayMsPaid(s.lamports, this.o.pricePerMin);
    const from = Math.max(Date.now(), this.o.meter.paidUntil(payerPeer, other) ?? 0);
    this.o.meter.credit(payerPeer, other, from + ms);
    this.o.log.info(
      { payer: s.payer, peer: other, lamports: s.lamports, paidMs: ms, requestId: s.payment?.requestId },
      'relay share received',
    );
  }
}
