// Runs in: Node. Rows of the core (bigint lamports, store shapes) → the API's view types
// (decimal-string lamports, the contract in src-shared/contract/api.ts).
import type {
  AttemptView,
  ConnectionRecordView,
  ListingView,
  OwnStreamView,
  PaymentView,
  PurchaseView,
  RiskView,
  SaleView,
  SourceSpec,
} from '../../src-shared/contract/api';
import type { Exposure } from '../core/market/voucher';
import type { ListingRow, OfferRow } from '../core/store/listings';
import type { PaymentRow, PurchaseRow, SaleRow } from '../core/store/trades';
import type { AttemptRow, ConnectionRow } from '../core/store/connections';
import type { NatStatus } from '../core/node';
import { sourceProblemInWords } from './source-words';
import { knownAsset } from '../core/ledger/assets';
import type { AssetView } from '../../src-shared/contract/api';

/** The asset of a mint for the UI (null = SOL); a mint the node does not know shows in base units. */
export function assetView(mint: string | null | undefined): AssetView {
  const a = knownAsset(mint);
  if (a) return { symbol: a.symbol, decimals: a.decimals, mint: a.mint };
  return { symbol: `${mint!.slice(0, 4)}…`, decimals: 0, mint: mint! };
}

/** The NAT verdict in one line, e.g. "endpoint-independent · punchable · 198.18.1.2"; 'unknown' before discovery. */
export function natLabel(n: NatStatus | null): string {
  if (!n) return 'unknown';
  const parts: string[] = [n.mapping, n.reachability];
  if (n.publicIp) parts.push(n.publicIp);
  if (n.confidence < 0.5) parts.push('low confidence');
  return parts.join(' · ');
}

export function explorerBase(cluster: string): string | null {
  if (cluster === 'devnet') return '?cluster=devnet';
  if (cluster === 'mainnet-beta') return '';
  return null;
}
export function explorerUrl(cluster: string, kind: 'address' | 'tx', id: string): string | null {
  const q = explorerBase(cluster);
  return q === null ? null : `https://explorer.solana.com/${kind}/${id}${q}`;
}

export function listingView(l: ListingRow): ListingView {
  return {
    id: l.id,
    seller: l.seller,
    streamId: l.streamId,
    title: l.title,
    description: l.description,
    tags: l.tags,
    format: l.format,
    rateHz: l.rateMilliHz / 1000,
    priceDirect: l.priceDirect.toString(),
    priceRelay: l.priceRelay === null ? null : l.priceRelay.toString(),
    periodSec: l.periodSec,
    region: l.region,
    healthy: l.healthy,
    own: l.own,
    publishedAt: l.publishedAt,
    expiresAt: l.expiresAt,
    origin: l.origin,
    upstream: l.upstream,
    hops: l.hops,
    hopMs: l.hopMs,
    full: l.full,
    receiving: null,
    asset: assetView(l.mint),
    schemaHint: l.schemaHint,
  };
}

/** A trade's voucher exposure for the UI (strings for lamports). */
export function riskView(x: Exposure | undefined): RiskView | undefined {
  if (!x) return undefined;
  return {
    signed: x.signed.toString(),
    settled: x.settled.toString(),
    unsettled: x.unsettled.toString(),
    creditLimit: x.creditLimit.toString(),
    settlements: x.settlements,
  };
}

export function purchaseView(
  p: PurchaseRow,
  extra: { title: string; format: string; rateHz: number; risk?: Exposure },
): PurchaseView {
  return {
    id: p.id,
    listingId: p.listingId,
    seller: p.seller,
    streamId: p.streamId,
    title: extra.title,
    format: extra.format,
    tier: p.tier,
    state: p.state,
    reason: p.reason,
    maxMinutes: p.maxMinutes,
    maxLamports: p.maxLamports.toString(),
    pricePerPeriod: p.pricePerPeriod === null ? null : p.pricePerPeriod.toString(),
    periodMs: p.periodMs,
    paidThrough: p.paidThrough,
    spent: p.spent.toString(),
    fees: p.fees.toString(),
    frames: p.frames,
    dropped: p.dropped,
    rateHz: extra.rateHz,
    ...(extra.risk ? { risk: riskView(extra.risk) } : {}),
    createdAt: p.createdAt,
    updatedAt: p.updatedAt,
    asset: assetView(p.mint),
  };
}

export function saleView(s: SaleRow, risk?: Exposure): SaleView {
  return {
    id: s.id,
    buyer: s.buyer,
    streamId: s.streamId,
    tier: s.tier,
    state: s.state,
    reason: s.reason,
    pricePerPeriod: s.pricePerPeriod.toString(),
    paidThrough: s.paidThrough,
    earned: s.earned.toString(),
    frames: s.frames,
    dropped: s.dropped,
    ...(risk ? { risk: riskView(risk) } : {}),
    createdAt: s.createdAt,
    updatedAt: s.updatedAt,
    asset: assetView(s.mint),
  };
}

/** The market's source config → the UI's source kinds. */
export function sourceSpecFrom(source: unknown): SourceSpec {
  const s = (source ?? {}) as Record<string, unknown>;
  switch (s.kind) {
    case 'adsb':
      return { kind: 'synthetic', feed: 'aircraft' };
    case 'weather':
      return { kind: 'synthetic', feed: 'weather' };
    case 'file':
      return { kind: 'file', path: String(s.path ?? '') };
    case 'command': {
      const args = Array.isArray(s.args) ? (s.args as string[]) : [];
      const cmd = s.command === '/bin/sh' && args[0] === '-c' ? (args[1] ?? '') : [s.command, ...args].join(' ');
      return { kind: 'command', command: cmd };
    }
    case 'tcp':
      return { kind: 'tcp', host: String(s.host ?? '127.0.0.1'), port: Number(s.port) };
    case 'udp':
      return { kind: 'udp', port: Number(s.port) };
    case 'websocket':
      return { kind: 'websocket', url: String(s.url ?? '') };
    default:
      return { kind: 'command', command: `(${String(s.kind)})` };
  }
}

/** The UI's source → the market's source config. */
export function sourceConfigFor(spec: SourceSpec): Record<string, unknown> {
  switch (spec.kind) {
    case 'synthetic':
      return spec.feed === 'aircraft' ? { kind: 'adsb' } : { kind: 'weather' };
    case 'file':
      return { kind: 'file', path: spec.path };
    case 'command':
      // The user's own command line on the user's own machine: run it by the shell, pipes included.
      return process.platform === 'win32'
        ? { kind: 'command', command: 'cmd.exe', args: ['/d', '/s', '/c', spec.command] }
        : { kind: 'command', command: '/bin/sh', args: ['-c', spec.command] };
    case 'tcp':
      return { kind: 'tcp', host: spec.host, port: spec.port };
    case 'udp':
      return { kind: 'udp', port: spec.port };
    case 'websocket':
      return { kind: 'websocket', url: spec.url };
  }
}

export function ownStreamView(
  o: OfferRow,
  live: { healthy: boolean; lastError: string | null; subscribers: number; framesIn: number } | undefined,
  seller: string,
): OwnStreamView {
  return {
    streamId: o.streamId,
    listingId: `${seller}:${o.streamId}`,
    title: o.title,
    description: o.description,
    format: o.format,
    source: sourceSpecFrom(o.source),
    priceDirect: o.priceDirect.toString(),
    priceRelay: o.priceRelay === null ? null : o.priceRelay.toString(),
    periodSec: o.periodSec,
    region: o.region,
    paused: o.paused,
    healthy: live?.healthy ?? false,
    problem: live ? (live.healthy ? null : sourceProblemInWords(live.lastError)) : 'not running',
    buyers: live?.subscribers ?? 0,
    framesOut: live?.framesIn ?? 0,
    asset: assetView(o.mint),
  };
}

export function paymentView(p: PaymentRow, cluster: string, mint: string | null = null): PaymentView {
  return {
    signature: p.signature,
    requestId: p.requestId,
    direction: p.direction,
    counterparty: p.direction === 'out' ? p.recipient : p.payer,
    lamports: p.lamports.toString(),
    period: p.period,
    state: p.state,
    reason: p.reason,
    createdAt: p.createdAt,
    explorerUrl: explorerUrl(cluster, 'tx', p.signature),
    asset: assetView(mint),
  };
}

export function connectionView(c: ConnectionRow): ConnectionRecordView {
  return {
    id: c.id,
    peerId: c.peer_id,
    requestId: c.request_id,
    path: c.path,
    relay: c.relay,
    remoteAddr: c.remote_addr,
    openedAt: c.opened_at,
    closedAt: c.closed_at,
    closeReason: c.close_reason,
    rttMs: c.rtt_ms,
    bytesIn: Number(c.bytes_in),
    bytesOut: Number(c.bytes_out),
  };
}

export function attemptView(a: AttemptRow): AttemptView {
  return { method: a.method, startedAt: a.started_at, durationMs: a.duration_ms, outcome: a.outcome, error: a.error };
}
