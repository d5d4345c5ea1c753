// Runs in: Node. RPC methods reading accounts. State is LiteSVM's current (processed) state at
// every commitment; the context slot follows the commitment asked for.
import { INVALID_REQUEST, invalidParams, RpcError } from './rpc-errors';
import { withContext, type MethodTable } from './methods-common';
import { address, checkMinContextSlot, commitment, config, optString, required, type Config } from './params';
import { toBase58 } from './wire';
import type { StoredAccount } from './store';

const ENCODINGS = ['binary', 'base58', 'base64', 'base64+zstd', 'jsonParsed'] as const;
type AccountEncoding = (typeof ENCODINGS)[number];

function dataSlice(cfg: Config): { offset: number; length: number } | undefined {
  const ds = cfg.dataSlice;
  if (ds === undefined || ds === null) return undefined;
  const o = ds as { offset?: unknown; length?: unknown };
  if (
    typeof ds !== 'object' ||
    typeof o.offset !== 'number' ||
    typeof o.length !== 'number' ||
    o.offset < 0 ||
    o.length < 0
  ) {
    throw invalidParams('invalid `dataSlice`: expected {offset, length}');
  }
  return { offset: o.offset, length: o.length };
}

export function accountEncoding(cfg: Config, fallback: AccountEncoding = 'binary'): AccountEncoding {
  const enc = optString(cfg, 'encoding', ENCODINGS) ?? fallback;
  if (enc === 'base64+zstd') throw invalidParams('the local ledger does not serve `base64+zstd`; use `base64`');
  return enc;
}

/** Agave's UiAccount. */
export function encodeAccount(
  acc: StoredAccount,
  encoding: AccountEncoding,
  slice?: { offset: number; length: number },
): Record<string, unknown> {
  const data = slice ? acc.data.subarray(slice.offset, slice.offset + slice.length) : acc.data;
  let encoded: unknown;
  if (encoding === 'binary' || encoding === 'base58') {
    if (data.length > 128) {
      throw new RpcError(
        INVALID_REQUEST,
        'Encoded binary (base 58) data should be less than 128 bytes, please use Base64 encoding.',
      );
    }
    encoded = encoding === 'binary' ? toBase58(data) : [toBase58(data), 'base58'];
  } else {
    encoded = [Buffer.from(data).toString('base64'), 'base64'];
  }
  return {
    data: encoded,
    executable: acc.executable,
    lamports: acc.lamports,
    owner: acc.owner,
    rentEpoch: acc.rentEpoch,
    space: acc.data.length,
  };
}

export const accountMethods: MethodTable = {
  getBalance: (p, ctx) => {
    const addr = required(p, 0, address, 'pubkey');
    const cfg = config(p[1]);
    const slot = checkMinContextSlot(cfg, ctx.clock, commitment(cfg));
    return withContext(slot, ctx.bank.getAccount(addr)?.lamports ?? 0n);
  },
  getAccountInfo: (p, ctx) => {
    const addr = required(p, 0, address, 'pubkey');
    const cfg = config(p[1]);
    const slot = checkMinContextSlot(cfg, ctx.clock, commitment(cfg));
    const enc = accountEncoding(cfg);
    const acc = ctx.bank.getAccount(addr);
    return withContext(slot, acc ? encodeAccount(acc, enc, dataSlice(cfg)) : null);
  },
  getMultipleAccounts: (p, ctx) => {
    const list = p[0];
    if (!Array.isArray(list)) throw invalidParams('missing parameter `pubkeys`');
    if (list.length > 100) throw invalidParams('Too many inputs provided; max 100');
    const addrs = list.map(address);
    const cfg = config(p[1]);
    const slot = checkMinContextSlot(cfg, ctx.clock, commitment(cfg));
    const enc = accountEncoding(cfg, 'base64');
    const slice = dataSlice(cfg);
    return withContext(
      slot,
      addrs.map((a) => {
        const acc = ctx.bank.getAccount(a);
        return acc ? encodeAccount(acc, enc, slice) : null;
      }),
    );
  },
};
