// Runs in: Node. `axon buy <listing> [--minutes N] [--max-lamports L] [--tier direct|relay]
// [--out FILE | --serve] [--raw-tcp P] [--raw-udp H:P] [--raw-file F] [--mqtt URL/TOPIC]`: buy a stream and show its progress — request → accept → connect →
// first payment — then print the frames on stdout (NDJSON when the stream is), append them to
// FILE, or serve them on the local endpoint. Status lines go to stderr, so stdout is only data.
// Ends when the purchase ends (cap reached, seller stopped, …) or at Ctrl+C, which stops paying
// and tells the seller.
import { resolve as resolvePath } from 'node:path';
import type { CliContext } from '../context';
import { CliError } from '../context';
import type { AxonNode } from '../../core/node';
import { MarketError, type MarketEvents } from '../../core/market/types';
import type { PurchaseRow } from '../../core/store/trades';
import { isFinal } from '../../../src-shared/contract/states';
import { amount, money, parseLamports, parsePositiveInt, payloadText, safeText } from '../format';
import { progress, type Progress } from '../progress';
import { openNodeShown, findListing, untilInterrupted } from './node-context';
import { connectionLine, paymentLine, purchaseLine } from './trade-log';
import { checkTier } from './listings';
import type { RawSinksInput } from '../../core/market/sinks/raw';

export interface BuyCliOptions {
  minutes?: string;
  maxLamports?: string;
  tier?: string;
  out?: string;
  serve?: boolean;
  /** Buy although a purchase of the same listing still runs. */
  again?: boolean;
  rawTcp?: string;
  rawUdp?: string;
  rawFile?: string;
  mqtt?: string;
}

/** The raw outputs named on the command line (undefined: none). */
export function rawOutputs(o: BuyCliOptions): RawSinksInput | undefined {
  const hostPort = (v: string, flag: string): { host?: string; port: number } => {
    const i = v.lastIndexOf(':');
    const port = Number(i >= 0 ? v.slice(i + 1) : v);
    if (!Number.isInteger(port) || port < 0 || port > 65535)
      throw new CliError(`${flag}: '${v}' is not [HOST:]PORT`, 2);
    return i >= 0 ? { host: v.slice(0, i), port } : { port };
  };
  const raw: RawSinksInput = {};
  if (o.rawTcp !== undefined) raw.tcp = hostPort(o.rawTcp, '--raw-tcp');
  if (o.rawUdp !== undefined) raw.udp = hostPort(o.rawUdp, '--raw-udp');
  if (o.rawFile) raw.file = resolvePath(o.rawFile);
  if (o.mqtt) {
    const m = /^(mqtts?:\/\/)(?:([^:@/]*)(?::([^@/]*))?@)?([^/]+)\/(.+)$/.exec(o.mqtt);
    if (!m) throw new CliError(`--mqtt: '${o.mqtt}' is not mqtt://[USER:PASS@]HOST[:PORT]/TOPIC`, 2);
    raw.mqtt = {
      url: `${m[1]}${m[4]}`,
      topic: m[5]!,
      ...(m[2] ? { username: decodeURIComponent(m[2]) } : {}),
      ...(m[3] !== undefined ? { password: decodeURIComponent(m[3]) } : {}),
    };
  }
  return Object.keys(raw).length ? raw : undefined;
}

export interface FollowedPurchase {
  /** Resolves with the final row when the purchase ends (ended / failed / rejected). */
  done: Promise<PurchaseRow>;
  frames(): number;
  dispose(): void;
}

/**
 * Follow one purchase: move the spinner through its steps, print its path and payments with
 * `status`, hand each frame to `onFrame`. Shared with `axon demo`.
 */
export function followPurchase(
  node: AxonNode,
  purchaseId: string,
  p: Progress,
  status: (line: string) => void,
  handleFrame: (f: MarketEvents['frame'][0]) => void,
): FollowedPurchase {
  let frames = 0;
  let firstFrame = false;
  let resolveDone: (r: PurchaseRow) => void = () => undefined;
  const done = new Promise<PurchaseRow>((r) => (resolveDone = r));
  let lastState = '';
  const say = (line: string): void => {
    p.stop();
    status(line);
  };
  const onPurchase = (row: PurchaseRow): void => {
    if (row.id !== purchaseId || row.state === lastState) return;
    const prev = lastState;
    lastState = row.state;
    if (row.state === 'accepted') say(`accepted by the seller: ${safeText(row.reason)}`.trim());
    else if (row.state === 'connecting')
      p.step(
        prev === 'streaming'
          ? 'connection lost: reconnecting to the seller…'
          : 'connecting to the seller (direct → hole punch → relay)…',
      );
    else if (row.state === 'streaming' && prev !== 'streaming' && !firstFrame) p.step('waiting for the first frame…');
    else if (isFinal(row.state)) {
      if (row.state === 'ended') p.stop();
      else p.fail(purchaseLine(row));
      resolveDone(row);
    }
  };
  const onConnection = (e: MarketEvents['connection'][0]): void => {
    if (e.requestId !== purchaseId) return;
    say(connectionLine(e));
    if (!firstFrame) p.step('paying the first period (waits for the ledger)…');
  };
  const onPayment = (e: MarketEvents['payment'][0]): void => {
    if (e.requestId !== purchaseId || e.direction !== 'out') return;
    say(paymentLine(e, node.purchase(e.requestId)?.mint ?? null));
    const x = node.exposure('purchase', purchaseId);
    if (x && (x.signed > 0n || x.settled > 0n))
      say(
        `risk     signed ${amount(x.signed)} in total (the most it can cost), ${amount(x.settled)} settled in ${x.settlements} transaction${x.settlements === 1 ? '' : 's'}`,
      );
    if (!firstFrame && e.state !== 'failed') p.step('waiting for the first frame…');
  };
  const onFrame = (f: MarketEvents['frame'][0]): void => {
    if (f.purchaseId !== purchaseId) return;
    frames++;
    if (!firstFrame) {
      firstFrame = true;
      say(`stream   first frame #${f.seq} arrived`);
    }
    handleFrame(f);
  };
  node.on('purchase', onPurchase);
  node.on('connection', onConnection);
  node.on('payment', onPayment);
  node.on('frame', onFrame);
  // a purchase that ended before we subscribed (e.g. rejected at once)
  const now = node.purchase(purchaseId);
  if (now) onPurchase(now);
  return {
    done,
    frames: () => frames,
    dispose() {
      node.off('purchase', onPurchase);
      node.off('connection', onConnection);
      node.off('payment', onPayment);
      node.off('frame', onFrame);
    },
  };
}

export async function buyCommand(ctx: CliContext, listingText: string, o: BuyCliOptions): Promise<void> {
  if (o.out && o.serve) throw new CliError('use either --out FILE or --serve, not both', 2);
  const minutes = o.minutes !== undefined ? parsePositiveInt(o.minutes, '--minutes', 525_600) : undefined;
  const maxLamports = o.maxLamports !== undefined ? parseLamports(o.maxLamports, '--max-lamports') : undefined;
  const tier = checkTier(o.tier);
  const out = o.out ? resolvePath(o.out) : undefined;
  const raw = rawOutputs(o);
  const status = (line: string): void => {
    if (line) process.stderr.write(line + '\n');
  };
  const p = progress();
  const stop = untilInterrupted();
  const opened = await openNodeShown(ctx, p, { endpoint: o.serve ? {} : false });
  const { node } = opened;
  let followed: FollowedPurchase | null = null;
  let final: PurchaseRow;
  let byUser = false;
  let exposure: ReturnType<AxonNode['exposure']>;
  let shares: ReturnType<AxonNode['relayPayments']>;
  try {
    const id = await findListing(node, ctx, listingText, p);
    const { listing, terms } = node.quote(id, { tier, ...(minutes ? { minutes } : {}), maxLamports });
    p.succeed(
      `found "${safeText(listing.title)}" by ${listing.seller} at ${money(terms.pricePerMinute, listing.mint)} per minute`,
    );
    const maxRelay = BigInt(ctx.settings.roles.maxRelayPrice);
    status(
      maxRelay > 0n
        ? `relays   a relayed connection may add up to ${amount(maxRelay)} per minute (${amount(
            node.relayShareMax(terms.periodSec),
          )} per period, paid to the relay with each period; counted in the cap) — roles.maxRelayPrice`
        : 'relays   free relays only (roles.maxRelayPrice is 0)',
    );
    p.step('posting the service request on the ledger…');
    const purchase = await node
      .buy(id, {
        ...(minutes !== undefined ? { minutes } : {}),
        ...(maxLamports !== undefined ? { maxLamports } : {}),
        ...(tier ? { tier } : {}),
        ...(out ? { out } : {}),
        ...(raw ? { raw } : {}),
        serve: !!o.serve,
        ...(o.again ? { allowDuplicate: true } : {}),
      })
      .catch((e: unknown) => {
        p.fail('the purchase could not start');
        if (e instanceof MarketError && e.code === 'insufficient-balance')
          throw new CliError(
            `${e.message}. Fund ${node.identity.address} first (\`axon wallet airdrop\` on the local ledger or devnet)`,
          );
        if (e instanceof MarketError && e.code === 'already-receiving')
          throw new CliError(`${e.message}. Add --again to buy it a second time (and pay twice)`);
        if (e instanceof MarketError && e.code === 'unhealthy')
          throw new CliError(`${e.message}: try again when \`axon listings\` shows it healthy`);
        throw e;
      });
    p.succeed(
      `request ${purchase.id} posted: up to ${purchase.maxMinutes} min, spending cap ${money(purchase.maxLamports, purchase.mint)} (${purchase.mint ? 'prices; fees in SOL' : 'prices and fees'})`,
    );
    if (out) status(`frames   appended to ${out} (NDJSON with metadata)`);
    const ep = node.status().endpoint;
    if (o.serve && ep)
      status(
        `serving  ws://127.0.0.1:${ep.wsPort}/streams/${purchase.id}?token=${ep.token}  and  tcp 127.0.0.1:${ep.tcpPort} (write "${ep.token}\\n${purchase.id}\\n")`,
      );
    if (raw) status(`raw      exact bytes to ${Object.keys(raw).join(', ')}`);
    let rawShown = false;
    p.step('waiting for the seller to accept…');
    followed = followPurchase(node, purchase.id, p, status, (f) => {
      if (raw && !rawShown) {
        rawShown = true;
        const st = node.purchaseOutputs(purchase.id);
        if (st?.tcpPort) status(`raw      the device's bytes on tcp ${raw.tcp?.host ?? '127.0.0.1'}:${st.tcpPort}`);
      }
      if (!out && !o.serve && !raw) process.stdout.write(payloadText(f.payload) + '\n');
    });
    const ended = await Promise.race([followed.done, stop.interrupted.then(() => null)]);
    if (ended) final = ended;
    else {
      p.stop();
      status('\nCtrl+C: stopping the purchase…');
      byUser = true;
      final = await node.stop(purchase.id);
    }
    // read what the summary needs while the node (and its database) is still open
    exposure = node.exposure('purchase', final.id);
    shares = node.relayPayments(final.id).filter((r) => r.direction === 'out');
  } finally {
    stop.dispose();
    followed?.dispose();
    p.stop();
    await opened.close();
  }
  status(
    `${final.state}: ${safeText(final.reason)} — ${final.frames} frames (${final.dropped} dropped), ` +
      `paid through period ${final.paidThrough < 0 ? '-' : final.paidThrough}, spent ${money(final.spent, final.mint)} + ${amount(final.fees)} of fees`,
  );
  const x = exposure;
  if (x && x.signed > 0n)
    status(
      `vouchers signed ${amount(x.signed)}, settled ${amount(x.settled)} in ${x.settlements} ledger transaction(s)`,
    );
  if (shares.length)
    status(
      `relay    ${amount(shares.reduce((a, r) => a + r.lamports, 0n))} of those fees went to relays (${shares.length} period share(s))`,
    );
  if (final.state !== 'ended') throw new CliError(`the purchase ${final.state}: ${final.reason ?? 'no reason given'}`);
  if (!byUser && final.frames === 0)
    throw new CliError(`the purchase ended without a single frame: ${final.reason ?? 'no reason given'}`);
}
