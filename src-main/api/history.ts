// Runs in: Node. The wallet's reconciled activity (core/market/activity.ts) as History shows it:
// each transaction in plain words, linked to its purchase, sale or own stream, with totals per
// purchase, per listing and per day. The sum of every entry is the change of the balance.
import type { ActivityTotal, ActivityView, HistoryView } from '../../src-shared/contract/api';
import type { ActivityRow } from '../core/store/activity';
import { explorerUrl } from './views';

export interface HistoryLookups {
  cluster: string;
  /** Title of a purchase's listing (null when the purchase is not this node's). */
  purchaseTitle(id: string): string | null;
  /** Stream id of a sale (null when the sale is not this node's). */
  saleStream(id: string): string | null;
  /** Title of one of this node's own streams. */
  streamTitle(streamId: string): string | null;
  /** The rebroadcaster a sale went to (its address), null for a plain buyer (docs/mesh.md). */
  saleRebroadcaster?(id: string): string | null;
}

const WHAT: Record<ActivityRow['kind'], string> = {
  'payment-out': 'Payment',
  'payment-in': 'Payment received',
  listing: 'Network fee: listing posted',
  refresh: 'Network fee: listing refreshed',
  delist: 'Network fee: listing paused or removed',
  request: 'Network fee: stream request',
  accept: 'Network fee: request accepted',
  reject: 'Network fee: request refused',
  stop: 'Network fee: stop message',
  announce: 'Network fee: node announcement',
  message: 'Network fee: market message',
  airdrop: 'Airdrop',
  'transfer-in': 'Received',
  'transfer-out': 'Sent',
  deposit: 'Deposit: payment nonce account (refunded at the end)',
  refund: 'Deposit refunded: payment nonce account closed',
  failed: 'Failed transaction (fee still paid)',
};

function dayOf(ms: number | null): string {
  return ms === null ? 'unknown day' : new Date(ms).toISOString().slice(0, 10);
}

export function historyView(rows: ActivityRow[], balance: bigint, l: HistoryLookups): HistoryView {
  const entries: ActivityView[] = rows.map((r) => {
    const purchaseTitle = r.requestId ? l.purchaseTitle(r.requestId) : null;
    const saleStream = r.requestId && purchaseTitle === null ? l.saleStream(r.requestId) : null;
    const streamId = r.streamId ?? saleStream;
    const about =
      purchaseTitle !== null
        ? `purchase of '${purchaseTitle}'`
        : streamId
          ? `'${l.streamTitle(streamId) ?? streamId}'`
          : null;
    const via = saleStream !== null && r.requestId ? (l.saleRebroadcaster?.(r.requestId) ?? null) : null;
    const label = (about ? `${WHAT[r.kind]} · ${about}` : WHAT[r.kind]) + (via ? ` · via rebroadcaster ${via}` : '');
    return {
      signature: r.signature,
      kind: r.kind,
      label,
      delta: r.delta.toString(),
      fee: r.fee.toString(),
      purchaseId: purchaseTitle !== null ? r.requestId : null,
      saleId: saleStream !== null ? r.requestId : null,
      streamId,
      counterparty: r.counterparty,
      at: r.blockTime,
      err: r.err,
      explorerUrl: explorerUrl(l.cluster, 'tx', r.signature),
    };
  });
  const group = (keyOf: (e: ActivityView) => { key: string; label: string } | null): ActivityTotal[] => {
    const m = new Map<string, { label: string; delta: bigint; fees: bigint; count: number }>();
    for (const e of entries) {
      const k = keyOf(e);
      if (!k) continue;
      const t = m.get(k.key) ?? { label: k.label, delta: 0n, fees: 0n, count: 0 };
      t.delta += BigInt(e.delta);
      t.fees += BigInt(e.fee);
      t.count++;
      m.set(k.key, t);
    }
    return [...m].map(([key, t]) => ({
      key,
      label: t.label,
      delta: t.delta.toString(),
      fees: t.fees.toString(),
      count: t.count,
    }));
  };
  let total = 0n;
  let fees = 0n;
  for (const r of rows) {
    total += r.delta;
    fees += r.fee;
  }
  return {
    entries,
    total: total.toString(),
    fees: fees.toString(),
    balance: balance.toString(),
    perPurchase: group((e) =>
      e.purchaseId ? { key: e.purchaseId, label: l.purchaseTitle(e.purchaseId) ?? e.purchaseId } : null,
    ),
    perListing: group((e) => (e.streamId ? { key: e.streamId, label: l.streamTitle(e.streamId) ?? e.streamId } : null)),
    perDay: group((e) => ({ key: dayOf(e.at), label: dayOf(e.at) })),
    perRebroadcaster: group((e) => {
      const via = e.saleId ? (l.saleRebroadcaster?.(e.saleId) ?? null) : null;
      return via ? { key: via, label: `rebroadcaster ${via}` } : null;
    }),
  };
}
