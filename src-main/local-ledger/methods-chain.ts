// Runs in: Node. RPC methods about the chain itself: version, health, slots, epochs, blockhashes,
// fees, rent.
import { invalidParams } from './rpc-errors';
import { API_VERSION, FEATURE_SET, withContext, type MethodTable } from './methods-common';
import { address, blockhash, checkMinContextSlot, commitment, config, required } from './params';
import { decodeMessage, WireError } from './wire';

export const SLOTS_PER_EPOCH = 432_000;

export const chainMethods: MethodTable = {
  getVersion: () => ({ 'solana-core': API_VERSION, 'feature-set': FEATURE_SET }),
  getHealth: () => 'ok',
  getGenesisHash: (_p, ctx) => ctx.clock.genesisHash,
  getIdentity: (_p, ctx) => ({ identity: ctx.identity }),
  getSlotLeader: (_p, ctx) => ctx.identity,
  getFirstAvailableBlock: () => 0,
  minimumLedgerSlot: () => 0,
  getRecentPrioritizationFees: (p, ctx) => {
    const list = p[0] ?? [];
    if (!Array.isArray(list)) throw invalidParams('invalid type: expected a sequence of account addresses');
    if (list.length > 128) throw invalidParams('Too many inputs provided; max 128');
    return ctx.bank.recentFees.recent(ctx.clock.slot, list.map(address));
  },
  getEpochSchedule: () => ({
    firstNormalEpoch: 0,
    firstNormalSlot: 0,
    leaderScheduleSlotOffset: SLOTS_PER_EPOCH,
    slotsPerEpoch: SLOTS_PER_EPOCH,
    warmup: false,
  }),

  getSlot: (p, ctx) => {
    const cfg = config(p[0]);
    return checkMinContextSlot(cfg, ctx.clock, commitment(cfg));
  },
  getBlockHeight: (p, ctx) => {
    const cfg = config(p[0]);
    return checkMinContextSlot(cfg, ctx.clock, commitment(cfg));
  },
  getTransactionCount: (p, ctx) => {
    config(p[0]);
    return ctx.store.transactionCount();
  },
  getEpochInfo: (p, ctx) => {
    const cfg = config(p[0]);
    const slot = checkMinContextSlot(cfg, ctx.clock, commitment(cfg));
    return {
      absoluteSlot: slot,
      blockHeight: slot,
      epoch: Math.floor(slot / SLOTS_PER_EPOCH),
      slotIndex: slot % SLOTS_PER_EPOCH,
      slotsInEpoch: SLOTS_PER_EPOCH,
      transactionCount: ctx.store.transactionCount(),
    };
  },
  getBlockTime: (p, ctx) => {
    const slot = p[0];
    if (typeof slot !== 'number' || !Number.isInteger(slot) || slot < 0) throw invalidParams('invalid slot');
    if (slot > ctx.clock.commitmentSlot('confirmed')) return null;
    return ctx.clock.blockTime(slot);
  },
  getLatestBlockhash: (p, ctx) => {
    const cfg = config(p[0]);
    const c = commitment(cfg);
    checkMinContextSlot(cfg, ctx.clock, c);
    const b = ctx.clock.latestBlockhash(c);
    return withContext(b.slot, { blockhash: b.blockhash, lastValidBlockHeight: b.lastValidBlockHeight });
  },
  isBlockhashValid: (p, ctx) => {
    const hash = required(p, 0, blockhash, 'blockhash');
    const cfg = config(p[1]);
    const c = commitment(cfg);
    const slot = checkMinContextSlot(cfg, ctx.clock, c);
    return withContext(slot, ctx.clock.isBlockhashValid(hash, c));
  },
  getFeeForMessage: (p, ctx) => {
    const text = p[0];
    if (typeof text !== 'string') throw invalidParams('missing parameter `message`');
    const cfg = config(p[1]);
    const c = commitment(cfg);
    const slot = checkMinContextSlot(cfg, ctx.clock, c);
    let msg;
    try {
      msg = decodeMessage(new Uint8Array(Buffer.from(text, 'base64')));
    } catch (e) {
      throw invalidParams(`invalid message: ${e instanceof WireError ? e.message : 'undecodable'}`);
    }
    const valid =
      ctx.clock.isBlockhashValid(msg.recentBlockhash, c) ||
      ctx.clock.isBlockhashValidForProcessing(msg.recentBlockhash);
    return withContext(slot, valid ? ctx.bank.feeFor(msg) : null);
  },
  getMinimumBalanceForRentExemption: (p, ctx) => {
    const len = p[0] ?? 0;
    if (typeof len !== 'number' || !Number.isInteger(len) || len < 0 || len > 10 * 1024 * 1024)
      throw invalidParams('invalid data length');
    config(p[1]);
    return ctx.bank.minimumBalanceForRentExemption(len);
  },
};
