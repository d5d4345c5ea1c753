// Runs in: Node. Validation of JSON-RPC params at the trust boundary, with Agave's error wording
// (-32602 "Invalid param: …" for keys/signatures/hashes, "Invalid params: …" otherwise).
import { invalidParam, invalidParams, MIN_CONTEXT_SLOT_NOT_REACHED, RpcError } from './rpc-errors';
import { fromBase58 } from './wire';
import type { Commitment, SlotClock } from './clock';

export type Config = Record<string, unknown>;

export function paramList(params: unknown): unknown[] {
  if (params === undefined || params === null) return [];
  if (!Array.isArray(params)) throw invalidParams('`params` should be an array');
  return params;
}

function base58Bytes(v: unknown, len: number, what: string): string {
  if (typeof v !== 'string' || v.length === 0 || v.length > 100) throw invalidParam(`Invalid ${what}`);
  let bytes: Uint8Array;
  try {
    bytes = fromBase58(v);
  } catch {
    throw invalidParam(`Invalid ${what}`);
  }
  if (bytes.length !== len) throw invalidParam(`Invalid ${what}: WrongSize`);
  return v;
}
export const address = (v: unknown): string => base58Bytes(v, 32, 'public key');
export const signature = (v: unknown): string => base58Bytes(v, 64, 'signature');
export const blockhash = (v: unknown): string => base58Bytes(v, 32, 'hash');

export function required<T>(params: unknown[], i: number, parse: (v: unknown) => T, name: string): T {
  if (params[i] === undefined) throw invalidParams(`missing parameter \`${name}\``);
  return parse(params[i]);
}

export function config(v: unknown): Config {
  if (v === undefined || v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v)) throw invalidParams('invalid type: expected a configuration object');
  return v as Config;
}

const COMMITMENTS = new Set(['processed', 'confirmed', 'finalized']);
export function commitment(cfg: Config, fallback: Commitment = 'finalized'): Commitment {
  const c = cfg.commitment;
  if (c === undefined || c === null) return fallback;
  if (typeof c !== 'string' || !COMMITMENTS.has(c)) {
    throw invalidParams(
      `unknown variant \`${String(c)}\`, expected one of \`processed\`, \`confirmed\`, \`finalized\``,
    );
  }
  return c as Commitment;
}
/** getTransaction / getSignaturesForAddress refuse `processed`, as Agave does. */
export function confirmedCommitment(cfg: Config): Commitment {
  const c = commitment(cfg);
  if (c === 'processed') throw invalidParams('Method does not support commitment below `confirmed`');
  return c;
}

export function optInt(cfg: Config, key: string, min = 0, max = Number.MAX_SAFE_INTEGER): number | undefined {
  const v = cfg[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max)
    throw invalidParams(`invalid value for \`${key}\``);
  return v;
}
export function optBool(cfg: Config, key: string): boolean | undefined {
  const v = cfg[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') throw invalidParams(`invalid type for \`${key}\`: expected a boolean`);
  return v;
}
export function optString<T extends string>(cfg: Config, key: string, allowed: readonly T[]): T | undefined {
  const v = cfg[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) {
    throw invalidParams(
      `unknown variant \`${String(v)}\` for \`${key}\`, expected one of ${allowed.map((a) => `\`${a}\``).join(', ')}`,
    );
  }
  return v as T;
}

/** Honours `minContextSlot`: the answer's slot must be at least that. */
export function checkMinContextSlot(cfg: Config, clock: SlotClock, c: Commitment): number {
  const slot = clock.commitmentSlot(c);
  const min = optInt(cfg, 'minContextSlot');
  if (min !== undefined && slot < min) {
    throw new RpcError(MIN_CONTEXT_SLOT_NOT_REACHED, 'Minimum context slot has not been reached', {
      contextSlot: slot,
    });
  }
  return slot;
}
