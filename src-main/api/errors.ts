// Runs in: Node. Turns anything thrown below the API into what the user sees: what happened
// (message) and what to do (hint). Code that knows better throws a UserFacingError.
import type { ApiErrorInfo } from '../../src-shared/contract/api';

/** An error whose message and hint are written for the person using the app. */
export class UserFacingError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly hint: string,
  ) {
    super(message);
    this.name = 'UserFacingError';
  }
}

interface Rule {
  test: RegExp;
  code: string;
  hint: string;
  /** A plainer sentence put before the original message. */
  say?: string;
}

// Known failure shapes from the layers below, matched on their message.
const RULES: Rule[] = [
  {
    test: /no record of a prior credit|AccountNotFound|insufficient (lamports|funds) for (fee|rent)/i,
    code: 'insufficient-balance',
    say: 'Your wallet has no SOL to pay the ledger fee.',
    hint: 'Airdrop SOL in Wallet (local ledger and devnet) or send SOL to your address, then try again.',
  },
  {
    test: /insufficient (funds|balance)|not enough (sol|lamports|balance)/i,
    code: 'insufficient-balance',
    hint: 'Add SOL to your wallet (Wallet → Airdrop on local/devnet), or buy fewer minutes.',
  },
  {
    test: /ECONNREFUSED|fetch failed|rpc.*(unreachable|failed)|HTTP error/i,
    code: 'ledger-unreachable',
    hint: 'The ledger cannot be reached. Check the cluster in Settings (and that `axon ledger` runs for the local one).',
  },
  {
    test: /reject/i,
    code: 'rejected',
    hint: 'The seller refused the request. Pick another listing or try again later.',
  },
  {
    test: /timed? ?out|timeout|expired/i,
    code: 'timeout',
    hint: 'The other side did not answer in time. It may be offline; try again or pick another seller.',
  },
  {
    test: /unknown (listing|stream|purchase)|not found/i,
    code: 'not-found',
    hint: 'It may have expired or been removed. Refresh the list.',
  },
];

// Hints for the market layer's coded errors (MarketError.code).
const CODE_HINTS: Record<string, string> = {
  'unknown-listing': 'The listing expired or was withdrawn. Refresh Browse and pick a current one.',
  'insufficient-balance': 'Add SOL to your wallet (Wallet → Airdrop on local/devnet), or buy fewer minutes.',
  'bad-input': 'Correct the value and try again.',
  'own-listing': 'This is your own stream: it is already yours to see under Sell.',
  'no-relay': 'No relay rebroadcasts this stream yet: buy the direct tier instead.',
  'unknown-purchase': 'This purchase is no longer known to the node. Refresh Purchases.',
  'unknown-stream': 'This stream is no longer listed. Refresh Sell.',
  'cap-too-low': 'Raise the cap or the minutes: the cap must cover at least one period.',
  loop: 'A rebroadcast cannot buy from a chain it is already part of: pick another listing of this stream.',
  'too-deep': 'This rebroadcast is already as deep as the mesh allows: rebroadcast one nearer the origin.',
  'not-allowed': 'The seller does not allow rebroadcasting this stream.',
  'seller-unreachable':
    'The seller stopped refreshing this listing and does not answer: it has probably gone. Nothing was paid; pick another listing.',
};

export function toErrorInfo(e: unknown): ApiErrorInfo {
  if (e instanceof UserFacingError) return { code: e.code, message: e.message, hint: e.hint };
  const code = (e as { code?: unknown } | null)?.code;
  if (e instanceof Error && typeof code === 'string' && CODE_HINTS[code]) {
    return { code, message: e.message, hint: CODE_HINTS[code] };
  }
  const message = e instanceof Error ? e.message : String(e);
  for (const r of RULES) {
    if (r.test.test(message)) return { code: r.code, message: r.say ? `${r.say} (${message})` : message, hint: r.hint };
  }
  return {
    code: 'internal',
    message,
    hint: 'Try again. If it keeps happening, restart Axon and look at axon.log in the data directory.',
  };
}
