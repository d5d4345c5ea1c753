// Runs in: Node. Wallet activity: every transaction that moved this wallet's lamports, reconciled
// from the ledger itself, so History accounts for every lamport whatever part of Axon spent it.
// getSignaturesForAddress(wallet) from a cursor (bounded pages), then getTransaction for each new
// one: the balance change (post − pre) and the fee are the ledger's own numbers. Each transaction is
// classified by its Axon memo (Listing, ServiceRequest, Payment, ...) or, without one, by its transfer
// (airdrop, transfer in/out, a voucher nonce account's deposit and refund), and linked to its purchase/sale (the message's or the payments table's
// request id) or own stream. The sum of the balance changes is the change of the balance.
import {
  getBase64Encoder,
  getCompiledTransactionMessageDecoder,
  getTransactionDecoder,
  type Address,
  type Signature,
} from '@solana/kit';
import type { Db } from '../store/db';
import type { Logger } from '../log';
import type { LedgerRpc } from '../ledger/rpc';
import { parseTransaction } from '../ledger/transactions';
import { decodeEnvelope } from '../ledger/envelope';
import { getCursor, setCursor } from '../store/cursors';
import { getPayment } from '../store/payments';
import { ActivityStore, type ActivityKind, type ActivityRow, type NewActivity } from '../store/activity';

const PAGE = 200;
/** At most this many new transactions are read per sync (the next sync goes on from there). */
const MAX_PER_SYNC = 400;
const COMMITMENT = 'confirmed' as const;

const KIND_OF_MESSAGE: Record<string, ActivityKind> = {
  Listing: 'listing',
  Delist: 'delist',
  ServiceRequest: 'request',
  ServiceAccept: 'accept',
  ServiceReject: 'reject',
  ServiceStop: 'stop',
  ServiceRedirect: 'reject', // a full seller's answer naming rebroadcasts (docs/mesh.md)
  NodeAnnounce: 'announce',
  RebroadcastOffer: 'announce', // an automatic rebroadcaster's offer (docs/mesh.md)
  RebroadcastAsk: 'request', // a full seller asks an automatic rebroadcaster to take its stream
};

const b64 = getBase64Encoder();
const txDecoder = getTransactionDecoder();
const msgDecoder = getCompiledTransactionMessageDecoder();

/** All account keys of a transaction in index order (static, then loaded writable, loaded readonly). */
function accountKeys(base64: string, loaded?: { writable?: readonly string[]; readonly?: readonly string[] } | null) {
  const tx = txDecoder.decode(b64.encode(base64));
  const msg = msgDecoder.decode(tx.messageBytes) as { staticAccounts: readonly string[] };
  return [...msg.staticAccounts, ...(loaded?.writable ?? []), ...(loaded?.readonly ?? [])];
}

export class WalletActivity {
  readonly store: ActivityStore;
  readonly #airdrops = new Set<string>();
  #syncing: Promise<number> | null = null;
  readonly #cursorName: string;

  constructor(private readonly o: { db: Db; rpc: LedgerRpc; wallet: Address; log: Logger }) {
    this.store = new ActivityStore(o.db);
    this.#cursorName = `wallet-activity:${o.wallet}`;
  }

  /** An airdrop this node asked for: its transfer is labelled so when it is reconciled. */
  noteAirdrop(signature: string): void {
    this.#airdrops.add(signature);
  }

  /** Read the wallet's new transactions from the ledger; resolves to how many were added. */
  sync(signal?: AbortSignal): Promise<number> {
    this.#syncing ??= this.#sync(signal).finally(() => (this.#syncing = null));
    return this.#syncing;
  }

  list(o: { limit?: number; requestId?: string; streamId?: string } = {}): ActivityRow[] {
    return this.store.list(this.o.wallet, o);
  }

  totals(): { delta: bigint; fees: bigint; count: number } {
    return this.store.totals(this.o.wallet);
  }

  async #sync(signal?: AbortSignal): Promise<number> {
    const { rpc, wallet } = this.o;
    const cursor = getCursor(this.o.db, this.#cursorName)?.lastSignature ?? undefined;
    // newest first, down to the cursor
    const sigs: { signature: Signature; slot: bigint }[] = [];
    let before: Signature | undefined;
    for (;;) {
      const page = await rpc
        .getSignaturesForAddress(wallet, {
          commitment: COMMITMENT,
          limit: PAGE,
          ...(cursor ? { until: cursor as Signature } : {}),
          ...(before ? { before } : {}),
        })
        .send(signal ? { abortSignal: signal } : undefined);
      for (const p of page) sigs.push({ signature: p.signature, slot: BigInt(p.slot) });
      if (page.length < PAGE) break;
      before = page[page.length - 1]!.signature;
    }
    // oldest first (stable within a slot), at most MAX_PER_SYNC of them this time
    const ordered = sigs
      .reverse()
      .map((x, i) => ({ x, i }))
      .sort((a, b) => (a.x.slot === b.x.slot ? a.i - b.i : a.x.slot < b.x.slot ? -1 : 1))
      .map((y) => y.x)
      .slice(0, MAX_PER_SYNC);
    let added = 0;
    for (const s of ordered) {
      if (this.store.has(s.signature)) {
        setCursor(this.o.db, this.#cursorName, s.signature, s.slot);
        continue;
      }
      const tx = await rpc
        .getTransaction(s.signature, {
          commitment: COMMITMENT,
          encoding: 'base64',
          maxSupportedTransactionVersion: 0,
        })
        .send(signal ? { abortSignal: signal } : undefined);
      if (!tx || !tx.meta) break; // not readable yet: the next sync goes on from here
      const row = this.#classify(s.signature, s.slot, tx);
      if (row) {
        this.store.add([row]);
        added++;
      }
      setCursor(this.o.db, this.#cursorName, s.signature, s.slot);
    }
    if (added) this.o.log.debug({ added }, 'wallet activity reconciled');
    return added;
  }

  #classify(
    signature: string,
    slot: bigint,
    tx: {
      blockTime: bigint | number | null;
      transaction: readonly [string, string] | string[];
      meta: {
        err: unknown;
        fee: bigint | number;
        preBalances: readonly (bigint | number)[];
        postBalances: readonly (bigint | number)[];
        loadedAddresses?: { writable: readonly string[]; readonly: readonly string[] } | null;
      } | null;
    },
  ): NewActivity | null {
    const wallet = this.o.wallet;
    const meta = tx.meta!;
    const wire = tx.transaction[0] as string;
    let keys: string[];
    try {
      keys = accountKeys(wire, meta.loadedAddresses);
    } catch (e) {
      this.o.log.warn({ signature, err: (e as Error).message }, 'wallet activity: unreadable transaction');
      return null;
    }
    const idx = keys.indexOf(wallet);
    const delta = idx < 0 ? 0n : BigInt(meta.postBalances[idx] ?? 0) - BigInt(meta.preBalances[idx] ?? 0);
    const feePayer = keys[0];
    const fee = feePayer === wallet ? BigInt(meta.fee) : 0n;
    const base: NewActivity = {
      signature,
      wallet,
      slot,
      blockTime: tx.blockTime === null ? null : Number(tx.blockTime) * 1000,
      delta,
      fee,
      kind: 'message',
      message: null,
      requestId: null,
      streamId: null,
      counterparty: null,
      err: meta.err ? JSON.stringify(meta.err, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)) : null,
    };
    let parsed: ReturnType<typeof parseTransaction> | null = null;
    try {
      parsed = parseTransaction(wire, meta.loadedAddresses);
    } catch {
      /* kept as a plain balance change */
    }
    for (const m of parsed?.allMemos ?? []) {
      const r = decodeEnvelope(m.data);
      if (!r.ok) continue;
      const msg = r.message as { type: string; requestId?: string; streamId?: string };
      base.message = msg.type;
      if (typeof msg.requestId === 'string') base.requestId = msg.requestId;
      if (typeof msg.streamId === 'string') base.streamId = msg.streamId;
      break;
    }
    const transfer = parsed?.transfers.find((t) => t.from === wallet || t.to === wallet);
    if (transfer) base.counterparty = transfer.from === wallet ? transfer.to : transfer.from;
    const payment = getPayment(this.o.db, signature);
    if (payment) base.requestId ??= payment.requestId;

    const nonceOf =
      base.message || payment ? null : this.store.purchaseOfNonceAccount(keys.filter((k) => k !== wallet));
    if (base.err) base.kind = 'failed';
    else if (payment || base.message === 'Payment')
      base.kind = (payment ? payment.direction === 'out' : transfer?.from === wallet) ? 'payment-out' : 'payment-in';
    else if (base.message === 'Listing')
      base.kind = base.streamId && this.store.listedBefore(wallet, base.streamId) ? 'refresh' : 'listing';
    else if (base.message) base.kind = KIND_OF_MESSAGE[base.message] ?? 'message';
    else if (this.#airdrops.has(signature)) base.kind = 'airdrop';
    else if (nonceOf) {
      // a voucher purchase's nonce account: its rent is locked while it runs and comes back at the end
      base.kind = delta < 0n ? 'deposit' : 'refund';
      base.requestId = nonceOf;
    } else if (transfer) base.kind = transfer.from === wallet ? 'transfer-out' : 'transfer-in';
    else base.kind = delta >= 0n ? 'transfer-in' : 'transfer-out';
    // The seller's side of a stream request is the stream itself (a ServiceRequest names it):
    // keep stream ids only for this wallet's own listing messages.
    if (base.message !== 'Listing' && base.message !== 'Delist') base.streamId = null;
    return base;
  }
}
