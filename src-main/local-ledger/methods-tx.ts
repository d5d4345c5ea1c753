// Runs in: Node. RPC methods about transactions: send, simulate, airdrop, statuses, history.
import {
  INTERNAL_ERROR,
  invalidParams,
  RpcError,
  SEND_TRANSACTION_PREFLIGHT_FAILURE,
  TRANSACTION_SIGNATURE_VERIFICATION_FAILURE,
  UNSUPPORTED_TRANSACTION_VERSION,
} from './rpc-errors';
import { withContext, type MethodTable, type RpcContext } from './methods-common';
import {
  address,
  checkMinContextSlot,
  commitment,
  config,
  confirmedCommitment,
  optBool,
  optInt,
  optString,
  required,
  signature,
  type Config,
} from './params';
import { decodeTransaction, fromBase58, PACKET_DATA_SIZE, WireError, type DecodedTransaction } from './wire';
import { formatTransaction, type TxEncoding } from './tx-format';
import { accountEncoding, encodeAccount } from './methods-accounts';
import type { TxFailure } from './tx-errors';

/** Transactions kept in the status cache (getSignatureStatuses without searchTransactionHistory). */
const STATUS_CACHE_SLOTS = 300;
/** Largest airdrop per request: 1000 SOL. */
export const MAX_AIRDROP_LAMPORTS = 1000n * 1_000_000_000n;
const MAX_BASE58_LEN = 1683;
const MAX_BASE64_LEN = 1644;
const BASE64_RE = /^[A-Za-z0-9+/]*={0,2}$/;
const TX_TYPE = 'solana_transaction::versioned::VersionedTransaction';

function decodeWireText(p: unknown[], cfg: Config): { bytes: Uint8Array; tx: DecodedTransaction } {
  const text = p[0];
  if (typeof text !== 'string') throw invalidParams('missing parameter `transaction`');
  const enc = optString(cfg, 'encoding', ['base58', 'base64'] as const) ?? 'base58';
  const max = enc === 'base58' ? MAX_BASE58_LEN : MAX_BASE64_LEN;
  if (text.length > max) {
    throw new RpcError(
      -32602,
      `${enc} encoded ${TX_TYPE} too large: ${text.length} bytes (max: encoded/raw ${max}/${PACKET_DATA_SIZE})`,
    );
  }
  let bytes: Uint8Array;
  if (enc === 'base64') {
    if (text.length % 4 !== 0 || !BASE64_RE.test(text))
      throw new RpcError(-32602, 'invalid base64 encoding: InvalidByte');
    bytes = new Uint8Array(Buffer.from(text, 'base64'));
  } else {
    try {
      bytes = fromBase58(text);
    } catch {
      throw new RpcError(-32602, 'invalid base58 encoding: InvalidCharacter');
    }
  }
  if (bytes.length > PACKET_DATA_SIZE) {
    throw new RpcError(-32602, `decoded ${TX_TYPE} too large: ${bytes.length} bytes (max: ${PACKET_DATA_SIZE} bytes)`);
  }
  try {
    return { bytes, tx: decodeTransaction(bytes) };
  } catch (e) {
    const msg = e instanceof WireError ? e.message : 'io error';
    throw new RpcError(-32602, `failed to deserialize ${TX_TYPE}: ${msg}`);
  }
}

function preflightFailure(failure: TxFailure, logs: string[], unitsConsumed: bigint): RpcError {
  return new RpcError(SEND_TRANSACTION_PREFLIGHT_FAILURE, `Transaction simulation failed: ${failure.message}`, {
    accounts: null,
    err: failure.err,
    innerInstructions: null,
    loadedAccountsDataSize: 0,
    logs,
    replacementBlockhash: null,
    returnData: null,
    unitsConsumed,
  });
}

const sigVerifyFailure = (): RpcError =>
  new RpcError(TRANSACTION_SIGNATURE_VERIFICATION_FAILURE, 'Transaction signature verification failure');

async function airdrop(ctx: RpcContext, to: string, lamports: bigint): Promise<string> {
  for (let attempt = 0; ; attempt++) {
    const bh = ctx.clock.latestBlockhash('processed');
    const bytes = await ctx.faucet.transferBytes(to, lamports, bh.blockhash, bh.lastValidBlockHeight);
    const tx = decodeTransaction(bytes);
    const out = ctx.bank.process(bytes, tx, false);
    if (out.kind === 'landed') return out.tx.signature;
    // The same airdrop twice in one slot is the same transaction: retry in the next slot.
    if (out.failure.err === 'AlreadyProcessed' && attempt < 3) {
      await ctx.clock.nextSlot();
      continue;
    }
    ctx.log.warn({ to, lamports: lamports.toString(), err: out.failure.err }, 'local ledger: airdrop failed');
    throw new RpcError(INTERNAL_ERROR, `airdrop failed: ${out.failure.message}`);
  }
}

export const txMethods: MethodTable = {
  sendTransaction: (p, ctx) => {
    const cfg = config(p[1]);
    const { bytes, tx } = decodeWireText(p, cfg);
    const skipPreflight = optBool(cfg, 'skipPreflight') ?? false;
    commitment({ commitment: cfg.preflightCommitment });
    optInt(cfg, 'maxRetries');
    const out = ctx.bank.process(bytes, tx, skipPreflight);
    if (out.kind === 'landed' || skipPreflight) return tx.signature;
    if (out.signatureFailure) throw sigVerifyFailure();
    throw preflightFailure(out.failure, out.logs, out.unitsConsumed);
  },

  simulateTransaction: (p, ctx) => {
    const cfg = config(p[1]);
    const { bytes, tx } = decodeWireText(p, cfg);
    const sigVerify = optBool(cfg, 'sigVerify') ?? false;
    const replace = optBool(cfg, 'replaceRecentBlockhash') ?? false;
    if (sigVerify && replace) throw invalidParams('sigVerify may not be used with replaceRecentBlockhash');
    const c = commitment(cfg);
    const slot = checkMinContextSlot(cfg, ctx.clock, c);
    const accCfg = config(cfg.accounts);
    const accAddrs =
      accCfg.addresses === undefined ? [] : Array.isArray(accCfg.addresses) ? accCfg.addresses.map(address) : [];
    const enc = accountEncoding(accCfg, 'base64');
    const res = ctx.bank.simulate(bytes, tx, { sigVerify, checkBlockhash: !replace, accounts: accAddrs });
    if (sigVerify && res.err === 'SignatureFailure') throw sigVerifyFailure();
    const bh = ctx.clock.latestBlockhash(c);
    return withContext(slot, {
      accounts:
        cfg.accounts === undefined
          ? null
          : accAddrs.map((a) => {
              const acc = res.postAccounts.get(a);
              return acc && acc.lamports > 0n ? encodeAccount(acc, enc) : null;
            }),
      err: res.err,
      fee: res.err === null ? res.fee : null,
      innerInstructions: null,
      loadedAccountsDataSize: 0,
      logs: res.logs,
      replacementBlockhash: replace ? { blockhash: bh.blockhash, lastValidBlockHeight: bh.lastValidBlockHeight } : null,
      returnData: res.returnData,
      unitsConsumed: res.unitsConsumed,
    });
  },

  requestAirdrop: async (p, ctx) => {
    const to = required(p, 0, address, 'pubkey');
    const amount = p[1];
    if (typeof amount !== 'number' || !Number.isInteger(amount) || amount <= 0)
      throw invalidParams('invalid lamports amount');
    const lamports = BigInt(amount);
    if (lamports > MAX_AIRDROP_LAMPORTS)
      throw invalidParams(`airdrop request exceeds the local faucet's limit of ${MAX_AIRDROP_LAMPORTS} lamports`);
    commitment(config(p[2]));
    return airdrop(ctx, to, lamports);
  },

  getSignatureStatuses: (p, ctx) => {
    const list = p[0];
    if (!Array.isArray(list)) throw invalidParams('missing parameter `signatures`');
    if (list.length > 256) throw invalidParams('Too many inputs provided; max 256');
    const sigs = list.map(signature);
    const cfg = config(p[1]);
    const search = optBool(cfg, 'searchTransactionHistory') ?? false;
    const current = ctx.clock.slot;
    return withContext(
      current,
      sigs.map((s) => {
        const st = ctx.store.status(s);
        if (!st || (!search && current - st.slot > STATUS_CACHE_SLOTS)) return null;
        const confirmationStatus = ctx.clock.confirmationStatus(st.slot);
        return {
          confirmationStatus,
          confirmations: confirmationStatus === 'finalized' ? null : current - st.slot,
          err: st.err,
          slot: st.slot,
          status: st.err === null ? { Ok: null } : { Err: st.err },
        };
      }),
    );
  },

  getTransaction: (p, ctx) => {
    const sig = required(p, 0, signature, 'signature');
    const cfg: Config = typeof p[1] === 'string' ? { encoding: p[1] } : config(p[1]);
    const c = confirmedCommitment(cfg);
    const encoding = optString<TxEncoding>(cfg, 'encoding', ['json', 'jsonParsed', 'base64', 'base58']) ?? 'json';
    const maxVersion = optInt(cfg, 'maxSupportedTransactionVersion', 0, 255);
    const row = ctx.store.getTransaction(sig);
    if (!row || row.slot > ctx.clock.commitmentSlot(c)) return null;
    const tx = decodeTransaction(row.wire);
    if (tx.version === 0 && maxVersion === undefined) {
      throw new RpcError(
        UNSUPPORTED_TRANSACTION_VERSION,
        'Transaction version (0) is not supported by the requesting client. Please try the request again with the following configuration parameter: "maxSupportedTransactionVersion": 0',
      );
    }
    return formatTransaction(row, tx, encoding, maxVersion !== undefined);
  },

  getSignaturesForAddress: (p, ctx) => {
    const addr = required(p, 0, address, 'address');
    const cfg = config(p[1]);
    const c = confirmedCommitment(cfg);
    checkMinContextSlot(cfg, ctx.clock, c);
    const limitRaw = cfg.limit;
    if (
      limitRaw !== undefined &&
      limitRaw !== null &&
      (typeof limitRaw !== 'number' || !Number.isInteger(limitRaw) || limitRaw < 1 || limitRaw > 1000)
    ) {
      throw invalidParams('Invalid limit; max 1000');
    }
    const limit = (limitRaw as number | undefined | null) ?? 1000;
    let beforeSeq = Number.MAX_SAFE_INTEGER;
    if (cfg.before !== undefined && cfg.before !== null) {
      const seq = ctx.store.seqOf(signature(cfg.before));
      if (seq === undefined) return [];
      beforeSeq = seq;
    }
    let untilSeq = 0;
    if (cfg.until !== undefined && cfg.until !== null) untilSeq = ctx.store.seqOf(signature(cfg.until)) ?? 0;
    const rows = ctx.store.signaturesForAddress(addr, beforeSeq, untilSeq, ctx.clock.commitmentSlot(c), limit);
    return rows.map((r) => ({
      blockTime: r.blockTime,
      confirmationStatus: ctx.clock.confirmationStatus(r.slot),
      err: r.err,
      memo: r.memo,
      signature: r.signature,
      slot: r.slot,
    }));
  },
};
