// Runs in: Node. JSON-RPC 2.0 dispatch (single and batch requests) over the method tables.
// Every failure becomes a JSON-RPC error object; unexpected exceptions are logged, never sent.
import type { Logger } from 'pino';
import {
  errorResponse,
  INVALID_REQUEST,
  METHOD_NOT_FOUND,
  PARSE_ERROR,
  RpcError,
  stringifyJson,
  type JsonRpcId,
  type JsonRpcResponse,
} from './rpc-errors';
import { paramList } from './params';
import type { MethodTable, RpcContext } from './methods-common';

const MAX_BATCH = 100;

function isId(v: unknown): v is JsonRpcId {
  return v === null || typeof v === 'string' || (typeof v === 'number' && Number.isFinite(v));
}

export class RpcDispatcher {
  constructor(
    private readonly methods: MethodTable,
    private readonly ctx: RpcContext,
    private readonly log: Logger,
  ) {}

  /** Answers a request body; the result is the response body. */
  async handleBody(body: string): Promise<string> {
    let msg: unknown;
    try {
      msg = JSON.parse(body);
    } catch {
      return stringifyJson(errorResponse(null, new RpcError(PARSE_ERROR, 'Parse error')));
    }
    if (Array.isArray(msg)) {
      if (msg.length === 0 || msg.length > MAX_BATCH) {
        return stringifyJson(
          errorResponse(
            null,
            new RpcError(
              INVALID_REQUEST,
              msg.length === 0 ? 'Invalid request' : `Invalid request: batch larger than ${MAX_BATCH}`,
            ),
          ),
        );
      }
      const out: JsonRpcResponse[] = [];
      for (const item of msg) out.push(await this.handleOne(item));
      return stringifyJson(out);
    }
    return stringifyJson(await this.handleOne(msg));
  }

  async handleOne(req: unknown): Promise<JsonRpcResponse> {
    if (typeof req !== 'object' || req === null || Array.isArray(req)) {
      return errorResponse(null, new RpcError(INVALID_REQUEST, 'Invalid request'));
    }
    const r = req as { jsonrpc?: unknown; id?: unknown; method?: unknown; params?: unknown };
    const id = isId(r.id) ? r.id : null;
    if (r.jsonrpc !== '2.0' || typeof r.method !== 'string' || (r.id !== undefined && !isId(r.id))) {
      return errorResponse(id, new RpcError(INVALID_REQUEST, 'Invalid request'));
    }
    const handler = Object.hasOwn(this.methods, r.method) ? this.methods[r.method] : undefined;
    if (!handler) return errorResponse(id, new RpcError(METHOD_NOT_FOUND, 'Method not found'));
    try {
      const result = await handler(paramList(r.params), this.ctx);
      return { jsonrpc: '2.0', result, id };
    } catch (e) {
      if (!(e instanceof RpcError))
        this.log.warn({ method: r.method, err: (e as Error)?.message }, 'local ledger: method failed');
      return errorResponse(id, e);
    }
  }
}
