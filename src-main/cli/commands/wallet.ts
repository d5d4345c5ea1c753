// Runs in: Node. `axon wallet [balance|airdrop [AMOUNT]|history] [--json]`: this installation's
// wallet on the configured cluster (its address is the identity's). Needs only the ledger and
// the local history, not a running node, so it also works next to `axon sell` on the same data dir.
import type { CliContext } from '../context';
import { CliError } from '../context';
import { amount, parseLamports, short, sol, table, toJson } from '../format';
import { progress } from '../progress';
import { openLedgerView } from './node-context';
import { AirdropNotServedError } from '../../core/ledger/client';

export type WalletAction = 'balance' | 'airdrop' | 'history';
export const DEFAULT_AIRDROP = 1_000_000_000n;

export async function walletCommand(
  ctx: CliContext,
  action: string | undefined,
  arg: string | undefined,
  o: { json?: boolean },
): Promise<void> {
  const act = (action ?? 'balance') as WalletAction;
  if (!['balance', 'airdrop', 'history'].includes(act))
    throw new CliError(`unknown wallet action '${action}': use balance, airdrop [LAMPORTS] or history`, 2);
  if (arg !== undefined && act !== 'airdrop')
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
    p.step('reading the balance…');
    const balance = await view.balance();
    p.stop();
    if (o.json)
      console.log(
        toJson({
          address: view.identity.address,
          cluster: ctx.settings.cluster,
          rpcUrl: view.endpoint.shownUrl,
          balance,
          sol: sol(balance),
        }),
      );
    else
      console.log(
        `address  ${view.identity.address}\nbalance  ${amount(balance)}\nledger   ${view.endpoint.shownUrl} (${ctx.settings.cluster})`,
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
    const rows = view.payments();
    if (json) {
      console.log(toJson(rows));
      return;
    }
    if (rows.length === 0) {
      console.log('no payments yet');
      return;
    }
    console.log(
      table(
        ['WHEN', 'DIR', 'AMOUNT (lamports)', 'SOL', 'PERIOD', 'STATE', 'PEER', 'PURCHASE/SALE', 'SIGNATURE'],
        rows.map((r) => [
          new Date(r.createdAt).toISOString().replace('T', ' ').slice(0, 19),
          r.direction === 'out' ? 'paid' : 'received',
          (r.direction === 'out' ? '-' : '+') + r.lamports.toString(),
          sol(r.lamports),
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
