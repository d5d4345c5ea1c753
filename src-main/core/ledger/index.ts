// Runs in: Node. The ledger layer's public surface: the contract (types.ts), the message catalog
// and envelope, topics, address-privacy crypto, the Solana client and the payment check.
// The embedded local ledger server lives in ./local (import it from there: it loads LiteSVM).
export type * from './types';
export {
  TYPE_CODES,
  MESSAGE_TYPES,
  ENUMS,
  NONCE_BYTES,
  MessageInvalidError,
  messageProblems,
  newNonce,
  expiresIn,
  nonceKey,
} from './messages';
export {
  ENVELOPE_PREFIX,
  PROTOCOL_VERSION,
  MAX_PAYLOAD_BYTES,
  MAX_ENVELOPE_CHARS,
  MessageTooLargeError,
  encodeEnvelope,
  decodeEnvelope,
  encodePayload,
  decodePayload,
  GarbageStats,
  type GarbageKind,
  type DecodeResult,
} from './envelope';
export {
  MEMO_V1_PROGRAM,
  SYSTEM_PROGRAM,
  MARKET_BASE,
  MAX_MARKET_ID_BYTES,
  TopicError,
  stdinTopic,
  marketTopic,
} from './topics';
export { seal, open, sealJson, openJson, SealError, SEAL_OVERHEAD, type SealContext, type OpenContext } from './crypto';
export {
  createLedgerClient,
  SolanaLedgerClient,
  LedgerPostError,
  type LedgerClientOptions,
  type PostFailure,
} from './client';
export { resolveCluster, wsUrlFor, LOCAL_LEDGER_PORT, type ClusterEndpoints, type ClusterName } from './cluster';
export { verifyPayment } from './payments';
