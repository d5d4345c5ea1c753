// Runs in: Node. The local ledger's slot clock: one block per slot (block height == slot), a new
// blockhash each slot, blockhashes valid for MAX_PROCESSING_AGE (150) blocks as on Solana, and
// commitment levels as fixed depths: confirmed = `confirmDepth` slots behind the tip, finalized =
// `finalizeDepth` slots behind. Blocks are persisted so a restart continues the same chain.
import { createHash, randomBytes } from 'node:crypto';
import { fromBase58, toBase58 } from './wire';
import type { LedgerStore } from './store';

export type Commitment = 'processed' | 'confirmed' | 'finalized';
export const MAX_PROCESSING_AGE = 150;
/** Blocks kept in memory (blockhash lookups, block times) and on disk. */
const KEEP_BLOCKS = 1000;

export interface ClockOptions {
  slotMs: number;
  confirmDepth: number;
  finalizeDepth: number;
}

interface Block {
  slot: number;
  blockhash: string;
  timeMs: number;
}

export class SlotClock {
  private current!: Block;
  private readonly bySlot = new Map<number, Block>();
  private readonly byHash = new Map<string, Block>();
  private timer: NodeJS.Timeout | undefined;
  private readonly listeners: ((slot: number) => void)[] = [];
  private waiters: (() => void)[] = [];
  readonly genesisHash: string;

  constructor(
    private readonly store: LedgerStore,
    readonly opts: ClockOptions,
  ) {
    let genesis = store.getSetting('genesisHash');
    if (!genesis) {
      genesis = toBase58(createHash('sha256').update(randomBytes(32)).digest());
      store.setSetting('genesisHash', genesis);
    }
    this.genesisHash = genesis;
    const recent = store.recentBlocks(KEEP_BLOCKS).reverse();
    for (const b of recent) this.remember(b);
    const last = recent.at(-1);
    if (last) {
      // Continue the chain after a restart: the next slot follows the last persisted one.
      this.current = last;
      this.advance();
    } else {
      // Genesis is block 0 (rooted, empty); transactions land from slot 1 on.
      this.current = { slot: 0, blockhash: genesis, timeMs: Date.now() };
      this.remember(this.current);
      store.putBlock(0, genesis, this.current.timeMs);
      this.advance();
    }
  }

  get slot(): number {
    return this.current.slot;
  }

  onSlot(fn: (slot: number) => void): void {
    this.listeners.push(fn);
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.tick(), this.opts.slotMs);
    this.timer.unref?.();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  /** Advances one slot (the timer calls this; tests may too). */
  tick(): void {
    // The finished block goes to disk before anyone hears it is confirmed.
    this.store.flush();
    this.advance();
    for (const fn of this.listeners) fn(this.current.slot);
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  /** Resolves at the next slot. */
  nextSlot(): Promise<void> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  private advance(): void {
    const slot = this.current.slot + 1;
    const hash = createHash('sha256').update(fromBase58(this.current.blockhash)).update(String(slot)).digest();
    const block = { slot, blockhash: toBase58(hash), timeMs: Date.now() };
    this.current = block;
    this.remember(block);
    this.store.putBlock(slot, block.blockhash, block.timeMs);
    const old = this.bySlot.get(slot - KEEP_BLOCKS);
    if (old) {
      this.bySlot.delete(old.slot);
      this.byHash.delete(old.blockhash);
    }
    if (slot % 256 === 0) this.store.pruneBlocksBefore(slot - KEEP_BLOCKS);
  }

  private remember(b: Block): void {
    this.bySlot.set(b.slot, b);
    this.byHash.set(b.blockhash, b);
  }

  commitmentSlot(c: Commitment): number {
    if (c === 'processed') return this.slot;
    const depth = c === 'confirmed' ? this.opts.confirmDepth : this.opts.finalizeDepth;
    return Math.max(0, this.slot - depth);
  }

  /** Unix seconds at the start of `slot` (estimated from the nearest known block if pruned). */
  blockTime(slot: number): number {
    const b = this.bySlot.get(slot);
    if (b) return Math.floor(b.timeMs / 1000);
    return Math.floor((this.current.timeMs - (this.current.slot - slot) * this.opts.slotMs) / 1000);
  }

  latestBlockhash(c: Commitment): { slot: number; blockhash: string; lastValidBlockHeight: number } {
    const slot = this.commitmentSlot(c);
    const b = this.bySlot.get(slot) ?? this.current;
    return { slot: b.slot, blockhash: b.blockhash, lastValidBlockHeight: b.slot + MAX_PROCESSING_AGE };
  }

  /** Whether a transaction naming `blockhash` may be processed in the current slot. */
  isBlockhashValidForProcessing(blockhash: string): boolean {
    const b = this.byHash.get(blockhash);
    return b !== undefined && this.slot - b.slot <= MAX_PROCESSING_AGE;
  }

  isBlockhashValid(blockhash: string, c: Commitment): boolean {
    const b = this.byHash.get(blockhash);
    const at = this.commitmentSlot(c);
    return b !== undefined && b.slot <= at && at - b.slot <= MAX_PROCESSING_AGE;
  }

  confirmationStatus(slot: number): Commitment {
    if (slot <= this.commitmentSlot('finalized')) return 'finalized';
    if (slot <= this.commitmentSlot('confirmed')) return 'confirmed';
    return 'processed';
  }
}
