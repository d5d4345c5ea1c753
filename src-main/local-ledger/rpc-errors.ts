// Runs in: Node. JSON-RPC 2.0 error shapes and codes as the Agave validator returns them, and a
// bigint-safe JSON serializer (lamports and rentEpoch may exceed 2^53; they go out as raw numbers).
import { randomBytes } from 'node:crypto';

export const PARSE_ERROR = -32700;
export const INVALID_REQUEST = -32600;
export const METHOD_NOT_FOUND = -32601;
export const INVALID_PARAMS = -32602;
export const INTERNAL_ERROR = -32603;
// Agave's server errors (rpc-client-api custom_error.rs).
export const BLOCK_CLEANED_UP = -32001;
export const SEND_TRANSACTION_PREFLIGHT_FAILURE = -32002;
export const TRANSACTION_SIGNATURE_VERIFICATION_FAILURE = -32003;
export const TRANSACTION_HISTORY_NOT_AVAILABLE = -32011;
export const UNSUPPORTED_TRANSACTION_VERSION = -32015;
export const MIN_CONTEXT_SLOT_NOT_REACHED = -32016;

export class RpcError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly data?: unknown,
  ) {
    super(message);
  }
}

export const invalidParams = (detail: string): RpcError => new RpcError(INVALID_PARAMS, `Invalid params: ${detail}`);
/** Agave's wording for an unparsable public key / signature / hash parameter. */
export const invalidParam = (detail: string): RpcError => new RpcError(INVALID_PARAMS, `Invalid param: ${detail}`);

export type JsonRpcId = string | number | null;

export interface JsonRpcResponse {
  jsonrpc: '2.0';
  id: JsonRpcId;
  result?: unknown;
  error?: { code: number; message: string; data?: unknown };
}

export function errorResponse(id: JsonRpcId, err: unknown): JsonRpcResponse {
  if (err instanceof RpcError) {
    const error: JsonRpcResponse['error'] = { code: err.code, message: err.message };
    if (err.data !== undefined) error.data = err.data;
    return { jsonrpc: '2.0', error, id };
  }
  // Never a stack trace on the wire.
  return { jsonrpc: '2.0', error: { code: INTERNAL_ERROR, message: 'Internal error' }, id };
}

const BIGINT_MARK = `__bigint_${randomBytes(6).toString('hex')}_`;
const BIGINT_RE = new RegExp(`"${BIGINT_MARK}(-?\\d+)"`, 'g');

/** JSON.stringify that writes bigints as plain JSON numbers (as Solana's u64 fields are). */
export function stringifyJson(value: unknown): string {
  let sawBigint = false;
  const text = JSON.stringify(value, (_k, v: unknown) => {
    if (typeof v === 'bigint') {
      sawBigint = true;
      return BIGINT_MARK + v.toString();
    }
    return v;
  });
  return sawBigint ? text.replace(BIGINT_RE, '$1') : text;
}
