// Runs in: Node. The seller's payment check (DESIGN §1.7). A payment is ONE transaction holding a
// System transfer payer→seller and a Payment memo (request id, period). verifyPayment reads the
// confirmed transaction and accepts it only if it succeeded, moved at least the expected lamports
// from the expected payer to the expected recipient (only transfers payer → recipient count, summed
// when there are several; a transfer to anyone else — the payer itself included — never counts,
// and the verdict's `lamports` is exactly what reached the recipient: the amount to book), carries a Payment memo for the expected
// request and period that had not expired when it landed, and was never accepted before (the
// payments table records it atomically: a signature pays for one period, once). A purchase priced
// in an SPL token (exp.asset) is paid by a TransferChecked into the recipient's associated token
// account of that mint instead; a payment in another mint, or in SOL, is refused as 'wrong-mint'.
import { isSignature, type Signature } from '@solana/kit';
import type { Db } from '../store/db';
import type { Logger } from '../log';
import { claimIncomingPayment, getPayment, recordRefusedPayment } from '../store/payments';
import { decodeEnvelope } from './envelope';
import type { LedgerRpc } from './rpc';
import { parseTransaction } from './transactions';
import type { PaymentExpectation, PaymentVerdict } from './types';
import { ataOf, SOL, type Asset } from './assets';

type Refusal = Extract<PaymentVerdict, { ok: false }>;
const refuse = (reason: Refusal['reason'], detail: string): Refusal => ({ ok: false, reason, detail });

export interface VerifyContext {
  rpc: LedgerRpc;
  db: Db;
  log: Logger;
}

export async function verifyPayment(
  ctx: VerifyContext,
  signature: string,
  exp: PaymentExpectation,
): Promise<PaymentVerdict> {
  if (!isSignature(signature)) return refuse('malformed', `not a transaction signature: ${signature.slice(0, 100)}`);
  const known = getPayment(ctx.db, signature);
  if (known?.direction === 'in' && known.state === 'verified') {
    return refuse('replayed', `already accepted for request ${known.requestId} period ${known.period}`);
  }

  const tx = await ctx.rpc
    .getTransaction(signature as Signature, {
      commitment: 'confirmed',
      encoding: 'base64',
      maxSupportedTransactionVersion: 0,
    })
    .send();
  if (!tx) return refuse('not-found', 'no confirmed transaction with this signature (yet)');

  const asset = exp.asset ?? SOL;
  const accounts =
    asset.kind === 'spl'
      ? { recipient: await ataOf(exp.recipient, asset.mint), payer: await ataOf(exp.payer, asset.mint) }
      : null;
  const verdict = check(tx, exp, asset, accounts);
  const record = {
    signature,
    requestId: exp.requestId,
    payer: exp.payer,
    recipient: exp.recipient,
    lamports: verdict.lamports,
    period: exp.period,
    slot: BigInt(tx.slot),
  };
  if (!verdict.ok) {
    recordRefusedPayment(ctx.db, { ...record, reason: `${verdict.refusal.reason}: ${verdict.refusal.detail}` });
    ctx.log.info({ signature, reason: verdict.refusal.reason, detail: verdict.refusal.detail }, 'payment refused');
    return verdict.refusal;
  }
  if (claimIncomingPayment(ctx.db, record) === 'replayed') {
    return refuse('replayed', 'accepted concurrently by another check');
  }
  return { ok: true, slot: BigInt(tx.slot), lamports: verdict.lamports };
}

interface TxView {
  slot: bigint | number;
  blockTime: bigint | number | null;
  meta: { err: unknown; loadedAddresses?: { writable?: readonly string[]; readonly?: readonly string[] } } | null;
  transaction: readonly [string, string] | readonly string[];
}

type Check = { ok: true; lamports: bigint } | { ok: false; lamports: bigint; refusal: Refusal };

function check(
  tx: TxView,
  exp: PaymentExpectation,
  asset: Asset,
  tokenAccounts: { recipient: string; payer: string } | null,
): Check {
  const no = (refusal: Refusal, lamports = 0n): Check => ({ ok: false, lamports, refusal });
  if (!tx.meta) return no(refuse('malformed', 'transaction has no status metadata'));
  if (tx.meta.err) return no(refuse('failed', `transaction failed: ${JSON.stringify(tx.meta.err, bigintJson)}`));
  let parsed;
  try {
    parsed = parseTransaction(tx.transaction[0]!, tx.meta.loadedAddresses);
  } catch (e) {
    return no(refuse('malformed', `unreadable transaction: ${(e as Error).message}`));
  }
  const payments = parsed.allMemos
    .map((m) => decodeEnvelope(m.data))
    .flatMap((r) => (r.ok && r.message.type === 'Payment' ? [r.message] : []));
  if (payments.length !== 1) return no(refuse('malformed', `expected one Payment memo, found ${payments.length}`));
  const memo = payments[0]!;

  let lamports: bigint;
  const ownTokenTransfers = parsed.tokenTransfers.filter((t) => t.owner === exp.payer);
  if (asset.kind === 'sol' || !tokenAccounts) {
    const toRecipient = parsed.transfers.filter((t) => t.to === exp.recipient);
    if (toRecipient.length === 0) {
      const tok = ownTokenTransfers[0];
      if (tok)
        return no(refuse('wrong-mint', `paid in the token ${tok.mint ?? '(a Transfer naming no mint)'}, expected SOL`));
      const where = parsed.transfers.map((t) => t.to).join(', ') || 'no transfer at all';
      return no(refuse('wrong-recipient', `no transfer to ${exp.recipient} (went to: ${where})`));
    }
    const fromPayer = toRecipient.filter((t) => t.from === exp.payer);
    if (fromPayer.length === 0 || parsed.sender !== exp.payer) {
      return no(refuse('wrong-payer', `paid by ${parsed.sender}, expected ${exp.payer}`));
    }
    lamports = fromPayer.reduce((a, t) => a + t.lamports, 0n);
  } else {
    // into the recipient's associated token account of the mint (the Token Program refuses a
    // transfer between accounts of different mints, so what lands there is of this mint)
    const toRecipient = parsed.tokenTransfers.filter(
      (t) => t.destination === tokenAccounts.recipient && (t.mint === null || t.mint === asset.mint),
    );
    if (toRecipient.length === 0) {
      const other = ownTokenTransfers.find((t) => t.mint !== asset.mint);
      if (other)
        return no(
          refuse(
            'wrong-mint',
            `paid in the token ${other.mint ?? '(a Transfer naming no mint)'}, expected ${asset.symbol} (mint ${asset.mint})`,
          ),
        );
      if (parsed.transfers.some((t) => t.to === exp.recipient))
        return no(refuse('wrong-mint', `paid in SOL, expected ${asset.symbol} (mint ${asset.mint})`));
      return no(
        refuse(
          'wrong-recipient',
          `no ${asset.symbol} transfer to ${exp.recipient}'s token account ${tokenAccounts.recipient}`,
        ),
      );
    }
    const fromPayer = toRecipient.filter((t) => t.owner === exp.payer || t.source === tokenAccounts.payer);
    if (fromPayer.length === 0 || parsed.sender !== exp.payer) {
      return no(refuse('wrong-payer', `paid by ${parsed.sender}, expected ${exp.payer}`));
    }
    lamports = fromPayer.reduce((a, t) => a + t.amount, 0n);
  }
  if (lamports < exp.lamports)
    return no(refuse('underpaid', `paid ${lamports} ${unitName(asset)}, expected ${exp.lamports}`), lamports);
  if (memo.requestId !== exp.requestId) {
    return no(refuse('wrong-request', `memo names request ${memo.requestId}, expected ${exp.requestId}`), lamports);
  }
  if (memo.period !== exp.period) {
    return no(refuse('wrong-period', `memo pays period ${memo.period}, expected ${exp.period}`), lamports);
  }
  const landedSec = tx.blockTime === null ? Date.now() / 1000 : Number(tx.blockTime);
  if (memo.expiresAt < landedSec) {
    return no(
      refuse('expired', `Payment memo expired at ${memo.expiresAt}, landed at ${Math.floor(landedSec)}`),
      lamports,
    );
  }
  return { ok: true, lamports };
}

const unitName = (a: Asset): string => (a.kind === 'sol' ? 'lamports' : `base units of ${a.symbol}`);

const bigintJson = (_k: string, v: unknown): unknown => (typeof v === 'bigint' ? v.toString() : v);
