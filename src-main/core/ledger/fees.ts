// Runs in: Node. Fees that land: every transaction carries a compute-unit limit taken from a
// simulation (what it uses, plus a margin) and a compute-unit price taken from the cluster's recent
// prioritization fees for the accounts it writes (a percentile of the last 150 slots), capped so
// that the priority part never exceeds `maxPriorityFeeLamports` per transaction (setting
// `fees.maxPriorityFeeLamports`). A replacement of a transaction that expired unconfirmed bids
// higher (FeePlanner.bump), within the same cap.
import {
  appendTransactionMessageInstructions,
  compileTransaction,
  createTransactionMessage,
  getBase64EncodedWireTransaction,
  isSolanaError,
  isWritableRole,
  pipe,
  setTransactionMessageFeePayerSigner,
  setTransactionMessageLifetimeUsingBlockhash,
  SOLANA_ERROR__JSON_RPC__METHOD_NOT_FOUND,
  type Address,
  type Blockhash,
  type Instruction,
  type TransactionSigner,
} from '@solana/kit';
import type { Logger } from '../log';
import type { LedgerRpc } from './rpc';
import {
  buildPostMessage,
  MAX_COMPUTE_UNITS,
  priorityFeeLamports,
  setComputeUnitLimitInstruction,
  setComputeUnitPriceInstruction,
  type PostShape,
} from './transactions';

export interface FeePolicy {
  /** The most a transaction pays on top of the base fee for priority (lamports). */
  maxPriorityFeeLamports: bigint;
  /** Percentile of the recent per-slot prices to bid (0..100). */
  percentile: number;
}
export const DEFAULT_FEE_POLICY: FeePolicy = { maxPriorityFeeLamports: 10_000n, percentile: 75 };

export interface Budget {
  unitLimit: number;
  microLamports: bigint;
}

/** Recent prices are read at most this often (per set of accounts): the RPC budget. */
const PRICE_TTL_MS = 20_000;
/** Compute units simulated units are multiplied by (and a floor added). */
const UNIT_MARGIN = 1.15;
const UNIT_FLOOR = 300;
/** Smallest bid of a replacement over a price of 0 (micro-lamports per unit). */
const MIN_BUMP_MICROLAMPORTS = 1_000n;

export function percentileOf(values: bigint[], pct: number): bigint {
  if (values.length === 0) return 0n;
  const sorted = [...values].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((pct / 100) * sorted.length) - 1));
  return sorted[i]!;
}

/** The highest price (micro-lamports per unit) that keeps the priority part within the cap. */
export function capPrice(policy: FeePolicy, unitLimit: number): bigint {
  return (policy.maxPriorityFeeLamports * 1_000_000n) / BigInt(Math.max(1, unitLimit));
}

export class FeePlanner {
  readonly #prices = new Map<string, { at: number; price: bigint }>();
  #simulate = true;
  #recentFees = true;

  constructor(
    private readonly rpc: LedgerRpc,
    private readonly log: Logger,
    readonly policy: FeePolicy = DEFAULT_FEE_POLICY,
  ) {}

  /** Compute-unit price to bid now for a transaction writing `accounts` (cached PRICE_TTL_MS). */
  async price(accounts: Address[], signal?: AbortSignal): Promise<bigint> {
    if (!this.#recentFees) return 0n;
    const key = [...accounts].sort().join(',');
    const hit = this.#prices.get(key);
    if (hit && Date.now() - hit.at < PRICE_TTL_MS) return hit.price;
    try {
      const fees = await this.rpc.getRecentPrioritizationFees(accounts).send({ abortSignal: signal });
      const price = percentileOf(
        fees.map((f) => BigInt(f.prioritizationFee)),
        this.policy.percentile,
      );
      this.#prices.set(key, { at: Date.now(), price });
      return price;
    } catch (e) {
      if (isSolanaError(e, SOLANA_ERROR__JSON_RPC__METHOD_NOT_FOUND)) this.#recentFees = false;
      this.log.debug({ err: (e as Error).message }, 'ledger fees: no recent prioritization fees; bidding 0');
      return hit?.price ?? 0n;
    }
  }

  /**
   * Units the transaction needs: simulated (price 0, so the simulated fee cannot fail on funds the
   * real one would not), times a margin. Without a simulation (method not served, or the
   * simulation fails: the real send reports why), the most a transaction may use.
   */
  async units(shape: Omit<PostShape, 'budget'>, type: string, signal?: AbortSignal): Promise<number> {
    if (!this.#simulate) return MAX_COMPUTE_UNITS;
    const msg = buildPostMessage({ ...shape, budget: { unitLimit: MAX_COMPUTE_UNITS, microLamports: 0n } }, type);
    return this.#simulated(getBase64EncodedWireTransaction(compileTransaction(msg)), signal);
  }

  async #simulated(wire: ReturnType<typeof getBase64EncodedWireTransaction>, signal?: AbortSignal): Promise<number> {
    try {
      const { value } = await this.rpc
        .simulateTransaction(wire, {
          encoding: 'base64',
          sigVerify: false,
          replaceRecentBlockhash: true,
          commitment: 'confirmed',
        })
        .send({ abortSignal: signal });
      if (value.err || value.unitsConsumed === undefined) {
        this.log.debug({ err: JSON.stringify(value.err, bigintJson) }, 'ledger fees: simulation failed');
        return MAX_COMPUTE_UNITS;
      }
      return Math.min(MAX_COMPUTE_UNITS, Math.ceil(Number(value.unitsConsumed) * UNIT_MARGIN) + UNIT_FLOOR);
    } catch (e) {
      if (isSolanaError(e, SOLANA_ERROR__JSON_RPC__METHOD_NOT_FOUND)) this.#simulate = false;
      this.log.debug({ err: (e as Error).message }, 'ledger fees: cannot simulate');
      return MAX_COMPUTE_UNITS;
    }
  }

  /**
   * The budget of a transaction made of any `instructions` paid by `payer` (nonce accounts,
   * vouchers, token accounts): the same rule as a post — simulated units, recent price of the
   * accounts it writes, within the cap. A durable-nonce voucher is simulated without its
   * AdvanceNonce instruction (its lifetime is no blockhash); UNIT_FLOOR covers that instruction.
   */
  async budgetFor(payer: TransactionSigner, instructions: Instruction[], signal?: AbortSignal): Promise<Budget> {
    const writes = new Set<Address>([payer.address]);
    for (const ix of instructions) for (const a of ix.accounts ?? []) if (isWritableRole(a.role)) writes.add(a.address);
    const unitsOf = async (): Promise<number> => {
      if (!this.#simulate) return MAX_COMPUTE_UNITS;
      const msg = pipe(
        createTransactionMessage({ version: 0 }),
        (m) => setTransactionMessageFeePayerSigner(payer, m),
        (m) => setTransactionMessageLifetimeUsingBlockhash(SIMULATION_LIFETIME, m),
        (m) =>
          appendTransactionMessageInstructions(
            [setComputeUnitLimitInstruction(MAX_COMPUTE_UNITS), setComputeUnitPriceInstruction(0n), ...instructions],
            m,
          ),
      );
      return this.#simulated(getBase64EncodedWireTransaction(compileTransaction(msg)), signal);
    };
    const [unitLimit, price] = await Promise.all([unitsOf(), this.price([...writes].slice(0, 128), signal)]);
    return { unitLimit, microLamports: minBig(price, capPrice(this.policy, unitLimit)) };
  }

  /**
   * A budget whose whole fee (base fee of `signatures` + priority) stays within `maxFeeLamports`:
   * the price is lowered when it would not (a re-send never bids past what the user's cap leaves).
   */
  static within(b: Budget, signatures: number, maxFeeLamports: bigint | undefined): Budget {
    if (maxFeeLamports === undefined) return b;
    const room = maxFeeLamports - LAMPORTS_PER_SIGNATURE * BigInt(signatures);
    if (room <= 0n) return { ...b, microLamports: 0n };
    const most = (room * 1_000_000n) / BigInt(Math.max(1, b.unitLimit));
    return b.microLamports > most ? { ...b, microLamports: most } : b;
  }

  /** Lamports a transaction of `signatures` signatures under budget `b` pays in fees. */
  static feeOf(b: Budget | undefined, signatures = 1): bigint {
    return LAMPORTS_PER_SIGNATURE * BigInt(signatures) + (b ? priorityFeeLamports(b) : 0n);
  }

  /** The budget of a new transaction: simulated units, recent price, within the cap. */
  async budget(shape: Omit<PostShape, 'budget'>, type: string, signal?: AbortSignal): Promise<Budget> {
    const writes = new Set<Address>([shape.signer.address, ...(shape.transfer ? [shape.transfer.to] : [])]);
    if (shape.relayShare) writes.add(shape.relayShare.to);
    for (const ix of shape.instructions ?? [])
      for (const a of ix.accounts ?? []) if (isWritableRole(a.role)) writes.add(a.address);
    const [unitLimit, price] = await Promise.all([
      this.units(shape, type, signal),
      this.price([...writes].slice(0, 128), signal),
    ]);
    return { unitLimit, microLamports: minBig(price, capPrice(this.policy, unitLimit)) };
  }

  /** A replacement's budget: the same units, a higher price (double, at least +MIN_BUMP), within the cap. */
  bump(prev: Budget): Budget {
    const doubled = prev.microLamports * 2n;
    const next =
      doubled > prev.microLamports + MIN_BUMP_MICROLAMPORTS ? doubled : prev.microLamports + MIN_BUMP_MICROLAMPORTS;
    return { unitLimit: prev.unitLimit, microLamports: minBig(next, capPrice(this.policy, prev.unitLimit)) };
  }

  /** Lamports of the priority part of a budget. */
  static priorityLamports(b: Budget): bigint {
    return priorityFeeLamports(b);
  }
}

/** Base fee per signature (the same on every cluster Axon talks to; the local ledger charges it too). */
export const LAMPORTS_PER_SIGNATURE = 5_000n;
/** A syntactically valid lifetime for simulations (replaceRecentBlockhash puts the real one in). */
const SIMULATION_LIFETIME = {
  blockhash: '11111111111111111111111111111111' as Blockhash,
  lastValidBlockHeight: 0n,
};

const minBig = (a: bigint, b: bigint): bigint => (a < b ? a : b);
const bigintJson = (_k: string, v: unknown): unknown => (typeof v === 'bigint' ? v.toString() : v);
