// Runs in: Node. Priced relays (docs/market.md "Priced relays"), both sides:
// - the buyer (BuyerRelayPricing): a relay is used only when its announced price is at most
//   roles.maxRelayPrice; each period paid while the purchase's connection runs over a priced relay
//   carries the relay's share, ceil(price × period / 1 min), as a second transfer in the period's
//   payment transaction (payment-scheduler.ts), kept in relay_payments;
// - the relay (RelayPayChecker): follows the shares paid to its address on the ledger, matches
//   each to the circuit between the payer and the peer it paid in the same transaction, and
//   credits that pair the minutes the share bought; net/relay-meter.ts cuts a circuit whose pair
//   has not paid within the grace window. Every share seen is kept in relay_payments.
// - vouchers (the default payment mode): a purchase that moves to a priced relay mid-way puts the
//   relay's share in its vouchers (a second transfer, cumulative since the seller's last
//   settlement, like the seller's); the buyer hands each voucher the seller accepted to the relay
//   over RELAY_VOUCHER_PROTOCOL, the relay checks it as the seller does (signature, the buyer's
//   nonce account and its value on the ledger, its own transfer, the circuit to the peer paid) and
//   credits the new part; it lands with the seller's settlement (the same transaction).
import { z } from 'zod';
import type { Address } from '@solana/kit';
import type { Connection, Stream } from '@libp2p/interface';
import type { Logger } from '../log';
import type { LedgerClient } from '../ledger/types';
import type { RelayShareReader } from '../ledger/relay-shares';
import type { RelayMeter } from '../net/relay-meter';
import { addressToPeerId, peerIdToAddress } from '../identity/identity';
import type { RoleStore } from '../store/roles';
import type { RelayPricing, RelayVoucher } from './types';
import { readNonce } from '../ledger/nonce';
import { checkVoucher } from '../ledger/voucher-tx';

/** The protocol a buyer hands a priced relay the vouchers that carry its share on. */
export const RELAY_VOUCHER_PROTOCOL = '/axon/relay-voucher/1.0.0';

/** A voucher as it reaches the relay (from a stranger: validated). */
const RelayVoucherSchema = z
  .object({
    requestId: z.string().min(1).max(128),
    period: z.number().int().min(0).max(1_000_000_000),
    nonceAccount: z.string().regex(/^[1-9A-HJ-NP-Za-km-z]{32,44}$/, 'a base58 address'),
    tx: z
      .string()
      .max(4096)
      .regex(/^[A-Za-z0-9+/]+={0,2}$/, 'base64'),
  })
  .strict();

/** The relay's answer line. */
const RelayVoucherAnswer = z.object({ ok: z.boolean(), reason: z.string().max(300).optional() }).loose();

/** Read one line (at most `max` bytes) from a stream. */
async function readLine(stream: Stream, max: number): Promise<string> {
  let text = '';
  for await (const chunk of stream) {
    text += new TextDecoder().decode(chunk.subarray());
    if (text.includes('\n') || text.length > max) break;
  }
  return text.split('\n')[0] ?? '';
}

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
      /** Open a stream to a peer (the relay) on a protocol. */
      dialProtocol?(peer: string, protocol: string, signal: AbortSignal): Promise<Stream>;
    },
  ) {}

  /** Hand the relay a voucher the seller accepted that carries its share; resolves with its answer. */
  async sendVoucher(relayPeer: string, v: RelayVoucher): Promise<{ ok: boolean; reason?: string }> {
    if (!this.o.dialProtocol) return { ok: false, reason: 'no way to reach the relay' };
    const signal = AbortSignal.timeout(10_000);
    try {
      const stream = await this.o.dialProtocol(relayPeer, RELAY_VOUCHER_PROTOCOL, signal);
      const onAbort = (): void => stream.abort(new Error('the relay did not answer in time'));
      signal.addEventListener('abort', onAbort, { once: true });
      try {
        stream.send(new TextEncoder().encode(JSON.stringify(v) + '\n'));
        const a = RelayVoucherAnswer.parse(JSON.parse(await readLine(stream, 1024)));
        if (!a.ok)
          this.o.log.warn({ relay: relayPeer, requestId: v.requestId, reason: a.reason }, 'relay refused a voucher');
        return a.reason !== undefined ? { ok: a.ok, reason: a.reason } : { ok: a.ok };
      } finally {
        signal.removeEventListener('abort', onAbort);
        await stream.close().catch(() => undefined);
      }
    } catch (e) {
      this.o.log.warn(
        { relay: relayPeer, requestId: v.requestId, err: (e as Error).message },
        'voucher not handed to the relay',
      );
      return { ok: false, reason: (e as Error).message };
    }
  }

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
      this.o.store?.recordRelayPayment({ reason: null, ...row, direction: 'out', state: 'confirmed' });
    } catch (e) {
      this.o.log.warn({ err: (e as Error).message }, 'could not keep a relay share');
    }
  }
}

export interface RelayPayCheckerOptions {
  ledger: Pick<LedgerClient, 'relayShareReader' | 'rpc'>;
  /** Where the relay takes vouchers (RELAY_VOUCHER_PROTOCOL); without it only ledger shares count. */
  libp2p?: {
    handle(protocol: string, handler: (s: Stream, c: Connection) => Promise<void>, o?: object): Promise<void>;
    unhandle(protocol: string): Promise<void>;
  };
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

  /** Per buyer nonce account: the share the newest voucher of its current value carries. */
  readonly #vouched = new Map<string, { nonceValue: string; lamports: bigint }>();

  start(): void {
    this.o.meter.setPayGate({ graceMs: this.o.graceMs });
    void this.o.libp2p
      ?.handle(RELAY_VOUCHER_PROTOCOL, (s, c) => this.#onVoucherStream(s, c), { runOnLimitedConnection: false })
      .catch((e) => this.o.log.warn({ err: (e as Error).message }, 'relay vouchers not taken'));
    void this.poll(); // marks where reading starts
    this.#timer = setInterval(() => void this.poll(), this.o.pollMs);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    void this.o.libp2p?.unhandle(RELAY_VOUCHER_PROTOCOL).catch(() => undefined);
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

  async #onVoucherStream(stream: Stream, conn: Connection): Promise<void> {
    const payerPeer = conn.remotePeer.toString();
    let answer: { ok: boolean; reason?: string };
    try {
      const line = await readLine(stream, 8192);
      let parsed: unknown;
      try {
        parsed = JSON.parse(line);
      } catch {
        throw new Error('not a JSON line');
      }
      const m = RelayVoucherSchema.safeParse(parsed);
      if (!m.success)
        throw new Error(`bad voucher message: ${m.error.issues[0]?.path.join('.')}: ${m.error.issues[0]?.message}`);
      answer = await this.onVoucher(payerPeer, m.data);
    } catch (e) {
      answer = { ok: false, reason: (e as Error).message.slice(0, 300) };
    }
    if (!answer.ok) this.o.log.info({ payer: payerPeer, reason: answer.reason }, 'relay voucher refused');
    stream.send(new TextEncoder().encode(JSON.stringify(answer) + '\n'));
    await stream.close().catch(() => undefined);
  }

  /**
   * A voucher from `payerPeer` carrying this relay's share: checked as the seller checks one (the
   * buyer's signature alone, its durable nonce account at its current value on the ledger, no
   * instruction but transfers and the Payment memo), then its share is matched to the circuit
   * between the payer and the peer it pays, and the part not credited before is credited.
   */
  async onVoucher(payerPeer: string, m: RelayVoucher): Promise<{ ok: boolean; reason?: string }> {
    const payer = peerIdToAddress(payerPeer);
    const relay = this.#reader.relay;
    // only a peer with a circuit through us costs us a ledger read
    const circuits = this.o.meter.circuits().filter((x) => x.src === payerPeer || x.dst === payerPeer);
    if (circuits.length === 0) return { ok: false, reason: 'no relayed circuit of the payer here' };
    const st = await readNonce(this.o.ledger.rpc, m.nonceAccount as Address).catch(() => null);
    if (!st) return { ok: false, reason: `${m.nonceAccount} is no nonce account` };
    if (st.authority !== payer) return { ok: false, reason: "the nonce account is not the payer's" };
    const c = await checkVoucher(m.tx, {
      buyer: payer as Address,
      nonceAccount: m.nonceAccount as Address,
      nonceValue: st.value,
      requestId: m.requestId,
      period: m.period,
      transfers: [],
      others: { allowed: () => true, maxLamports: 2n ** 63n },
    });
    if (!c.ok) return { ok: false, reason: `${c.reason}: ${c.detail}` };
    const mine = c.others?.find((t) => t.to === relay)?.lamports ?? 0n;
    if (mine === 0n) return { ok: false, reason: 'the voucher pays this relay nothing' };
    const other = (c.others ?? [])
      .filter((t) => t.to !== relay)
      .map((t) => addressToPeerId(t.to).toString())
      .find((p) => circuits.some((x) => x.src === p || x.dst === p));
    if (!other) return { ok: false, reason: 'no relayed circuit between the payer and the peer it pays' };
    const prev = this.#vouched.get(m.nonceAccount);
    const before = prev && prev.nonceValue === st.value ? prev.lamports : 0n;
    if (mine <= before) return { ok: true }; // nothing new (an older or the same voucher)
    this.#vouched.set(m.nonceAccount, { nonceValue: st.value, lamports: mine });
    const lamports = mine - before;
    let fresh = true;
    try {
      fresh =
        this.o.store?.recordRelayPayment({
          signature: c.signature,
          direction: 'in',
          requestId: m.requestId,
          period: m.period,
          payer,
          relay,
          peer: peerIdToAddress(other),
          lamports,
          state: 'verified',
          reason: 'voucher: lands with the seller’s settlement',
        }) ?? true;
    } catch (e) {
      this.o.log.warn({ err: (e as Error).message }, 'could not keep a relay share');
    }
    if (fresh) this.#creditPair(payerPeer, other, lamports, { requestId: m.requestId, voucher: true });
    return { ok: true };
  }

  /** Credit the pair the time `lamports` buy at this relay's price. */
  #creditPair(payerPeer: string, other: string, lamports: bigint, meta: Record<string, unknown>): void {
    const ms = relayMsPaid(lamports, this.o.pricePerMin);
    const from = Math.max(Date.now(), this.o.meter.paidUntil(payerPeer, other) ?? 0);
    this.o.meter.credit(payerPeer, other, from + ms);
    this.o.log.info({ payer: payerPeer, peer: other, lamports, paidMs: ms, ...meta }, 'relay share received');
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
    this.#creditPair(payerPeer, other, s.lamports, { requestId: s.payment?.requestId });
  }
}
