// Runs in: Node. The local ledger's USDC-like token: an SPL mint (6 decimals) written at the
// fixed address LOCAL_USDC_MINT (core/ledger/assets.ts) when the ledger starts, its mint authority
// the faucet, and the token faucet next to the SOL airdrop: `requestTokenAirdrop(owner, amount,
// mint?)` signs a real transaction from the faucet (create the owner's associated token account
// if missing — the faucet pays its rent — then MintToChecked), so it shows in history like any
// transaction. A real cluster has no such method; the client says so (AirdropNotServedError).
import {
  appendTransactionMessageInstructions,
  createTransactionMessage,
  getTransactionEncoder,
  none,
  pipe,
  setTransactionMessageFeePayerSigner,
  setTransactionMessageLifetimeUsingBlockhash,
  signTransactionMessageWithSigners,
  some,
  type Address,
  type Blockhash,
} from '@solana/kit';
import {
  getCreateAssociatedTokenIdempotentInstruction,
  getMintDecoder,
  getMintEncoder,
  getMintSize,
  getMintToCheckedInstruction,
  TOKEN_PROGRAM_ADDRESS,
} from '@solana-program/token';
import { ataOf, LOCAL_USDC_MINT, USDC_DECIMALS } from '../core/ledger/assets';
import type { Bank } from './bank';
import type { Faucet } from './faucet';
import { INTERNAL_ERROR, invalidParams, RpcError } from './rpc-errors';
import type { MethodTable, RpcContext } from './methods-common';
import { address, required } from './params';
import { decodeTransaction } from './wire';

/** Largest token airdrop per request: 1,000,000 USDC. */
export const MAX_TOKEN_AIRDROP = 1_000_000n * 10n ** BigInt(USDC_DECIMALS);
const U64_MAX = (1n << 64n) - 1n;

/** Writes the USDC-like mint at start (kept when it exists with the faucet as its authority). */
export function ensureUsdcMint(bank: Bank, faucet: Faucet): void {
  const existing = bank.getAccount(LOCAL_USDC_MINT);
  if (existing && existing.owner === TOKEN_PROGRAM_ADDRESS && existing.data.length === getMintSize()) {
    const mint = getMintDecoder().decode(existing.data);
    if (mint.mintAuthority.__option === 'Some' && mint.mintAuthority.value === faucet.address) return;
  }
  const data = getMintEncoder().encode({
    mintAuthority: some(faucet.address as Address),
    supply: 0n,
    decimals: USDC_DECIMALS,
    isInitialized: true,
    freezeAuthority: none(),
  });
  bank.setAccount({
    address: LOCAL_USDC_MINT,
    lamports: bank.minimumBalanceForRentExemption(getMintSize()),
    data: new Uint8Array(data),
    owner: TOKEN_PROGRAM_ADDRESS,
    executable: false,
    rentEpoch: U64_MAX,
  });
}

function amountParam(v: unknown): bigint {
  let n: bigint;
  if (typeof v === 'number' && Number.isSafeInteger(v)) n = BigInt(v);
  else if (typeof v === 'string' && /^\d{1,20}$/.test(v)) n = BigInt(v);
  else throw invalidParams('invalid token amount: an integer number of base units (number or decimal string)');
  if (n <= 0n) throw invalidParams('invalid token amount: must be positive');
  if (n > MAX_TOKEN_AIRDROP)
    throw invalidParams(`token airdrop request exceeds the local faucet's limit of ${MAX_TOKEN_AIRDROP} base units`);
  return n;
}

async function mintBytes(ctx: RpcContext, owner: Address, amount: bigint): Promise<Uint8Array> {
  const bh = ctx.clock.latestBlockhash('processed');
  const signer = ctx.faucet.signer;
  const ata = await ataOf(owner, LOCAL_USDC_MINT);
  const msg = pipe(
    createTransactionMessage({ version: 'legacy' }),
    (m) => setTransactionMessageFeePayerSigner(signer, m),
    (m) =>
      setTransactionMessageLifetimeUsingBlockhash(
        { blockhash: bh.blockhash as Blockhash, lastValidBlockHeight: BigInt(bh.lastValidBlockHeight) },
        m,
      ),
    (m) =>
      appendTransactionMessageInstructions(
        [
          getCreateAssociatedTokenIdempotentInstruction({ payer: signer, ata, owner, mint: LOCAL_USDC_MINT }),
          getMintToCheckedInstruction({
            mint: LOCAL_USDC_MINT,
            token: ata,
            mintAuthority: signer,
            amount,
            decimals: USDC_DECIMALS,
          }),
        ],
        m,
      ),
  );
  const tx = await signTransactionMessageWithSigners(msg);
  return new Uint8Array(getTransactionEncoder().encode(tx));
}

export const tokenMethods: MethodTable = {
  requestTokenAirdrop: async (p, ctx) => {
    const owner = required(p, 0, address, 'owner') as Address;
    const amount = amountParam(p[1]);
    if (p[2] !== undefined && p[2] !== null && p[2] !== LOCAL_USDC_MINT)
      throw invalidParams(`this faucet serves only the mint ${LOCAL_USDC_MINT}`);
    for (let attempt = 0; ; attempt++) {
      const bytes = await mintBytes(ctx, owner, amount);
      const out = ctx.bank.process(bytes, decodeTransaction(bytes), false);
      if (out.kind === 'landed') return out.tx.signature;
      // the same airdrop twice in one slot is the same transaction: retry in the next slot
      if (out.failure.err === 'AlreadyProcessed' && attempt < 3) {
        await ctx.clock.nextSlot();
        continue;
      }
      ctx.log.warn({ owner, amount: amount.toString(), err: out.failure.err }, 'local ledger: token airdrop failed');
      throw new RpcError(INTERNAL_ERROR, `token airdrop failed: ${out.failure.message}`);
    }
  },
};
