// Runs in: Node. Durable-nonce payment vouchers (docs/market.md "Vouchers"). A voucher is a
// transaction the buyer signs against its nonce account's current nonce: AdvanceNonceAccount + the
// transfers (seller, and a relay's share when there is one) + a Payment memo naming the request and
// the last period it covers. The seller keeps the newest voucher and submits it when it settles;
// only ONE transaction of a nonce value can ever land (it advances the nonce), so cumulative
// vouchers supersede each other and are never paid twice. Checking a voucher is local: signature,
// accounts, amounts, nonce value. The nonce accounts themselves: nonce.ts.
import {
  appendTransactionMessageInstructions,
  createTransactionMessage,
  getBase58Decoder,
  getBase64EncodedWireTransaction,
  getBase64Encoder,
  getCompiledTransactionMessageDecoder,
  getPublicKeyFromAddress,
  getSignatureFromTransaction,
  getTransactionDecoder,
  pipe,
  setTransactionMessageFeePayerSigner,
  setTransactionMessageLifetimeUsingDurableNonce,
  signTransactionMessageWithSigners,
  verifySignature,
  type Address,
  type Instruction,
  type LegacyCompiledTransactionMessage,
  type Nonce,
  type SignatureBytes,
  type TransactionSigner,
  type V0CompiledTransactionMessage,
} from '@solana/kit';
import { getTransferSolInstruction } from '@solana-program/system';
import { encodeEnvelope, decodeEnvelope } from './envelope';
import { newNonce } from './messages';
import type { LedgerRpc } from './rpc';
import { MEMO_V1_PROGRAM, SYSTEM_PROGRAM } from './topics';
import { ataOf, parseTokenTransfer, SOL, TOKEN_PROGRAM_ADDRESS, transferInstructions, type Asset } from './assets';
import {
  COMPUTE_BUDGET_PROGRAM,
  parseTransaction,
  setComputeUnitLimitInstruction,
  setComputeUnitPriceInstruction,
} from './transactions';
import type { Budget } from './fees';

const ADVANCE_NONCE = 4;
const TRANSFER = 2;
const RECENT_BLOCKHASHES_SYSVAR = 'SysvarRecentB1ockHashes11111111111111111111';

/** One transfer of a voucher / settlement: the seller's price, or a relay's share (roles). */
export interface VoucherTransfer {
  to: Address;
  lamports: bigint;
}

/** What the voucher pays in: SOL (System transfers) or an SPL token (TransferChecked, assets.ts). */
export type VoucherAsset = Asset | { kind: 'sol' };

export interface VoucherTerms {
  buyer: TransactionSigner;
  nonceAccount: Address;
  /** The nonce account's current value (the transaction's lifetime). */
  nonceValue: string;
  requestId: string;
  /** The last period this voucher pays for (cumulative since the last settlement). */
  period: number;
  asset: VoucherAsset;
  transfers: VoucherTransfer[];
  /** Unix seconds after which the Payment memo is stale (the seller settles before). */
  expiresAt: number;
  /** Compute-unit limit and price (FeePlanner.budgetFor, the rule of every transaction). */
  budget?: Budget;
}

/** The instructions of a voucher after its AdvanceNonce (the budget first, then the transfers, the memo). */
export async function voucherInstructions(
  t: Omit<VoucherTerms, 'nonceValue' | 'nonceAccount'>,
): Promise<Instruction[]> {
  const asset = t.asset;
  const ixs: Instruction[] = t.budget
    ? [setComputeUnitLimitInstruction(t.budget.unitLimit), setComputeUnitPriceInstruction(t.budget.microLamports)]
    : [];
  if (asset.kind === 'sol')
    ixs.push(
      ...t.transfers.map((x) => getTransferSolInstruction({ source: t.buyer, destination: x.to, amount: x.lamports })),
    );
  // the recipients' token accounts exist (the buyer created a missing one before its first voucher)
  else
    for (const x of t.transfers)
      ixs.push(...(await transferInstructions(t.buyer, { to: x.to, lamports: x.lamports, asset })));
  ixs.push(paymentMemo(t.requestId, t.period, t.expiresAt));
  return ixs;
}

export interface SignedVoucher {
  /** Base64 wire transaction. */
  tx: string;
  signature: string;
}

/** The Memo v1 instruction of a voucher: a Payment envelope (no topic: nobody watches it). */
function paymentMemo(requestId: string, period: number, expiresAt: number): Instruction {
  return {
    programAddress: MEMO_V1_PROGRAM,
    accounts: [],
    data: new TextEncoder().encode(
      encodeEnvelope({ type: 'Payment', nonce: newNonce(), expiresAt, requestId, period }),
    ),
  };
}

export async function signVoucher(t: VoucherTerms): Promise<SignedVoucher> {
  const ixs = await voucherInstructions(t);
  const msg = pipe(
    createTransactionMessage({ version: 0 }),
    (m) => setTransactionMessageFeePayerSigner(t.buyer, m),
    (m) =>
      setTransactionMessageLifetimeUsingDurableNonce(
        {
          nonce: t.nonceValue as Nonce,
          nonceAccountAddress: t.nonceAccount,
          nonceAuthorityAddress: t.buyer.address,
        },
        m,
      ),
    (m) => appendTransactionMessageInstructions(ixs, m),
  );
  const signed = await signTransactionMessageWithSigners(msg);
  return { tx: getBase64EncodedWireTransaction(signed), signature: getSignatureFromTransaction(signed) };
}

/** Why a voucher is refused (recorded with the detail; docs/market.md lists them). */
export type VoucherRefusal =
  | 'malformed'
  | 'wrong-signer'
  | 'bad-signature'
  | 'wrong-nonce'
  | 'wrong-mint'
  | 'wrong-amount'
  | 'wrong-request'
  | 'wrong-period';

export interface VoucherExpectation {
  buyer: Address;
  nonceAccount: Address;
  nonceValue: string;
  requestId: string;
  period: number;
  /** Exactly these transfers from the buyer, in any order (price since the last settlement, shares). */
  transfers: VoucherTransfer[];
  /** What they must be made in (default SOL); a token voucher pays into each recipient's token account. */
  asset?: Asset;
  /** Further SOL transfers allowed beside `transfers` (a relay's share: docs/market.md "Priced
   *  relays"): only to recipients `allowed` says yes to, at most `maxLamports` in all. */
  others?: { allowed(to: string): boolean; maxLamports: bigint };
}

export type VoucherCheck =
  | {
      ok: true;
      signature: string;
      /** What `transfers` move in all. */
      lamports: bigint;
      /** The further transfers `others` let through (recipient, lamports); absent when none. */
      others?: VoucherTransfer[];
    }
  | { ok: false; reason: VoucherRefusal; detail: string };

const b64 = getBase64Encoder();
const b58 = getBase58Decoder();
const txDecoder = getTransactionDecoder();
const msgDecoder = getCompiledTransactionMessageDecoder();

/** Check a voucher locally (no ledger read): who signed it, against which nonce, paying what. */
export async function checkVoucher(txBase64: string, exp: VoucherExpectation): Promise<VoucherCheck> {
  const no = (reason: VoucherRefusal, detail: string): VoucherCheck => ({ ok: false, reason, detail });
  let tx, msg;
  try {
    tx = txDecoder.decode(b64.encode(txBase64));
    msg = msgDecoder.decode(tx.messageBytes) as LegacyCompiledTransactionMessage | V0CompiledTransactionMessage;
  } catch (e) {
    return no('malformed', `not a transaction: ${(e as Error).message}`);
  }
  if (!Array.isArray(msg.instructions)) return no('malformed', 'unsupported transaction version');
  if ('addressTableLookups' in msg && (msg.addressTableLookups?.length ?? 0) > 0)
    return no('malformed', 'address lookup tables are not allowed in a voucher');
  const keys = msg.staticAccounts;
  const signers = keys.slice(0, msg.header.numSignerAccounts);
  if (signers.length !== 1 || signers[0] !== exp.buyer)
    return no('wrong-signer', `signed by ${signers.join(', ') || 'nobody'}, expected the buyer ${exp.buyer} alone`);
  const sig = tx.signatures[exp.buyer];
  if (!sig) return no('bad-signature', 'the buyer did not sign');
  const key = await getPublicKeyFromAddress(exp.buyer);
  if (!(await verifySignature(key, sig as SignatureBytes, tx.messageBytes)))
    return no('bad-signature', "the buyer's signature does not verify");
  const signature = b58.decode(sig);

  const ixs = msg.instructions.map((ix) => ({
    program: keys[ix.programAddressIndex],
    accounts: (ix.accountIndices ?? []).map((i) => keys[i]),
    data: ix.data ? Uint8Array.from(ix.data) : new Uint8Array(0),
  }));
  const first = ixs[0];
  const u32 = (d: Uint8Array): number =>
    d.length >= 4 ? new DataView(d.buffer, d.byteOffset, d.byteLength).getUint32(0, true) : -1;
  if (
    !first ||
    first.program !== SYSTEM_PROGRAM ||
    u32(first.data) !== ADVANCE_NONCE ||
    first.accounts[0] !== exp.nonceAccount ||
    first.accounts[1] !== RECENT_BLOCKHASHES_SYSVAR ||
    first.accounts[2] !== exp.buyer
  )
    return no(
      'wrong-nonce',
      `the first instruction must advance the nonce account ${exp.nonceAccount} (authority: buyer)`,
    );
  const lifetime = (msg as { lifetimeToken?: string }).lifetimeToken;
  if (lifetime !== exp.nonceValue)
    return no('wrong-nonce', `signed against nonce ${lifetime}, the account holds ${exp.nonceValue}`);

  const asset = exp.asset ?? SOL;
  // a token voucher pays into the recipients' associated token accounts: map each back to its owner
  const ownerOfAta = new Map<string, string>();
  if (asset.kind === 'spl') for (const t of exp.transfers) ownerOfAta.set(await ataOf(t.to, asset.mint), t.to);
  const moved = new Map<string, bigint>();
  let memo: { requestId: string; period: number } | null = null;
  const budget = new Set<number>();
  for (const ix of ixs.slice(1)) {
    if (ix.program === COMPUTE_BUDGET_PROGRAM) {
      // the buyer's compute-unit limit (2) and price (3), once each; the buyer pays that fee
      const kind = ix.data[0] ?? -1;
      const size = kind === 2 ? 5 : kind === 3 ? 9 : -1;
      if (ix.data.length !== size || budget.has(kind) || ix.accounts.length > 0)
        return no('malformed', 'a compute-budget instruction other than one unit limit and one unit price');
      budget.add(kind);
    } else if (ix.program === TOKEN_PROGRAM_ADDRESS) {
      const t = parseTokenTransfer(ix.data, ix.accounts as Address[]);
      if (!t) return no('malformed', 'a token instruction that is no transfer');
      if (asset.kind !== 'spl')
        return no('wrong-mint', `pays in the token ${t.mint ?? '(unnamed)'}: this purchase is priced in SOL`);
      if (t.mint !== asset.mint || t.decimals !== asset.decimals)
        return no(
          'wrong-mint',
          `pays in the token ${t.mint ?? '(a Transfer naming no mint)'}, expected ${asset.symbol} (mint ${asset.mint})`,
        );
      if (t.owner !== exp.buyer) return no('wrong-amount', `a token transfer authorized by ${t.owner}, not the buyer`);
      const to = ownerOfAta.get(t.destination) ?? t.destination;
      moved.set(to, (moved.get(to) ?? 0n) + t.amount);
    } else if (
      ix.program === SYSTEM_PROGRAM &&
      u32(ix.data) === TRANSFER &&
      ix.data.length === 12 &&
      asset.kind === 'spl'
    ) {
      return no('wrong-mint', `pays in SOL, expected ${asset.symbol} (mint ${asset.mint})`);
    } else if (ix.program === SYSTEM_PROGRAM && u32(ix.data) === TRANSFER && ix.data.length === 12) {
      if (ix.accounts[0] !== exp.buyer) return no('wrong-amount', `a transfer from ${ix.accounts[0]}, not the buyer`);
      const to = ix.accounts[1]!;
      const lamports = new DataView(ix.data.buffer, ix.data.byteOffset, 12).getBigUint64(4, true);
      moved.set(to, (moved.get(to) ?? 0n) + lamports);
    } else if (ix.program === MEMO_V1_PROGRAM && !memo) {
      const r = decodeEnvelope(new TextDecoder().decode(ix.data));
      if (!r.ok || r.message.type !== 'Payment') return no('malformed', 'the memo is no Payment message');
      memo = { requestId: r.message.requestId, period: r.message.period };
    } else if (ix.program !== SYSTEM_PROGRAM && ix.program !== MEMO_V1_PROGRAM) {
      return no('wrong-mint', `pays through program ${ix.program}: this purchase is priced in ${asset.symbol}`);
    } else return no('malformed', 'an instruction a voucher does not have');
  }
  if (!memo) return no('malformed', 'no Payment memo');
  if (memo.requestId !== exp.requestId)
    return no('wrong-request', `the memo names request ${memo.requestId}, expected ${exp.requestId}`);
  if (memo.period !== exp.period)
    return no('wrong-period', `the memo pays through period ${memo.period}, expected ${exp.period}`);
  let total = 0n;
  for (const want of exp.transfers) {
    const got = moved.get(want.to) ?? 0n;
    if (got !== want.lamports)
      return no(
        'wrong-amount',
        `pays ${got} ${asset.kind === 'sol' ? 'lamports' : `base units of ${asset.symbol}`} to ${want.to}, expected exactly ${want.lamports}`,
      );
    moved.delete(want.to);
    total += got;
  }
  const others: VoucherTransfer[] = [];
  let otherTotal = 0n;
  for (const [to, lamports] of moved) {
    if (!exp.others?.allowed(to)) continue;
    others.push({ to: to as Address, lamports });
    otherTotal += lamports;
    moved.delete(to);
  }
  if (moved.size > 0) return no('wrong-amount', `pays someone else too: ${[...moved.keys()].join(', ')}`);
  if (exp.others && otherTotal > exp.others.maxLamports)
    return no('wrong-amount', `pays ${otherTotal} lamports to others, at most ${exp.others.maxLamports} allowed`);
  return { ok: true, signature, lamports: total, ...(others.length ? { others } : {}) };
}

/**
 * The newest voucher of `requestId` that landed on `nonceAccount` (settled), read back from the
 * ledger: the period its memo names and what it moved from the buyer. Null: none found.
 */
export async function lastSettledVoucher(
  rpc: LedgerRpc,
  nonceAccount: Address,
  buyer: Address,
  requestId: string,
  /** Count only what went to these recipients (the seller; a relay's share in the same voucher is
   *  not the seller's). Default: everything the buyer moved. */
  to?: Address[],
): Promise<{ signature: string; period: number; lamports: bigint; fee: bigint } | null> {
  const sigs = await rpc.getSignaturesForAddress(nonceAccount, { commitment: 'confirmed', limit: 20 }).send();
  for (const s of sigs) {
    if (s.err) continue;
    const tx = await rpc
      .getTransaction(s.signature, { commitment: 'confirmed', encoding: 'base64', maxSupportedTransactionVersion: 0 })
      .send();
    if (!tx || tx.meta?.err) continue;
    let parsed;
    try {
      parsed = parseTransaction(tx.transaction[0], tx.meta?.loadedAddresses);
    } catch {
      continue;
    }
    const memo = parsed.allMemos
      .map((m) => decodeEnvelope(new TextDecoder().decode(m.data)))
      .find((r) => r.ok && r.message.type === 'Payment' && r.message.requestId === requestId);
    if (!memo || !memo.ok || memo.message.type !== 'Payment') continue;
    // what the buyer moved: lamports, or (a token-priced purchase) base units of its token
    const lamports =
      parsed.transfers
        .filter((t) => t.from === buyer && (!to || to.includes(t.to as Address)))
        .reduce((a, t) => a + t.lamports, 0n) +
      parsed.tokenTransfers.filter((t) => t.owner === buyer).reduce((a, t) => a + t.amount, 0n);
    return { signature: s.signature, period: memo.message.period, lamports, fee: BigInt(tx.meta?.fee ?? 0n) };
  }
  return null;
}
