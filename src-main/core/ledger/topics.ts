// Runs in: Node. Topics are addresses (DESIGN §3). A message to a topic is a transaction whose
// Memo v1 instruction lists the topic as a read-only, non-signer account, so that
// getSignaturesForAddress(topic) and logsSubscribe({mentions: [topic]}) find it. Nobody owns or
// funds a topic account: it is only an index key.
import { address, createAddressWithSeed, type Address } from '@solana/kit';

/** The Memo v1 program (accepts extra non-signer accounts; Memo v2 refuses them). */
export const MEMO_V1_PROGRAM = address('Memo1UhkJRfHyvLMcVucJwxXeuD728EqVDDwQDxFMNo');
export const SYSTEM_PROGRAM = address('11111111111111111111111111111111');

/**
 * Fixed base of the market topics: the 32 bytes sha256("axon:market-base:v1") as an address
 * (off-curve in all likelihood; it never signs, it only namespaces the seed derivation).
 */
export const MARKET_BASE = address('9AhnrBWxtLFKREGaVypo45577Xb5mjkgZnPBAXXSr4ew');
export const STDIN_SEED = 'axon:stdin';
export const MARKET_SEED_PREFIX = 'axon:market:';
/** createAddressWithSeed takes at most 32 seed bytes: 12 for the prefix leaves 20 for the id. */
export const MAX_MARKET_ID_BYTES = 32 - MARKET_SEED_PREFIX.length;

export class TopicError extends Error {
  override name = 'TopicError';
}

/** stdin(peer) = createAddressWithSeed(peer, "axon:stdin", Memo v1). */
export function stdinTopic(peer: Address): Promise<Address> {
  return createAddressWithSeed({ baseAddress: peer, seed: STDIN_SEED, programAddress: MEMO_V1_PROGRAM });
}

/** market(id) = createAddressWithSeed(MARKET_BASE, "axon:market:" + id, Memo v1). */
export async function marketTopic(marketId: string): Promise<Address> {
  const bytes = Buffer.byteLength(marketId, 'utf8');
  if (bytes === 0 || bytes > MAX_MARKET_ID_BYTES) {
    throw new TopicError(`a market id has 1 to ${MAX_MARKET_ID_BYTES} UTF-8 bytes, "${marketId}" has ${bytes}`);
  }
  return createAddressWithSeed({
    baseAddress: MARKET_BASE,
    seed: MARKET_SEED_PREFIX + marketId,
    programAddress: MEMO_V1_PROGRAM,
  });
}
