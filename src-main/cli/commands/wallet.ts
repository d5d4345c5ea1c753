// Runs in: Node. `axon wallet [balance|airdrop [AMOUNT]|faucet [USDC]|history] [--json]`: this
// installation's wallet on the configured cluster (its address is the identity's): SOL and USDC
// balances, the SOL airdrop and (local ledger) the USDC faucet, the payments in both. Needs only the ledger and
// the local history, not a running node, so it also works next to `axon sell` on the same data dir.
import type { CliContext } from '../context';
import { CliError } from '../context';
import { amount, parseLamports, short, sol, table, toJson } from '../format';
import { progress } from '../progress';
import { openLedgerView } from './node-context';
import { AirdropNotServedError } from '../../core/ledger/client';
import { formatAmount, parseAmount, SOL, type Asset } from '../../core/ledger/assets';

export type WalletAction = 'balance' | 'airdrop' | 'faucet' | 'history';
export const DEFAULT_AIRDROP = 1_000_000_000n;
/** `axon wallet faucet` without an amount: 100 USDC. */
export const DEFAULT_FAUCET_USDC = '100';

export async function walletCommand(
  ctx: CliContext,
  action: string | undefined,
  arg: string | undefined,
  o: { json?: boolean },
): Promise<void> {
  const act = (action ?? 'balance') as WalletAction;
  if (!['balance', 'airdrop', 'faucet', 'history'].includes(act))
    throw new CliError(
      `unknown wallet action '${action}': use balance, airdrop [LAMPORTS], faucet [USDC] or history`,
      2,
    );
  if (arg !== undefined && act !== 'airdrop' && act !== 'faucet')
    throw new CliError(`\`axon wallet ${act}\` takes no argument (got '${arg}')`, 2);
  if (act === 'history') return history(ctx, !!o.json);
  const view = await openLedgerView(ctx);
  const p = progress({ json: o.json });
  try {
    if (act === 'airdrop') {
      // tried on every cluster that may serve it (local, devnet, any custom RPC): the RPC says if not
      if (!view.endpoint.airdrop)
        throw new CliError(`no airdrops on ${ctx.settings.cluster}: fund ${view.identity.address} from another wallet`);
      const lamports = arg === undefined ? DEFAULT_AIRDROP : parseLamports(arg, 'the airdrop amount');
      if (lamports <= 0n) throw new CliError('the airdrop amount must be more than 0');
      p.step(`requesting an airdrop of ${amount(lamports)} from ${view.endpoint.shownUrl}…`);
      let signature: string;
      try {
        signature = await view.airdrop(lamports);
      } catch (e) {
        p.fail('airdrop failed');
        if (e instanceof AirdropNotServedError)
          throw new CliError(`${e.message}: fund ${view.identity.address} from another wallet`);
        throw new CliError(`airdrop failed: ${(e as Error).message}`);
      }
      const balance = await view.balance();
      p.succeed(`airdrop confirmed (${short(signature, 6)})`);
      if (o.json) console.log(toJson({ address: view.identity.address, airdropped: lamports, signature, balance }));
      else console.log(`airdropped ${amount(lamports)} to ${view.identity.address}\nbalance   ${amount(balance)}`);
      return;
    }
    if (act === 'faucet') {
      const usdc = await view.usdc();
      if (!usdc) throw new CliError(`this ledger (${ctx.settings.cluster}) has no known USDC mint`);
      let units: bigint;
      try {
        units = parseAmount(arg ?? DEFAULT_FAUCET_USDC, usdc);
      } catch (e) {
        throw new CliError(`the faucet amount: ${(e as Error).message}`, 2);
      }
      if (units <= 0n) throw new CliError('the faucet amount must be more than 0', 2);
      p.step(`requesting ${formatAmount(units, usdc)} from the faucet of ${view.endpoint.rpcUrl}…`);
      let signature: string;
      try {
        signature = await view.tokenFaucet(usdc, units);
      } catch (e) {
        p.fail('faucet failed');
        if (e instanceof AirdropNotServedError)
          throw new CliError(`${e.message}: get ${usdc.symbol} (mint ${usdc.mint}) from another wallet`);
        throw new CliError(`faucet failed: ${(e as Error).message}`);
      }
      const balance = await view.balanceOf(usdc);
      p.succeed(`faucet transfer confirmed (${short(signature, 6)})`);
      if (o.json)
        console.log(
          toJson({ address: view.identity.address, mint: usdc.mint, minted: units, signature, tokenBalance: balance }),
        );
      else
        console.log(
          `minted    ${formatAmount(units, usdc)} to ${view.identity.address}\nbalance   ${formatAmount(balance, usdc)}`,
        );
      return;
    }
    p.step('reading the balances…');
    const usdc = await view.usdc().catch(() => null);
    const [balance, usdcBalance] = await Promise.all([view.balance(), usdc ? view.balanceOf(usdc) : null]);
    p.stop();
    if (o.json)
      console.log(
        toJson({
          address: view.identity.address,
          cluster: ctx.settings.cluster,
          rpcUrl: view.endpoint.shownUrl,
          balance,
          sol: sol(balance),
          ...(usdc ? { usdc: { mint: usdc.mint, decimals: usdc.decimals, balance: usdcBalance } } : {}),
        }),
      );
    else
      console.log(
        `address  ${view.identity.address}\nbalance  ${amount(balance)}\n` +
          (usdc ? `usdc     ${formatAmount(usdcBalance!, usdc)} (mint ${usdc.mint})\n` : '') +
          `ledger   ${view.endpoint.shownUrl} (${ctx.settings.cluster})`,
      );
  } finally {
    p.stop();
    await view.close();
  }
}

/** Payments sent and received, newest first (from this node's history; no ledger needed). */
async function history(ctx: CliContext, json: boolean): Promise<void> {
  const view = await openLedgerView(ctx, { needLedger: false });
  try {
    // each payment in its purchase's or sale's asset (SOL, or the token of its mint)
    const assets = new Map<string | null, Asset>([[null, SOL]]);
    const rows = view.payments();
    for (const r of rows) {
      const mint = view.mintOf(r.requestId);
      if (!assets.has(mint)) assets.set(mint, await view.asset(mint).catch(() => unknownAsset(mint!)));
    }
    const assetOf = (requestId: string): Asset => assets.get(view.mintOf(requestId))!;
    if (json) {
      console.log(
        toJson(rows.map((r) => ({ ...r, mint: assetOf(r.requestId).mint, symbol: assetOf(r.requestId).symbol }))),
      );
      return;
    }
    if (rows.length === 0) {
      console.log('no payments yet');
      return;
    }
    console.log(
      table(
        ['WHEN', 'DIR', 'AMOUNT (base units)', 'AMOUNT', 'PERIOD', 'STATE', 'PEER', 'PURCHASE/SALE', 'SIGNATURE'],
        rows.map((r) => [
          new Date(r.createdAt).toISOString().replace('T', ' ').slice(0, 19),
          r.direction === 'out' ? 'paid' : 'received',
          (r.direction === 'out' ? '-' : '+') + r.lamports.toString(),
          formatAmount(r.lamports, assetOf(r.requestId)),
          String(r.period),
          r.state + (r.reason ? ` (${r.reason})` : ''),
          short(r.direction === 'out' ? r.recipient : r.payer),
          short(r.requestId, 6),
          r.signature,
        ]),
      ),
    );
  } finally {
    await view.close();
  }
}

/** A mint this ledger cannot describe (gone, or another cluster's): shown by its address, base units. */
function unknownAsset(mint: string): Asset {
  return {
    kind: 'spl',
    symbol: `${mint.slice(0, 4)}… (base units)`,
    decimals: 0,
    mint: mint as Asset['mint'] & string,
  };
}
