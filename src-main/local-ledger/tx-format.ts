// Runs in: Node. Formats stored transactions as Agave's RPC does: getTransaction in json,
// jsonParsed (System and Memo parsed, others partially decoded) and base64/base58, and the `memo`
// field of getSignaturesForAddress ("[len] text", several joined by "; ").
import { fromBase58, isSigner, isWritable, toBase58, type CompiledIx, type DecodedTransaction } from './wire';
import type { TxMeta, TxRow } from './store';

export const MEMO_PROGRAMS = new Set([
  'Memo1UhkJRfHyvLMcVucJwxXeuD728EqVDDwQDxFMNo', // Memo v1
  'MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr', // Memo v2
]);
const SYSTEM_PROGRAM = '11111111111111111111111111111111';

const utf8 = new TextDecoder('utf-8', { fatal: true });
function memoText(data: Uint8Array): string | null {
  try {
    return utf8.decode(data);
  } catch {
    return null;
  }
}

export function extractMemos(tx: DecodedTransaction): string | null {
  const out: string[] = [];
  for (const ix of tx.instructions) {
    if (!MEMO_PROGRAMS.has(tx.accountKeys[ix.programIdIndex]!)) continue;
    out.push(`[${ix.data.length}] ${memoText(ix.data) ?? '(unparseable)'}`);
  }
  return out.length ? out.join('; ') : null;
}

const u64 = (d: Uint8Array, o: number): bigint => Buffer.from(d.buffer, d.byteOffset, d.byteLength).readBigUInt64LE(o);
const u32 = (d: Uint8Array, o: number): number => Buffer.from(d.buffer, d.byteOffset, d.byteLength).readUInt32LE(o);

/** System program instructions by tag, with their `info` (the common ones; others stay raw). */
function parseSystem(data: Uint8Array, keys: string[]): { type: string; info: Record<string, unknown> } | null {
  if (data.length < 4) return null;
  const tag = u32(data, 0);
  const k = (i: number): string | undefined => keys[i];
  try {
    switch (tag) {
      case 0:
        return {
          type: 'createAccount',
          info: {
            source: k(0),
            newAccount: k(1),
            lamports: u64(data, 4),
            space: u64(data, 12),
            owner: toBase58(data.subarray(20, 52)),
          },
        };
      case 1:
        return { type: 'assign', info: { account: k(0), owner: toBase58(data.subarray(4, 36)) } };
      case 2:
        if (data.length !== 12) return null;
        return { type: 'transfer', info: { source: k(0), destination: k(1), lamports: u64(data, 4) } };
      case 8:
        return { type: 'allocate', info: { account: k(0), space: u64(data, 4) } };
      default:
        return null;
    }
  } catch {
    return null;
  }
}

function parsedInstruction(
  ix: { programIdIndex: number; accounts: number[]; data: Uint8Array },
  keys: string[],
  stackHeight: number | null,
): unknown {
  const programId = keys[ix.programIdIndex]!;
  const accs = ix.accounts.map((i) => keys[i]!);
  if (programId === SYSTEM_PROGRAM) {
    const parsed = parseSystem(ix.data, accs);
    if (parsed) return { parsed, program: 'system', programId, stackHeight };
  } else if (MEMO_PROGRAMS.has(programId)) {
    const text = memoText(ix.data);
    if (text !== null) return { parsed: text, program: 'spl-memo', programId, stackHeight };
  }
  return { accounts: accs, data: toBase58(ix.data), programId, stackHeight };
}

const rawIx = (ix: CompiledIx) => ({
  programIdIndex: ix.programIdIndex,
  accounts: ix.accounts,
  data: toBase58(ix.data),
  stackHeight: null,
});

export type TxEncoding = 'json' | 'jsonParsed' | 'base64' | 'base58';

function uiMeta(meta: TxMeta, err: TxRow['err'], encoding: TxEncoding, keys: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {
    err,
    status: err === null ? { Ok: null } : { Err: err },
    fee: meta.fee,
    preBalances: meta.preBalances,
    postBalances: meta.postBalances,
    innerInstructions:
      encoding === 'jsonParsed'
        ? meta.innerInstructions.map((ii) => ({
            index: ii.index,
            instructions: ii.instructions.map((x) =>
              parsedInstruction(
                { programIdIndex: x.programIdIndex, accounts: x.accounts, data: fromBase58(x.data) },
                keys,
                x.stackHeight,
              ),
            ),
          }))
        : meta.innerInstructions,
    logMessages: meta.logMessages,
    preTokenBalances: [],
    postTokenBalances: [],
    rewards: [],
    computeUnitsConsumed: meta.computeUnitsConsumed,
  };
  if (encoding !== 'jsonParsed') out.loadedAddresses = { writable: [], readonly: [] };
  if (meta.returnData)
    out.returnData = { programId: meta.returnData.programId, data: [meta.returnData.data, 'base64'] };
  return out;
}

/** Agave's EncodedConfirmedTransactionWithStatusMeta for one stored transaction. */
export function formatTransaction(
  row: TxRow,
  tx: DecodedTransaction,
  encoding: TxEncoding,
  withVersion: boolean,
): Record<string, unknown> {
  let transaction: unknown;
  if (encoding === 'base64') transaction = [Buffer.from(row.wire).toString('base64'), 'base64'];
  else if (encoding === 'base58') transaction = [toBase58(row.wire), 'base58'];
  else if (encoding === 'json') {
    const message: Record<string, unknown> = {
      accountKeys: tx.accountKeys,
      header: tx.header,
      instructions: tx.instructions.map(rawIx),
      recentBlockhash: tx.recentBlockhash,
    };
    if (tx.version === 0) message.addressTableLookups = tx.addressTableLookups;
    transaction = { message, signatures: tx.signatures };
  } else {
    const message: Record<string, unknown> = {
      accountKeys: tx.accountKeys.map((pubkey, i) => ({
        pubkey,
        signer: isSigner(tx, i),
        source: 'transaction',
        writable: isWritable(tx, i),
      })),
      instructions: tx.instructions.map((ix) => parsedInstruction(ix, tx.accountKeys, null)),
      recentBlockhash: tx.recentBlockhash,
    };
    if (tx.version === 0) message.addressTableLookups = tx.addressTableLookups;
    transaction = { message, signatures: tx.signatures };
  }
  const out: Record<string, unknown> = {
    blockTime: row.blockTime,
    meta: uiMeta(row.meta, row.err, encoding, tx.accountKeys),
    slot: row.slot,
    transaction,
  };
  if (withVersion) out.version = tx.version;
  return out;
}
