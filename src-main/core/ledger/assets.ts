// Runs in: Node. The asset layer: what a listing is priced in (SOL, or an SPL token such as USDC)
// and everything that depends on it, in ONE place: the known USDC mint of each cluster, the asset
// descriptor (mint, decimals, symbol), exact amount text (integer base units ↔ "1.5 USDC"), the
// transfer instructions of a payment (System transfer, or SPL TransferChecked into the
// recipient's associated token account, created first when missing), ATA derivation, the rent of
// a token account (shown before the user confirms) and balance reads. The payment path
// (client.ts, payments.ts, market/) calls these; nothing else knows a mint.
import { address, isAddress, type Address, type Instruction, type TransactionSigner } from '@solana/kit';
import { getTransferSolInstruction } from '@solana-program/system';
import {
  ASSOCIATED_TOKEN_PROGRAM_ADDRESS,
  fetchMaybeMint,
  fetchMaybeToken,
  findAssociatedTokenPda,
  getCreateAssociatedTokenIdempotentInstruction,
  getTokenSize,
  getTransferCheckedInstruction,
  TOKEN_PROGRAM_ADDRESS,
} from '@solana-program/token';
import type { ClusterName } from './cluster';
import type { LedgerRpc } from './rpc';

export { TOKEN_PROGRAM_ADDRESS, ASSOCIATED_TOKEN_PROGRAM_ADDRESS };
/** The Token-2022 (Token Extensions) program: its mints are refused with a reason (resolveAsset). */
export const TOKEN_2022_PROGRAM_ADDRESS = address('TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb');

/** USDC has 6 decimals on every cluster (and the local ledger's USDC-like mint too). */
export const USDC_DECIMALS = 6;
/**
 * The local ledger's USDC-like mint: written at this fixed address when the ledger starts
 * (src-main/local-ledger/tokens.ts), mint authority = the ledger's faucet.
 */
export const LOCAL_USDC_MINT = address('9xfPxLsJqmwx9rZXnJGsqKnZksWDLJLLUsa7y5pXyq2W');
/** Circle's USDC mints (https://developers.circle.com/stablecoins/usdc-contract-addresses). */
export const USDC_MINTS: Record<ClusterName, Address> = {
  local: LOCAL_USDC_MINT,
  devnet: address('4zMMC9srt5Ri5X14GAgXhaHii3GnPAEERYPJgZJDncDU'),
  'mainnet-beta': address('EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v'),
};

export interface SolAsset {
  kind: 'sol';
  symbol: 'SOL';
  decimals: 9;
  mint: null;
}
export interface TokenAsset {
  kind: 'spl';
  symbol: string;
  decimals: number;
  mint: Address;
}
/** What an amount is counted in. Amounts are always integer base units (lamports, or 10^-decimals tokens). */
export type Asset = SolAsset | TokenAsset;

export const SOL: SolAsset = { kind: 'sol', symbol: 'SOL', decimals: 9, mint: null };

const KNOWN = new Map<string, TokenAsset>(
  Object.values(USDC_MINTS).map((mint) => [mint, { kind: 'spl', symbol: 'USDC', decimals: USDC_DECIMALS, mint }]),
);

/** The USDC asset of a named cluster; for a custom RPC URL: null (see usdcOn). */
export function usdcFor(cluster: ClusterName | 'custom'): TokenAsset | null {
  return cluster === 'custom' ? null : KNOWN.get(USDC_MINTS[cluster])!;
}

/** A known mint's asset without a ledger read (USDC of any cluster); null for another mint. */
export function knownAsset(mint: string | null | undefined): Asset | null {
  if (!mint) return SOL;
  return KNOWN.get(mint) ?? null;
}

export class AssetError extends Error {
  override name = 'AssetError';
}

/**
 * The asset of `mint` (null/undefined = SOL): a known mint at once, another one from its mint
 * account on the ledger (decimals; the symbol is the mint's first characters). Throws AssetError
 * when the account is no SPL token mint.
 */
export async function resolveAsset(rpc: LedgerRpc, mint: string | null | undefined): Promise<Asset> {
  const known = knownAsset(mint);
  if (known) return known;
  if (!isAddress(mint!)) throw new AssetError(`not a mint address: ${mint}`);
  // which program owns it, before decoding (a Token-2022 mint with extensions has another layout)
  const { value: info } = await rpc.getAccountInfo(mint, { encoding: 'base64', commitment: 'confirmed' }).send();
  if (info && info.owner === TOKEN_2022_PROGRAM_ADDRESS)
    throw new AssetError(
      `${mint} is a Token-2022 mint: Axon pays with the classic Token Program only — a Token-2022 mint can carry transfer fees, hooks or confidential transfers that change what a TransferChecked moves, so its prices could not be checked exactly; not accepted`,
    );
  if (info && info.owner !== TOKEN_PROGRAM_ADDRESS)
    throw new AssetError(`${mint} is no SPL token mint (an account of program ${info.owner})`);
  const acc = await fetchMaybeMint(rpc, mint).catch((e: unknown) => {
    throw new AssetError(`${mint} is no SPL token mint: ${(e as Error).message}`);
  });
  if (!acc.exists) throw new AssetError(`no mint account ${mint} on this ledger`);
  if (acc.programAddress !== TOKEN_PROGRAM_ADDRESS) throw new AssetError(`${mint} is not a Token Program mint`);
  return { kind: 'spl', symbol: `${mint.slice(0, 4)}…`, decimals: acc.data.decimals, mint };
}

/**
 * Which asset `name` is on this ledger: 'sol', 'usdc' (the cluster's known mint; on a custom RPC
 * URL the local ledger's mint when that ledger has it), or a mint address.
 */
export async function assetByName(rpc: LedgerRpc, cluster: ClusterName | 'custom', name: string): Promise<Asset> {
  const n = name.trim();
  if (n.toLowerCase() === 'sol') return SOL;
  if (n.toLowerCase() === 'usdc') {
    const usdc = await usdcOn(rpc, cluster);
    if (!usdc) throw new AssetError('this ledger has no known USDC mint: give the mint address');
    return usdc;
  }
  return resolveAsset(rpc, n);
}

/** USDC on this ledger: the named cluster's, or (custom URL) the local ledger's mint if it exists there. */
export async function usdcOn(rpc: LedgerRpc, cluster: ClusterName | 'custom'): Promise<TokenAsset | null> {
  const named = usdcFor(cluster);
  if (named) return named;
  const acc = await fetchMaybeMint(rpc, LOCAL_USDC_MINT).catch(() => null);
  return acc?.exists ? (KNOWN.get(LOCAL_USDC_MINT) ?? null) : null;
}

// ---- amounts ----

/** Exact text of `amount` base units: "1.5 USDC", "0.000005 SOL" (no rounding, trailing zeros cut). */
export function formatAmount(amount: bigint, asset: Pick<Asset, 'decimals' | 'symbol'>): string {
  const neg = amount < 0n;
  const abs = neg ? -amount : amount;
  const base = 10n ** BigInt(asset.decimals);
  const whole = abs / base;
  const frac = (abs % base).toString().padStart(asset.decimals, '0').replace(/0+$/, '');
  return `${neg ? '-' : ''}${whole}${frac ? `.${frac}` : ''} ${asset.symbol}`;
}

/** Decimal text ("1.25") → base units, exactly; more decimals than the asset has is an error. */
export function parseAmount(text: string, asset: Pick<Asset, 'decimals' | 'symbol'>): bigint {
  const m = /^(\d+)(?:\.(\d+))?$/.exec(text.trim());
  if (!m) throw new AssetError(`not an amount: ${JSON.stringify(text)} (expected e.g. 1.5)`);
  const frac = m[2] ?? '';
  if (frac.length > asset.decimals)
    throw new AssetError(`${text} has more than ${asset.decimals} decimals (the smallest ${asset.symbol} unit)`);
  return BigInt(m[1]!) * 10n ** BigInt(asset.decimals) + BigInt(frac.padEnd(asset.decimals, '0') || '0');
}

// ---- token accounts ----

/** The associated token account of `owner` for `mint` (classic Token Program). */
export async function ataOf(owner: Address, mint: Address): Promise<Address> {
  const [ata] = await findAssociatedTokenPda({ owner, mint, tokenProgram: TOKEN_PROGRAM_ADDRESS });
  return ata;
}

/** Lamports a new token account locks as rent (what "create the account" costs, shown first). */
export async function tokenAccountRent(rpc: LedgerRpc): Promise<bigint> {
  return BigInt(await rpc.getMinimumBalanceForRentExemption(BigInt(getTokenSize())).send());
}

/** `owner`'s balance of `asset` in base units (SOL: lamports); a missing token account is 0. */
export async function balanceOf(rpc: LedgerRpc, owner: Address, asset: Asset): Promise<bigint> {
  if (asset.kind === 'sol') return BigInt((await rpc.getBalance(owner, { commitment: 'confirmed' }).send()).value);
  const acc = await fetchMaybeToken(rpc, await ataOf(owner, asset.mint), { commitment: 'confirmed' });
  return acc.exists ? acc.data.amount : 0n;
}

/** `owner` has no token account for `asset` yet (SOL: never missing). */
export async function tokenAccountMissing(rpc: LedgerRpc, owner: Address, asset: Asset): Promise<boolean> {
  if (asset.kind === 'sol') return false;
  const { value } = await rpc
    .getAccountInfo(await ataOf(owner, asset.mint), { encoding: 'base64', commitment: 'confirmed' })
    .send();
  return value === null;
}

/** Create `owner`'s associated token account for `asset` (idempotent), `payer` paying its rent. */
export async function createTokenAccountInstruction(
  payer: TransactionSigner,
  owner: Address,
  asset: TokenAsset,
): Promise<Instruction> {
  return getCreateAssociatedTokenIdempotentInstruction({
    payer,
    ata: await ataOf(owner, asset.mint),
    owner,
    mint: asset.mint,
  });
}

// ---- payments ----

export interface AssetTransfer {
  to: Address;
  /** Base units of `asset` (lamports for SOL). */
  lamports: bigint;
  /** Default SOL. */
  asset?: Asset;
  /** SPL: create the recipient's token account first (idempotent; the payer pays its rent). */
  createRecipientAccount?: boolean;
}

/**
 * The instructions that move `t.lamports` of `t.asset` from `signer` to `t.to`: a System transfer,
 * or (SPL) TransferChecked from the signer's ATA into the recipient's ATA — preceded by an
 * idempotent "create associated token account" when asked.
 */
export async function transferInstructions(signer: TransactionSigner, t: AssetTransfer): Promise<Instruction[]> {
  const asset = t.asset ?? SOL;
  if (asset.kind === 'sol')
    return [getTransferSolInstruction({ source: signer, destination: t.to, amount: t.lamports })];
  const [source, destination] = await Promise.all([ataOf(signer.address, asset.mint), ataOf(t.to, asset.mint)]);
  const out: Instruction[] = [];
  if (t.createRecipientAccount) {
    out.push(
      getCreateAssociatedTokenIdempotentInstruction({
        payer: signer,
        ata: destination,
        owner: t.to,
        mint: asset.mint,
      }),
    );
  }
  out.push(
    getTransferCheckedInstruction({
      source,
      mint: asset.mint,
      destination,
      authority: signer,
      amount: t.lamports,
      decimals: asset.decimals,
    }),
  );
  return out;
}

/** A token transfer read back from a transaction (see transactions.ts parseTransaction). */
export interface ParsedTokenTransfer {
  source: Address;
  /** null for a plain Transfer (no mint named: a payment never counts it). */
  mint: Address | null;
  destination: Address;
  owner: Address;
  amount: bigint;
  decimals: number | null;
}

/** Token Program Transfer (3) / TransferChecked (12) from an instruction's data and accounts. */
export function parseTokenTransfer(data: Uint8Array, accounts: Address[]): ParsedTokenTransfer | null {
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  if (data[0] === 12 && data.length === 10 && accounts.length >= 4) {
    return {
      source: accounts[0]!,
      mint: accounts[1]!,
      destination: accounts[2]!,
      owner: accounts[3]!,
      amount: dv.getBigUint64(1, true),
      decimals: data[9]!,
    };
  }
  if (data[0] === 3 && data.length === 9 && accounts.length >= 3) {
    return {
      source: accounts[0]!,
      mint: null,
      destination: accounts[1]!,
      owner: accounts[2]!,
      amount: dv.getBigUint64(1, true),
      decimals: null,
    };
  }
  return null;
}
