// Browse's arithmetic, apart from its markup: tier grouping, the fields a listing's frames hold,
// freshness, the minutes a buy may last and how long a balance pays for.
import type { BuyQuote, ListingView } from '../../../src-shared/contract/api';
import { parseSchemaHint } from '../../../src-shared/stream-schema';
import { ago } from './format';

/** The longest a purchase may be asked for from Browse: 30 days. */
export const MAX_MINUTES = 43_200;

/** Each origin followed by its rebroadcasts (cheapest first): the tiers of a stream side by side. */
export function groupTiers(rows: ListingView[]): ListingView[] {
  const price = (l: ListingView): bigint => BigInt(l.priceRelay ?? l.priceDirect);
  const derived = rows
    .filter((l) => l.origin)
    .sort((a, b) => (price(a) < price(b) ? -1 : price(a) > price(b) ? 1 : (a.hops ?? 1) - (b.hops ?? 1)));
  const out: ListingView[] = [];
  for (const l of rows) if (!l.origin) out.push(l, ...derived.filter((d) => d.origin === l.id));
  return [...out, ...derived.filter((d) => !out.includes(d))];
}

/** Why "Buy for … min" cannot be used, or null when it can. */
export function minutesProblemOf(minutes: number | null): string | null {
  return minutes === null || !Number.isInteger(minutes) || minutes < 1 || minutes > MAX_MINUTES
    ? `Buy for: a whole number of minutes from 1 to ${MAX_MINUTES} (30 days)`
    : null;
}

/** What the frames hold, as the listing says: "alt_baro ft · gs kt · flight". */
export function fieldsOf(l: ListingView): string {
  const r = l.schemaHint ? parseSchemaHint(l.schemaHint) : null;
  if (!r?.ok) return '';
  return r.schema.fields
    .filter((f) => f.kind === 'number')
    .map((f) => (f.unit ? `${f.name} ${f.unit}` : f.name))
    .join(' · ');
}

/** How fresh the listing is: green while more than a third of its lifetime is left. */
export function freshness(l: ListingView, now: number): { label: string; tone: 'green' | 'amber' | 'red' } {
  const left = l.expiresAt - now;
  const ttl = Math.max(1, l.expiresAt - l.publishedAt);
  if (left <= 0) return { label: 'expired', tone: 'red' };
  return { label: `updated ${ago(l.publishedAt, now)}`, tone: left / ttl > 0.33 ? 'green' : 'amber' };
}

/** How long the balance pays for (whole periods of price + fee, after the request's fee). */
export function coveredText(q: BuyQuote): string {
  const left = BigInt(q.balance) - BigInt(q.requestFee);
  const perPeriod = BigInt(q.pricePerPeriod) + BigInt(q.feePerPeriod);
  const periods = left > 0n && perPeriod > 0n ? left / perPeriod : 0n;
  const minutes = (periods * BigInt(q.periodSec)) / 60n;
  return minutes >= 1n ? `about ${minutes} min` : 'less than a minute';
}
