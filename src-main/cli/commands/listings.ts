// Runs in: Node. `axon listings [--search TEXT] [--tag T] [--format F] [--max-price L] [--tier T]
// [--fresh S] [--all] [--json]`: the market's live listings as a table. First reads the market
// topic up to its head into the local catalog (SQLite), then searches it.
import type { CliContext } from '../context';
import type { ListingFilter, ListingRow } from '../../core/store/listings';
import { ago, parseLamports, parsePositiveInt, rate, safeText, short, sol, table, toJson } from '../format';
import { progress } from '../progress';
import { openLedgerView, syncCatalogOnce } from './node-context';
import { CliError } from '../context';

export interface ListingsOptions {
  search?: string;
  tag?: string;
  format?: string;
  maxPrice?: string;
  tier?: 'direct' | 'relay';
  fresh?: string;
  all?: boolean;
  json?: boolean;
}

const SYNC_TIMEOUT_MS = 15_000;

export function listingFilter(o: ListingsOptions): ListingFilter {
  return {
    ...(o.search ? { text: o.search } : {}),
    ...(o.tag ? { tag: o.tag } : {}),
    ...(o.format ? { format: o.format } : {}),
    ...(o.maxPrice !== undefined ? { maxPrice: parseLamports(o.maxPrice, '--max-price') } : {}),
    ...(o.tier ? { tier: o.tier } : {}),
    ...(o.fresh !== undefined ? { freshWithinMs: parsePositiveInt(o.fresh, '--fresh (seconds)') * 1000 } : {}),
    includeOwn: !!o.all,
  };
}

export async function listingsCommand(ctx: CliContext, o: ListingsOptions): Promise<void> {
  const filter = listingFilter(o);
  const view = await openLedgerView(ctx);
  const p = progress({ json: o.json });
  try {
    p.step(`reading the market '${ctx.settings.market}' from ${view.endpoint.shownUrl}…`);
    const synced = await syncCatalogOnce(view, ctx.settings.market, SYNC_TIMEOUT_MS);
    if (synced) p.stop();
    else p.fail(`the market topic was not read to its end within ${SYNC_TIMEOUT_MS / 1000} s; showing what was read`);
    const rows = view.listings(filter);
    if (o.json) {
      console.log(toJson(rows));
      return;
    }
    printListings(rows);
  } finally {
    p.stop();
    await view.close();
  }
}

/**
 * Rows in tiers side by side: each origin followed by its rebroadcasts (cheapest first), so the
 * direct tier and every rebroadcast of a stream read together; rebroadcasts whose origin is not
 * in `rows` come last.
 */
export function groupTiers(rows: ListingRow[]): ListingRow[] {
  const byOrigin = new Map<string, ListingRow[]>();
  for (const l of rows)
    if (l.origin) {
      const a = byOrigin.get(l.origin) ?? [];
      a.push(l);
      byOrigin.set(l.origin, a);
    }
  const price = (l: ListingRow): bigint => l.priceRelay ?? l.priceDirect;
  for (const a of byOrigin.values())
    a.sort((x, y) => (price(x) < price(y) ? -1 : price(x) > price(y) ? 1 : x.hops - y.hops));
  const out: ListingRow[] = [];
  for (const l of rows)
    if (!l.origin) {
      out.push(l, ...(byOrigin.get(l.id) ?? []));
      byOrigin.delete(l.id);
    }
  for (const a of byOrigin.values()) out.push(...a);
  return out;
}

/** "direct" or "hop k (+N ms)": how far from the origin a listing's buyers are. */
export function tierText(l: ListingRow): string {
  const full = l.full ? ', full' : '';
  if (!l.origin) return `direct${full}`;
  return `hop ${l.hops}` + (l.hopMs !== null ? ` (+${l.hopMs} ms)` : '') + full;
}

export function printListings(rows: ListingRow[]): void {
  if (rows.length === 0) {
    console.log('no live listings match');
    return;
  }
  console.log(
    table(
      ['ID (SELLER:STREAM)', 'TITLE', 'TIER', 'FORMAT', 'RATE', 'DIRECT/min', 'RELAY/min', 'PERIOD', 'HEALTH', 'SEEN'],
      groupTiers(rows).map((l) => [
        l.id,
        (l.origin ? '  ↳ ' : '') +
          l.title +
          (l.origin ? ` (rebroadcast of ${short(l.origin.split(':')[0])}:${l.origin.split(':')[1] ?? ''})` : ''),
        tierText(l),
        l.format,
        rate(l.rateMilliHz),
        `${l.priceDirect} (${sol(l.priceDirect)} SOL)`,
        l.priceRelay === null ? '-' : `${l.priceRelay} (${sol(l.priceRelay)} SOL)`,
        `${l.periodSec} s`,
        l.healthy ? 'ok' : 'source down',
        ago(l.publishedAt),
      ]),
    ),
  );
  const hinted = rows.filter((l) => l.schemaHint);
  if (hinted.length) {
    console.log("\nwhat the frames hold (the listing's schema hint):");
    for (const l of hinted) console.log(`  ${l.id}  ${safeText(l.schemaHint!)}`);
  }
  console.log(
    `\n${rows.length} listing${rows.length === 1 ? '' : 's'}; prices in lamports per minute; a rebroadcast (↳) is bought at its RELAY price, hop k = k rebroadcasters from the origin, +N ms its measured extra latency. Buy one with \`axon buy <ID>\` (or its stream id when unique).`,
  );
}

export function checkTier(t: string | undefined): 'direct' | 'relay' | undefined {
  if (t === undefined) return undefined;
  if (t !== 'direct' && t !== 'relay') throw new CliError(`--tier must be direct or relay, got '${t}'`, 2);
  return t;
}
