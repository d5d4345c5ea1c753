// Runs in: Node. A relay reads the relay shares paid to it (docs/market.md "Priced relays"): a
// share is a System transfer payer → relay in the SAME transaction as a period's payment (transfer
// payer → seller + Payment memo). The reader follows the relay's own address on the ledger
// (getSignaturesForAddress: every transfer to it lists it) from the moment it starts — history
// before that was paid for circuits that no longer exist — and hands each successful transaction
// that moved lamports to the relay, with the payer's other recipients and the Payment memo.
import type { Address, Signature } from '@solana/kit';
import { decodeEnvelope } from './envelope';
import type { LedgerRpc } from './rpc';
import { parseTransaction } from './transactions';

export interface RelayShareSeen {
  signature: string;
  slot: bigint;
  payer: Address;
  /** What the payer moved to the relay in this transaction. */
  lamports: bigint;
  /** Whom else the payer paid in it (the seller of the relayed purchase). */
  others: Address[];
  /** From the transaction's Payment memo; absent when it carries none (then it pays no purchase). */
  payment?: { requestId: string; period: number };
}

const PAGE = 100;

export class RelayShareReader {
  #cursor: string | null | undefined = undefined; // undefined: not started yet

  constructor(
    private readonly rpc: LedgerRpc,
    readonly relay: Address,
  ) {}

  /** The shares that landed since the last call (the first call only marks where reading starts). */
  async next(signal?: AbortSignal): Promise<RelayShareSeen[]> {
    if (this.#cursor === undefined) {
      const head = await this.rpc
        .getSignaturesForAddress(this.relay, { commitment: 'confirmed', limit: 1 })
        .send(signal ? { abortSignal: signal } : {});
      this.#cursor = head[0]?.signature ?? null;
      return [];
    }
    const page = await this.rpc
      .getSignaturesForAddress(this.relay, {
        commitment: 'confirmed',
        limit: PAGE,
        ...(this.#cursor ? { until: this.#cursor as Signature } : {}),
      })
      .send(signal ? { abortSignal: signal } : {});
    if (page.length === 0) return [];
    this.#cursor = page[0]!.signature;
    const out: RelayShareSeen[] = [];
    for (const s of [...page].reverse()) {
      if (s.err) continue;
      const tx = await this.rpc
        .getTransaction(s.signature, { commitment: 'confirmed', encoding: 'base64', maxSupportedTransactionVersion: 0 })
        .send(signal ? { abortSignal: signal } : {});
      if (!tx || !tx.meta || tx.meta.err) continue;
      let parsed;
      try {
        parsed = parseTransaction(tx.transaction[0], tx.meta.loadedAddresses);
      } catch {
        continue;
      }
      const payer = parsed.sender;
      if (payer === this.relay) continue; // our own posts
      const toRelay = parsed.transfers.filter((t) => t.from === payer && t.to === this.relay);
      if (toRelay.length === 0) continue;
      const others = [
        ...new Set(parsed.transfers.filter((t) => t.from === payer && t.to !== this.relay).map((t) => t.to)),
      ];
      const payments = parsed.allMemos
        .map((m) => decodeEnvelope(m.data))
        .flatMap((r) => (r.ok && r.message.type === 'Payment' ? [r.message] : []));
      const memo = payments.length === 1 ? payments[0]! : undefined;
      out.push({
        signature: s.signature,
        slot: BigInt(s.slot),
        payer,
        lamports: toRelay.reduce((a, t) => a + t.lamports, 0n),
        others,
        ...(memo ? { payment: { requestId: memo.requestId, period: memo.period } } : {}),
      });
    }
    return out;
  }
}
