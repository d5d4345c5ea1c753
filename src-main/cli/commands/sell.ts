// Runs in: Node. `axon sell --source SPEC --title T [--price-direct L] [--price-relay L]
// [--period S] [--capacity N] …`: publish a stream and serve buyers until Ctrl+C, printing each
// buyer, connection path and payment as it comes. Ctrl+C delists the stream and ends its sales.
import type { CliContext } from '../context';
import { CliError } from '../context';
import { SourceConfigSchema, parseSourceSpec, type SourceConfig } from '../../core/market/sources/index';
import type { AxonNode } from '../../core/node';
import { amount, money, parseLamports, parsePositiveInt, safeText, short } from '../format';
import { parseAmount, SOL, type Asset } from '../../core/ledger/assets';
import { progress, type Progress } from '../progress';
import { openNodeShown, untilInterrupted, type LedgerEndpoint } from './node-context';
import { connectionLine, onStateChange, paymentLine, saleLine } from './trade-log';
import type { SaleRow } from '../../core/store/trades';
import { parseSchemaHint } from '../../../src-shared/stream-schema';

export interface SellCliOptions {
  source: string;
  title: string;
  description?: string;
  tag?: string[];
  format?: string;
  streamId?: string;
  priceDirect?: string;
  priceRelay?: string;
  period?: string;
  capacity?: string;
  /** Upload budget of the stream, KiB/s (docs/mesh.md). */
  upload?: string;
  /** sol (default) | usdc | a mint address: what the prices are in. */
  asset?: string;
  /** Take buyers' messages (uplink): every buyer, or these addresses (comma separated). */
  uplink?: string | boolean;
  uplinkRate?: string;
  uplinkTopic?: string;
  /** What the frames hold: `alt_baro ft, gs kt` (docs/streams.md "Schema hint"). */
  schema?: string;
  /** false (`--no-preview`): buyers cannot preview the stream before buying. */
  preview?: boolean;
}

/** The source with the uplink the command line asked for (tcp, udp, cmd and mqtt sources). */
function withUplink(source: SourceConfig, o: SellCliOptions): SourceConfig {
  if (!o.uplink && o.uplinkRate === undefined && o.uplinkTopic === undefined) return source;
  if (!['tcp', 'udp', 'command', 'mqtt'].includes(source.kind))
    throw new CliError(
      `--uplink: a ${source.kind} source cannot take messages (tcp, udp, cmd and mqtt sources can)`,
      2,
    );
  const buyers =
    typeof o.uplink === 'string'
      ? o.uplink
          .split(',')
          .map((b) => b.trim())
          .filter(Boolean)
      : [];
  const r = SourceConfigSchema.safeParse({
    ...source,
    uplink: {
      ...(buyers.length ? { buyers } : {}),
      ...(o.uplinkRate !== undefined
        ? { messagesPerSec: parsePositiveInt(o.uplinkRate, '--uplink-rate', 10_000) }
        : {}),
      ...(o.uplinkTopic ? { topic: o.uplinkTopic } : {}),
    },
  });
  if (!r.success) throw new CliError(`--uplink: ${r.error.issues.map((i) => i.message).join('; ')}`, 2);
  return r.data;
}

export const DEFAULT_PRICE_PER_MIN = 60_000n;
/** Below this a node cannot pay its listing refreshes for long: top up on a local ledger. */
const FEE_FLOOR = 10_000_000n;
const LOCAL_TOP_UP = 1_000_000_000n;

/**
 * A source as typed on the command line. Besides parseSourceSpec's forms (adsb|aircraft, weather,
 * file:PATH, cmd:COMMAND, tcp:[HOST:]PORT, udp:[HOST:]PORT, ws://URL) this accepts ws:URL.
 */
export function sourceFromSpec(spec: string): SourceConfig {
  let s = spec.trim();
  if (/^wss?:(?!\/\/)/.test(s)) {
    const rest = s.replace(/^wss?:/, '');
    s = /^wss?:\/\//.test(rest) ? rest : `${s.startsWith('wss:') ? 'wss' : 'ws'}://${rest}`;
  }
  if (s.startsWith('cmd:')) {
    const words = shellWords(s.slice(4));
    if (words.length === 0)
      throw new CliError(`bad source '${spec}': cmd: needs a command, e.g. cmd:"tail -f /var/log/x"`);
    return { kind: 'command', command: words[0]!, args: words.slice(1) };
  }
  try {
    return parseSourceSpec(s);
  } catch (e) {
    throw new CliError((e as Error).message.replace('ws://URL', 'ws:URL'));
  }
}

export interface SellParams {
  streamId?: string;
  title: string;
  description: string;
  tags: string[];
  format?: string;
  source: SourceConfig;
  priceDirect: bigint;
  priceRelay: bigint;
  periodSec?: number;
  capacity?: number;
  /** Upload budget, bytes/s (docs/mesh.md). */
  uploadBps?: number;
  /** Priced in this SPL token (prices in its base units); absent = SOL. */
  mint?: string;
  schema?: string;
  preview?: 'recent' | 'off';
}

/** Default price per minute of a stream priced in USDC: 0.01 USDC. */
export const DEFAULT_USDC_PER_MIN = 10_000n;

/**
 * A price typed for a token-priced stream: an integer is base units ("10000"); a decimal followed
 * by the symbol is the token amount ("0.01usdc", "0.01 USDC"), converted exactly.
 */
export function parseTokenPrice(text: string, asset: Asset, what: string): bigint {
  const t = text.trim();
  if (/^\d{1,19}$/.test(t)) return BigInt(t);
  const symbol = asset.symbol.replace(/[^A-Za-z]/g, '');
  const m = /^(\d+(?:\.\d+)?)\s*([A-Za-z]+)$/.exec(t);
  if (!m || m[2]!.toLowerCase() !== symbol.toLowerCase())
    throw new CliError(
      `${what}: '${text}' is no price in ${asset.symbol} (e.g. 10000 base units, or 0.01${symbol.toLowerCase()})`,
    );
  try {
    return parseAmount(m[1]!, asset);
  } catch (e) {
    throw new CliError(`${what}: ${(e as Error).message}`);
  }
}

export function sellParams(o: SellCliOptions, asset: Asset = SOL): SellParams {
  if (!o.title?.trim()) throw new CliError('--title is required: the name buyers see');
  const price = (text: string, what: string): bigint =>
    asset.kind === 'sol' ? parseLamports(text, what) : parseTokenPrice(text, asset, what);
  const priceDirect =
    o.priceDirect !== undefined
      ? price(o.priceDirect, '--price-direct')
      : asset.kind === 'sol'
        ? DEFAULT_PRICE_PER_MIN
        : DEFAULT_USDC_PER_MIN;
  return {
    ...(asset.mint ? { mint: asset.mint } : {}),
    ...(o.streamId ? { streamId: o.streamId } : {}),
    title: o.title.trim(),
    description: o.description ?? '',
    tags: o.tag ?? [],
    ...(o.format ? { format: o.format } : {}),
    source: withUplink(sourceFromSpec(o.source), o),
    priceDirect,
    priceRelay: o.priceRelay !== undefined ? price(o.priceRelay, '--price-relay') : priceDirect / 2n,
    ...(o.period !== undefined ? { periodSec: parsePositiveInt(o.period, '--period (seconds)', 86_400) } : {}),
    ...(o.capacity !== undefined ? { capacity: parsePositiveInt(o.capacity, '--capacity', 10_000) } : {}),
    ...(o.schema !== undefined ? { schema: schemaOption(o.schema) } : {}),
    ...(o.preview === false ? { preview: 'off' as const } : {}),
    ...(o.upload !== undefined ? { uploadBps: parsePositiveInt(o.upload, '--upload (KiB/s)', 10_000_000) * 1024 } : {}),
  };
}

/** `--schema 'alt_baro ft, gs kt'`, checked here so a typo is told before the node starts. */
function schemaOption(text: string): string {
  const r = parseSchemaHint(text.trim());
  if (!r.ok) throw new CliError(`--schema: ${r.error} (e.g. --schema 'alt_baro ft, gs kt, flight text')`, 2);
  return text.trim();
}

/** Make sure the node can pay the fees of its listings; on a local ledger, top it up itself. */
export async function ensureFeeMoney(
  node: AxonNode,
  endpoint: LedgerEndpoint,
  p: Progress,
  print: (l: string) => void,
): Promise<void> {
  p.step('checking the balance for ledger fees…');
  const balance = await node.ledger.balance();
  p.stop();
  if (balance >= FEE_FLOOR) return;
  if (endpoint.loopback && endpoint.airdrop) {
    p.step(`balance ${amount(balance)} is low: airdropping ${amount(LOCAL_TOP_UP)} on the local ledger…`);
    await node.airdrop(LOCAL_TOP_UP);
    p.succeed(`airdropped ${amount(LOCAL_TOP_UP)} for fees (local ledger)`);
    print(`note: topped up ${node.identity.address} with ${amount(LOCAL_TOP_UP)} on the local ledger`);
    return;
  }
  if (balance === 0n)
    throw new CliError(
      `the balance of ${node.identity.address} is 0: listings cost ledger fees; fund it first (\`axon wallet airdrop\` on devnet)`,
    );
}

/** Print what a seller node does (shared with `axon demo`). Returns the unsubscribe function. */
export function followSeller(node: AxonNode, print: (line: string) => void, prefix = ''): () => void {
  const onSale = onStateChange<SaleRow>((s) => print(prefix + saleLine(s)));
  const onPayment = (e: Parameters<typeof paymentLine>[0]): void => {
    if (e.direction !== 'in') return;
    print(prefix + paymentLine(e, node.sale(e.requestId)?.mint ?? null));
    const x = node.exposure('sale', e.requestId);
    if (x && x.creditLimit > 0n)
      print(
        prefix +
          `risk     ${amount(x.unsettled)} unsettled of a ${amount(x.creditLimit)} credit limit (lost if the buyer empties its account); ${amount(x.settled)} settled`,
      );
  };
  const onConnection = (e: Parameters<typeof connectionLine>[0]): void => {
    if (e.role === 'seller') print(prefix + connectionLine(e));
  };
  const onHealth = (e: { streamId: string; healthy: boolean; lastError: string | null; warning?: string }): void =>
    print(
      prefix +
        (e.warning
          ? `source   ${e.streamId} dropped input: ${safeText(e.warning)}`
          : e.healthy
            ? `source   ${e.streamId} is running`
            : `source   ${e.streamId} is DOWN (${e.lastError ?? 'unknown error'}); restarting with backoff`),
    );
  const onPeerError = (e: { remote: string; code: string; message: string }): void =>
    print(prefix + `peer     ${short(e.remote)} error ${safeText(e.code)}: ${safeText(e.message)}`);
  node.on('sale', onSale);
  node.on('payment', onPayment);
  node.on('connection', onConnection);
  node.on('health', onHealth);
  node.on('peer-error', onPeerError);
  return () => {
    node.off('sale', onSale);
    node.off('payment', onPayment);
    node.off('connection', onConnection);
    node.off('health', onHealth);
    node.off('peer-error', onPeerError);
  };
}

export async function sellCommand(ctx: CliContext, o: SellCliOptions): Promise<void> {
  // a SOL price is checked before anything starts; a token price once the ledger names the token
  const inSol = !o.asset || o.asset.trim().toLowerCase() === 'sol';
  let params = inSol ? sellParams(o) : null;
  const p = progress();
  const print = (l: string): void => p.log(l);
  const stop = untilInterrupted();
  const opened = await openNodeShown(ctx, p, { endpoint: false });
  const { node } = opened;
  let streamId: string | null = null;
  let summary: string;
  try {
    if (!params) {
      const asset = await node.ledger.assetByName(o.asset!).catch((e: unknown) => {
        throw new CliError(`--asset ${o.asset}: ${(e as Error).message}`);
      });
      params = sellParams(o, asset);
    }
    await ensureFeeMoney(node, opened.endpoint, p, print);
    p.step('publishing the listing on the market (waits for the ledger)…');
    const offer = await node.sell(params);
    streamId = offer.streamId;
    p.succeed('listing published');
    const id = node.ownListingId(offer.streamId);
    print(`selling  "${offer.title}" (${offer.format}) from ${o.source}`);
    print(`listing  ${id}`);
    print(
      `price    direct ${money(offer.priceDirect, offer.mint)} per minute` +
        (offer.priceRelay !== null ? `, rebroadcast ${money(offer.priceRelay, offer.mint)} per minute` : ''),
    );
    const budget = offer.uploadBps ?? (ctx.settings.mesh.uploadKiBps > 0 ? ctx.settings.mesh.uploadKiBps * 1024 : null);
    print(
      `terms    period ${offer.periodSec} s, grace ${offer.graceSec} s, up to ${offer.capacity} buyers` +
        (budget !== null ? `, upload budget ${Math.round(budget / 1024)} KiB/s` : '') +
        ' (past either, buyers are sent to rebroadcasts)',
    );
    const shown = node.listing(id)?.schemaHint ?? null;
    if (shown) print(`schema   ${safeText(shown)}`);
    print(`preview  ${offer.preview === 'off' ? 'off' : 'on: buyers may see a few recent frames for free'}`);
    const others = node.status().offers.filter((x) => x.offer.streamId !== offer.streamId);
    for (const x of others) print(`note: this node also sells '${x.offer.streamId}' (resumed from an earlier run)`);
    print('waiting for buyers; Ctrl+C stops selling');
    const unfollow = followSeller(node, print);
    const sig = await stop.interrupted;
    unfollow();
    print(`\n${sig === 'SIGINT' ? 'Ctrl+C' : sig}: delisting and ending the sales…`);
    await delist(node, offer.streamId).catch((e) => console.error(`axon: delisting failed: ${(e as Error).message}`));
    streamId = null;
    const sales = node.sales({ streamId: offer.streamId, limit: 10_000 });
    const earned = sales.reduce((a, s) => a + s.earned, 0n);
    summary = `stopped: ${sales.length} sale${sales.length === 1 ? '' : 's'} of this stream, earned ${money(earned, offer.mint)} in total`;
  } finally {
    stop.dispose();
    p.stop();
    if (streamId) await delist(node, streamId).catch(() => undefined);
    await opened.close();
  }
  print(summary);
}

/** Stop selling a stream for good: delist it and end its sales. */
async function delist(node: AxonNode, streamId: string): Promise<void> {
  await node.unsell(streamId);
}

/** Split a command line into words as a POSIX shell would for quotes and backslashes (no expansion). */
export function shellWords(line: string): string[] {
  const words: string[] = [];
  let cur = '';
  let inWord = false;
  let quote: '"' | "'" | null = null;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quote === "'") {
      if (c === "'") quote = null;
      else cur += c;
    } else if (quote === '"') {
      if (c === '"') quote = null;
      else if (c === '\\' && i + 1 < line.length && '"\\$`'.includes(line[i + 1]!)) cur += line[++i];
      else cur += c;
    } else if (c === "'" || c === '"') {
      quote = c;
      inWord = true;
    } else if (c === '\\' && i + 1 < line.length) {
      cur += line[++i];
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) words.push(cur);
      cur = '';
      inWord = false;
    } else {
      cur += c;
      inWord = true;
    }
  }
  if (quote) throw new CliError(`unterminated ${quote} quote in '${line}'`);
  if (inWord) words.push(cur);
  return words;
}
