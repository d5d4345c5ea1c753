// Bench section (issue 13 §5): what the market costs on the ledger, today's protocol beside the
// new one, measured in the same run on real nodes and the local ledger:
//   - buyer, per purchase-hour: a purchase of 60 periods (the transaction count depends on the
//     number of periods, not their length, so 60 periods of 2 s stand for one hour at 60 s),
//     paid per period (one transaction each) or by voucher (settled now and then);
//   - seller, per stream-day with no buyer: listing re-posts of a seller whose TTL is scaled down
//     (old 300 s / 100 = 3 s; new 14 400 s / 1 800 = 8 s) over a 30 s window after its first post,
//     scaled back to a day.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  getBase64Encoder,
  getCompiledTransactionMessageDecoder,
  getTransactionDecoder,
  type Address,
} from '@solana/kit';
import { decodeEnvelope } from '../../../src-main/core/ledger/envelope';
import { MEMO_V1_PROGRAM, SYSTEM_PROGRAM } from '../../../src-main/core/ledger/topics';
import { ASSOCIATED_TOKEN_PROGRAM_ADDRESS, TOKEN_PROGRAM_ADDRESS } from '../../../src-main/core/ledger/assets';
import { startLocalLedger, type LocalLedger } from '../../../src-main/local-ledger/index';
import { AxonNode } from '../../../src-main/core/node';
import { Identity } from '../../../src-main/core/identity/identity';
import { DEFAULT_TIMING, type MarketTiming } from '../../../src-main/core/market/types';
import { isFinal } from '../../../src-main/core/store/trades';

interface Row {
  measurement: string;
  value: number;
  unit: string;
  note?: string;
}

const PERIODS = Number(process.env.LEDGER_BENCH_PERIODS ?? 60);
const PERIOD_SEC = Number(process.env.LEDGER_BENCH_PERIOD_SEC ?? 2);
const WINDOW_SEC = Number(process.env.LEDGER_BENCH_LISTING_WINDOW_SEC ?? 30);
const OLD_TTL_SEC = 300;
const b64 = getBase64Encoder();
const txDecoder = getTransactionDecoder();
const msgDecoder = getCompiledTransactionMessageDecoder();
const SOL = 1_000_000_000n;

type Mode = MarketTiming['payments'];

async function node(ledger: LocalLedger, dir: string, name: string, timing: Partial<MarketTiming>): Promise<AxonNode> {
  return AxonNode.start({
    dataDir: join(dir, name),
    identity: Identity.generate(),
    ledger: { rpcUrl: ledger.rpcUrl, wsUrl: ledger.wsUrl },
    timing: { requestTimeoutMs: 15_000, keepAliveMs: 1000, dataStallMs: 5000, clockSkewMs: 2000, ...timing },
    net: { host: '127.0.0.1', announceFilter: { allowLoopback: true } },
  });
}

/** What one transaction the buyer paid for did, in words (the cost table's itemized list). */
export function kindOf(base64: string): string {
  const tx = txDecoder.decode(b64.encode(base64));
  const msg = msgDecoder.decode(tx.messageBytes) as {
    staticAccounts: Address[];
    instructions: { programAddressIndex: number; data?: ArrayLike<number> }[];
  };
  const parts: string[] = [];
  for (const ix of msg.instructions) {
    const program = msg.staticAccounts[ix.programAddressIndex];
    const data = ix.data ? Uint8Array.from(ix.data) : new Uint8Array(0);
    const u32 = data.length >= 4 ? new DataView(data.buffer, data.byteOffset, data.byteLength).getUint32(0, true) : -1;
    if (program === SYSTEM_PROGRAM) {
      const name = {
        0: 'create account',
        2: 'transfer',
        4: 'advance nonce',
        5: 'withdraw nonce (close)',
        6: 'init nonce',
      }[u32];
      parts.push(name ?? `system ${u32}`);
    } else if (program === MEMO_V1_PROGRAM) {
      const r = decodeEnvelope(data);
      parts.push(r.ok ? `${r.message.type} memo` : 'memo');
    } else if (program === ASSOCIATED_TOKEN_PROGRAM_ADDRESS) parts.push('create token account');
    else if (program === TOKEN_PROGRAM_ADDRESS) parts.push('token transfer');
  }
  return parts.join(' + ');
}

/** Transactions `addr` paid for (fee payer) that landed after `sinceSlot`, oldest first, with what each did. */
async function paidBy(n: AxonNode, addr: Address, sinceSlot: bigint): Promise<string[]> {
  const sigs = await n.ledger.rpc.getSignaturesForAddress(addr, { commitment: 'confirmed', limit: 1000 }).send();
  const out: string[] = [];
  for (const s of [...sigs].reverse()) {
    if (BigInt(s.slot) <= sinceSlot) continue;
    const tx = await n.ledger.rpc
      .getTransaction(s.signature, { commitment: 'confirmed', encoding: 'base64', maxSupportedTransactionVersion: 0 })
      .send();
    if (!tx) continue;
    const bytes = b64.encode(tx.transaction[0]);
    const m = msgDecoder.decode(txDecoder.decode(bytes).messageBytes) as { staticAccounts: Address[] };
    if (m.staticAccounts[0] === addr) out.push(kindOf(tx.transaction[0]));
  }
  return out;
}

const slotNow = async (n: AxonNode): Promise<bigint> =>
  BigInt(await n.ledger.rpc.getSlot({ commitment: 'confirmed' }).send());

async function until(what: string, ms: number, fn: () => boolean | Promise<boolean>): Promise<void> {
  const end = Date.now() + ms;
  while (!(await fn())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

interface PurchaseCost {
  buyerTx: number;
  /** What each of the buyer's transactions did, oldest first. */
  buyerKinds: string[];
  buyerFees: bigint;
  sellerTx: number;
  sellerFees: bigint;
  periods: number;
  /** How the purchase ended. */
  reason: string;
}

export async function onePurchase(
  ledger: LocalLedger,
  dir: string,
  mode: Mode,
  asset: 'sol' | 'usdc' = 'sol',
): Promise<PurchaseCost> {
  const timing = { periodSec: PERIOD_SEC, graceSec: 2, listingTtlSec: 3600, payments: mode };
  const seller = await node(ledger, dir, `seller-${mode}-${asset}`, timing);
  const buyer = await node(ledger, dir, `buyer-${mode}-${asset}`, timing);
  try {
    await Promise.all([seller.airdrop(SOL), buyer.airdrop(SOL)]);
    // USDC: 0.06 USDC a minute from the local ledger's faucet (prices in base units, fees in SOL)
    const usdc = asset === 'usdc' ? await buyer.ledger.usdc() : null;
    if (usdc) await buyer.ledger.tokenFaucet(usdc, 10_000_000n);
    await seller.sell({
      streamId: 'wx',
      title: 'Weather',
      source: { kind: 'weather', hz: 5 },
      priceDirect: 60_000n,
      ...(usdc?.mint ? { mint: usdc.mint } : {}),
    });
    const id = `${seller.identity.address}:wx`;
    await until('the listing at the buyer', 20_000, () => !!buyer.listing(id));
    const since = await slotNow(buyer);
    const [b0, s0] = await Promise.all([buyer.balance(), seller.balance()]);
    const minutes = Math.ceil((PERIODS * PERIOD_SEC) / 60);
    const p = await buyer.buy(id, { minutes });
    await until('the purchase to end', (PERIODS * PERIOD_SEC + 60) * 1000, () => isFinal(buyer.purchase(p.id)!.state));
    await until('the sale to end', 20_000, () => isFinal(seller.sale(p.id)?.state ?? 'ended'));
    if (mode === 'voucher')
      await until('the nonce account kept or closed', 60_000, () => !!buyer.voucher(p.id, 'out')?.closedAt);
    await new Promise((r) => setTimeout(r, 1000));
    const [b1, s1] = await Promise.all([buyer.balance(), seller.balance()]);
    const pr = buyer.purchase(p.id)!;
    const sale = seller.sale(p.id)!;
    const buyerKinds = await paidBy(buyer, buyer.identity.address, since);
    return {
      buyerTx: buyerKinds.length,
      buyerKinds,
      // SOL: fees (a USDC purchase spends tokens); the rent of a nonce account the buyer keeps for
      // its next purchases is a deposit, not a fee
      buyerFees: b0 - b1 - (usdc ? 0n : pr.spent) - buyer.nonceAccounts().reduce((a, n) => a + n.rent, 0n),
      sellerTx: (await paidBy(seller, seller.identity.address, since)).length,
      sellerFees: s0 + (usdc ? 0n : sale.earned) - s1,
      periods: pr.paidThrough + 1,
      reason: `${pr.state}: ${pr.reason ?? ''}`,
    };
  } finally {
    await buyer.shutdown();
    await seller.shutdown();
  }
}

/** Listing transactions per day of a seller with no buyer (its TTL scaled down by `scale`). */
async function listingPerDay(
  ledger: LocalLedger,
  dir: string,
  ttlSec: number,
  scale: number,
  name: string,
): Promise<number> {
  const seller = await node(ledger, dir, name, { listingTtlSec: ttlSec / scale });
  try {
    await seller.airdrop(SOL);
    await seller.sell({ streamId: 'wx', title: 'Weather', source: { kind: 'weather', hz: 1 }, priceDirect: 60_000n });
    const since = await slotNow(seller); // after the first post: re-posts only
    await new Promise((r) => setTimeout(r, WINDOW_SEC * 1000));
    const posts = (await paidBy(seller, seller.identity.address, since)).length;
    return (posts * 86_400) / (WINDOW_SEC * scale);
  } finally {
    await seller.shutdown();
  }
}

export async function ledgerCosts(): Promise<Row[]> {
  const dir = mkdtempSync(join(tmpdir(), 'axon-bench-costs-'));
  const ledger = await startLocalLedger({ port: 0, dataDir: join(dir, 'ledger'), slotMs: 100 });
  try {
    const fee = 5000n;
    const old = await onePurchase(ledger, dir, 'per-period');
    const now = await onePurchase(ledger, dir, 'voucher');
    const usdc = await onePurchase(ledger, dir, 'voucher', 'usdc');
    const [oldListing, newListing] = await Promise.all([
      listingPerDay(ledger, dir, OLD_TTL_SEC, OLD_TTL_SEC / 3, 'lister-old'),
      listingPerDay(ledger, dir, DEFAULT_TIMING.listingTtlSec, DEFAULT_TIMING.listingTtlSec / 8, 'lister-new'),
    ]);
    // the transactions of a voucher purchase do not grow in proportion to its periods: the figure
    // is the count itself when the purchase ran 60 periods (default), scaled only otherwise
    const perHour = (n: number, periods: number): number => (periods === 60 ? n : (n * 60) / periods);
    const rows: [string, string, string, string][] = [
      ['', 'today (per period)', 'vouchers (new)', 'goal'],
      [
        `buyer: transactions per purchase-hour (${old.periods} / ${now.periods} periods)`,
        perHour(old.buyerTx, old.periods).toFixed(0),
        perHour(now.buyerTx, now.periods).toFixed(0),
        '≤ 6',
      ],
      [
        'buyer: lamports of fees per purchase-hour',
        perHour(Number(old.buyerFees), old.periods).toFixed(0),
        perHour(Number(now.buyerFees), now.periods).toFixed(0),
        '',
      ],
      ['seller: transactions per purchase', String(old.sellerTx), String(now.sellerTx), ''],
      [
        `buyer, USDC by voucher: transactions per purchase-hour (${usdc.periods} periods)`,
        '',
        perHour(usdc.buyerTx, usdc.periods).toFixed(0),
        '≤ 6',
      ],
      [
        'buyer, USDC by voucher: lamports of fees per purchase-hour (+ seller token account rent)',
        '',
        perHour(Number(usdc.buyerFees), usdc.periods).toFixed(0),
        '',
      ],
      ['seller, USDC by voucher: transactions per purchase', '', String(usdc.sellerTx), ''],
      ['seller: transactions per stream-day, no buyer', oldListing.toFixed(0), newListing.toFixed(0), '≤ 30'],
      [
        'seller: lamports of fees per stream-day, no buyer',
        (oldListing * Number(fee)).toFixed(0),
        (newListing * Number(fee)).toFixed(0),
        '',
      ],
    ];
    const w = rows.map((r) => r.map((c) => c.length)).reduce((a, b) => a.map((x, i) => Math.max(x, b[i]!)));
    console.log(
      `\nledger costs (real nodes, local ledger; ${PERIODS} periods of ${PERIOD_SEC} s stand for one hour at 60 s; listing TTLs scaled to 3 s and 8 s over ${WINDOW_SEC} s, old TTL ${OLD_TTL_SEC} s vs ${DEFAULT_TIMING.listingTtlSec} s)\n`,
    );
    for (const r of rows) console.log(r.map((c, i) => (i === 0 ? c.padEnd(w[0]!) : c.padStart(w[i]!))).join('  '));
    for (const [name, c] of [
      ['vouchers', now],
      ['USDC vouchers', usdc],
    ] as const)
      console.log(
        `the buyer's ${c.buyerTx} transactions, ${name}:\n${c.buyerKinds.map((k, i) => `  ${i + 1}. ${k}`).join('\n')}`,
      );
    console.log(`per period: ${old.reason}\nvouchers:   ${now.reason}\nUSDC:       ${usdc.reason}`);
    console.log(
      `listing liveness: a buyer checks a listing past its refresh point peer to peer (no transaction) before it requests; the seller's ${newListing.toFixed(0)} tx/day per listing is ${newListing <= 30 ? 'within' : 'OVER'} the goal of 30`,
    );
    console.log(
      `(the first voucher purchase also locks a nonce account's rent, kept for the buyer's next purchases and returned at its close: a deposit, not in the fees above)\n`,
    );
    return [
      {
        measurement: 'costs: buyer tx per purchase-hour, per period',
        value: perHour(old.buyerTx, old.periods),
        unit: 'tx',
      },
      {
        measurement: 'costs: buyer tx per purchase-hour, vouchers',
        value: perHour(now.buyerTx, now.periods),
        unit: 'tx',
      },
      {
        measurement: 'costs: buyer tx per purchase-hour, USDC vouchers',
        value: perHour(usdc.buyerTx, usdc.periods),
        unit: 'tx',
      },
      { measurement: 'costs: seller tx per stream-day, TTL 300 s', value: oldListing, unit: 'tx' },
      { measurement: 'costs: seller tx per stream-day, new TTL', value: newListing, unit: 'tx' },
    ];
  } finally {
    await ledger.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
