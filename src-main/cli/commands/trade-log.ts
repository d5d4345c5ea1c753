// Runs in: Node. One-line descriptions of market events for the terminal (sell, buy, demo).
import type { MarketEvents } from '../../core/market/types';
import type { PurchaseRow, SaleRow } from '../../core/store/trades';
import { money, safeText, short } from '../format';

type PaymentEvent = MarketEvents['payment'][0];
type ConnectionEvent = MarketEvents['connection'][0];

const PATH_WORDS: Record<string, string> = {
  'direct-lan': 'direct (LAN)',
  'direct-wan': 'direct (internet)',
  'hole-punched': 'hole-punched',
  relayed: 'relayed',
};

export function pathText(kind: string): string {
  return PATH_WORDS[kind] ?? kind;
}

export function connectionLine(e: ConnectionEvent): string {
  const who = e.role === 'buyer' ? `seller ${short(e.peer)}` : `buyer ${short(e.peer)}`;
  return `path     ${pathText(e.path)} to ${who}, connected in ${e.elapsedMs} ms (request ${short(e.requestId, 6)})`;
}

/** `mint`: what the trade is priced in (null = SOL); the amounts are in its base units. */
export function paymentLine(e: PaymentEvent, mint: string | null = null): string {
  const amount = (n: bigint): string => money(n, mint);
  const sig = e.signature ? ` tx ${short(e.signature, 6)}` : '';
  if (e.direction === 'out') {
    if (e.state === 'failed')
      return `payment  period ${e.period}: FAILED to pay ${amount(e.lamports)}: ${safeText(e.reason ?? 'unknown reason')}`;
    if (e.state === 'vouched')
      return `payment  period ${e.period}: paid ${amount(e.lamports)} by voucher${sig} (the seller settles it on the ledger later)`;
    return `payment  period ${e.period}: paid ${amount(e.lamports)}${sig} (${e.state})`;
  }
  if (e.state === 'refused')
    return `payment  period ${e.period}: REFUSED ${amount(e.lamports)} from request ${short(e.requestId, 6)}${sig}: ${safeText(e.reason)}`;
  if (e.state === 'vouched')
    return `payment  period ${e.period}: voucher for ${amount(e.lamports)}${sig} checked (request ${short(e.requestId, 6)}; settled on the ledger later)`;
  return `payment  period ${e.period}: received ${amount(e.lamports)}${sig}, verified on the ledger (request ${short(e.requestId, 6)})`;
}

export function saleLine(s: SaleRow): string {
  const base = `sale     ${short(s.id, 6)} buyer ${short(s.buyer)} stream ${s.streamId} (${s.tier}): ${s.state}`;
  if (s.state === 'streaming')
    return s.paidThrough < 0
      ? `${base} (grace window until the first payment)`
      : `${base}, paid through period ${s.paidThrough}, earned ${money(s.earned, s.mint)}`;
  return s.reason ? `${base}: ${safeText(s.reason)}` : base;
}

export function purchaseLine(p: PurchaseRow): string {
  const base = `purchase ${short(p.id, 6)} ${p.listingId.length > 40 ? `${short(p.seller)}:${p.streamId}` : p.listingId}: ${p.state}`;
  if (p.state === 'streaming')
    return p.paidThrough < 0
      ? `${base} (first payment on its way)`
      : `${base}, paid through period ${p.paidThrough}, spent ${money(p.spent, p.mint)}`;
  return p.reason ? `${base}: ${safeText(p.reason)}` : base;
}

/** Calls `print` when a trade's state changes (not for every "paid through period k" update). */
export function onStateChange<T extends { id: string; state: string; paidThrough: number }>(
  print: (row: T) => void,
): (row: T) => void {
  const last = new Map<string, string>();
  return (row) => {
    const key = `${row.state}`;
    if (last.get(row.id) === key) return;
    last.set(row.id, key);
    print(row);
  };
}
