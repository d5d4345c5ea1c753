// Runs in: Node. Compute budget of a transaction as Agave reads it (SetComputeUnitLimit /
// SetComputeUnitPrice of the ComputeBudget program), the prioritization fee it pays, and the
// recent-prioritization-fees cache getRecentPrioritizationFees answers from: per slot, the lowest
// price a landed transaction paid, overall and per writable account (the last 150 slots).
import { isWritable, type DecodedTransaction } from './wire';

export const COMPUTE_BUDGET_PROGRAM = 'ComputeBudget111111111111111111111111111111';
export const MAX_COMPUTE_UNIT_LIMIT = 1_400_000;
/** Default units of an instruction of a builtin program / any other program (SIMD-0170). */
const BUILTIN_DEFAULT_UNITS = 3_000;
const DEFAULT_UNITS = 200_000;
const BUILTINS = new Set([
  '11111111111111111111111111111111',
  COMPUTE_BUDGET_PROGRAM,
  'Vote111111111111111111111111111111111111111',
  'Stake11111111111111111111111111111111111111',
  'Config1111111111111111111111111111111111111',
  'AddressLookupTab1e1111111111111111111111111',
  'BPFLoader1111111111111111111111111111111111',
  'BPFLoader2111111111111111111111111111111111',
  'BPFLoaderUpgradeab1e11111111111111111111111',
  'LoaderV411111111111111111111111111111111111',
  'Ed25519SigVerify111111111111111111111111111',
  'KeccakSecp256k11111111111111111111111111111',
  'Secp256r1SigVerify1111111111111111111111111',
]);
/** Slots the recent-fees cache keeps (as Agave). */
export const RECENT_FEE_SLOTS = 150;

export interface ComputeBudget {
  unitLimit: number;
  /** Micro-lamports per compute unit. */
  unitPrice: bigint;
}

export function computeBudgetOf(tx: Pick<DecodedTransaction, 'instructions' | 'accountKeys'>): ComputeBudget {
  let limit: number | undefined;
  let price = 0n;
  let defaults = 0;
  for (const ix of tx.instructions) {
    const program = tx.accountKeys[ix.programIdIndex];
    if (program === COMPUTE_BUDGET_PROGRAM) {
      const d = ix.data;
      const dv = new DataView(d.buffer, d.byteOffset, d.byteLength);
      if (d[0] === 2 && d.length === 5) limit = dv.getUint32(1, true);
      else if (d[0] === 3 && d.length === 9) price = dv.getBigUint64(1, true);
    }
    defaults += program !== undefined && BUILTINS.has(program) ? BUILTIN_DEFAULT_UNITS : DEFAULT_UNITS;
  }
  return { unitLimit: Math.min(limit ?? defaults, MAX_COMPUTE_UNIT_LIMIT), unitPrice: price };
}

/** Lamports of the prioritization fee: ceil(price × limit / 1,000,000). */
export function prioritizationFee(b: ComputeBudget): bigint {
  return (b.unitPrice * BigInt(b.unitLimit) + 999_999n) / 1_000_000n;
}

interface SlotFees {
  min: bigint;
  byAccount: Map<string, bigint>;
}

export class RecentFees {
  readonly #slots = new Map<number, SlotFees>();

  /** A transaction landed in `slot` paying `unitPrice`. */
  landed(slot: number, tx: DecodedTransaction, unitPrice: bigint): void {
    let s = this.#slots.get(slot);
    if (!s) {
      s = { min: unitPrice, byAccount: new Map() };
      this.#slots.set(slot, s);
      for (const old of this.#slots.keys()) if (old <= slot - RECENT_FEE_SLOTS) this.#slots.delete(old);
    }
    if (unitPrice < s.min) s.min = unitPrice;
    tx.accountKeys.forEach((a, i) => {
      if (!isWritable(tx, i)) return;
      const cur = s.byAccount.get(a);
      if (cur === undefined || unitPrice < cur) s.byAccount.set(a, unitPrice);
    });
  }

  /** Agave's answer: one entry per recent slot; for accounts, the highest of their per-slot minimums. */
  recent(currentSlot: number, accounts: string[]): { slot: number; prioritizationFee: bigint }[] {
    const out: { slot: number; prioritizationFee: bigint }[] = [];
    for (let slot = Math.max(1, currentSlot - RECENT_FEE_SLOTS + 1); slot <= currentSlot; slot++) {
      const s = this.#slots.get(slot);
      let fee = s?.min ?? 0n;
      if (s && accounts.length) {
        fee = 0n;
        for (const a of accounts) {
          const f = s.byAccount.get(a);
          if (f !== undefined && f > fee) fee = f;
        }
        if (s.min > fee) fee = s.min;
      }
      out.push({ slot, prioritizationFee: fee });
    }
    return out;
  }
}
