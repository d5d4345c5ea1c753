// Runs in: Node. Decodes Solana wire transactions (legacy and v0) without trusting them: every
// length is bounds-checked and any malformed input throws a WireError (→ JSON-RPC -32602).
import { getBase58Encoder } from '@solana/kit';

export const PACKET_DATA_SIZE = 1232;

const b58enc = getBase58Encoder();
const ALPHABET = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';

/** Base58 (Bitcoin alphabet). Byte-wise long division: much faster than BigInt for 32/64 bytes. */
export function toBase58(bytes: Uint8Array): string {
  let zeros = 0;
  while (zeros < bytes.length && bytes[zeros] === 0) zeros++;
  const size = Math.ceil(((bytes.length - zeros) * 138) / 100) + 1;
  const digits = new Uint8Array(size);
  let length = 0;
  for (let i = zeros; i < bytes.length; i++) {
    let carry = bytes[i]!;
    let j = 0;
    for (let k = size - 1; (carry !== 0 || j < length) && k >= 0; k--, j++) {
      carry += 256 * digits[k]!;
      digits[k] = carry % 58;
      carry = Math.floor(carry / 58);
    }
    length = j;
  }
  let start = size - length;
  while (start < size && digits[start] === 0) start++;
  let out = '1'.repeat(zeros);
  for (let i = start; i < size; i++) out += ALPHABET[digits[i]!];
  return out;
}
/** Account keys repeat (payers, topics, programs): their base58 forms are cached. */
const keyCache = new Map<string, string>();
export function keyToBase58(key: Uint8Array): string {
  const hex = Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('hex');
  let b58 = keyCache.get(hex);
  if (b58 === undefined) {
    b58 = toBase58(key);
    if (keyCache.size >= 50_000) keyCache.clear();
    keyCache.set(hex, b58);
  }
  return b58;
}

export function fromBase58(text: string): Uint8Array {
  return new Uint8Array(b58enc.encode(text));
}

export class WireError extends Error {}

export interface MessageHeader {
  numRequiredSignatures: number;
  numReadonlySignedAccounts: number;
  numReadonlyUnsignedAccounts: number;
}
export interface CompiledIx {
  programIdIndex: number;
  accounts: number[];
  data: Uint8Array;
}
export interface LookupTableRef {
  accountKey: string;
  writableIndexes: number[];
  readonlyIndexes: number[];
}
export interface DecodedTransaction {
  /** The first signature, base58: the transaction id. */
  signature: string;
  signatures: string[];
  signatureBytes: Uint8Array[];
  version: 'legacy' | 0;
  messageBytes: Uint8Array;
  header: MessageHeader;
  accountKeys: string[];
  accountKeyBytes: Uint8Array[];
  recentBlockhash: string;
  instructions: CompiledIx[];
  addressTableLookups: LookupTableRef[];
}

class Reader {
  pos = 0;
  constructor(private readonly buf: Uint8Array) {}
  u8(): number {
    if (this.pos >= this.buf.length) throw new WireError('unexpected end of transaction bytes');
    return this.buf[this.pos++]!;
  }
  compactU16(): number {
    let value = 0;
    for (let i = 0; i < 3; i++) {
      const b = this.u8();
      value |= (b & 0x7f) << (7 * i);
      if ((b & 0x80) === 0) return value;
    }
    throw new WireError('invalid compact-u16 length');
  }
  bytes(n: number): Uint8Array {
    if (this.pos + n > this.buf.length) throw new WireError('unexpected end of transaction bytes');
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
  get remaining(): number {
    return this.buf.length - this.pos;
  }
}

export function decodeMessage(
  msg: Uint8Array,
): Omit<DecodedTransaction, 'signature' | 'signatures' | 'signatureBytes'> {
  const r = new Reader(msg);
  let version: 'legacy' | 0 = 'legacy';
  const first = r.u8();
  let header: MessageHeader;
  if (first & 0x80) {
    const v = first & 0x7f;
    if (v !== 0) throw new WireError(`unsupported transaction version ${v}`);
    version = 0;
    header = { numRequiredSignatures: r.u8(), numReadonlySignedAccounts: r.u8(), numReadonlyUnsignedAccounts: r.u8() };
  } else {
    header = { numRequiredSignatures: first, numReadonlySignedAccounts: r.u8(), numReadonlyUnsignedAccounts: r.u8() };
  }
  const nKeys = r.compactU16();
  const accountKeys: string[] = [];
  const accountKeyBytes: Uint8Array[] = [];
  for (let i = 0; i < nKeys; i++) {
    const key = r.bytes(32).slice();
    accountKeyBytes.push(key);
    accountKeys.push(keyToBase58(key));
  }
  if (new Set(accountKeys).size !== accountKeys.length) throw new WireError('Account loaded twice');
  const recentBlockhash = keyToBase58(r.bytes(32));
  const nIx = r.compactU16();
  const instructions: CompiledIx[] = [];
  for (let i = 0; i < nIx; i++) {
    const programIdIndex = r.u8();
    const nAcc = r.compactU16();
    const accounts = Array.from(r.bytes(nAcc));
    const dataLen = r.compactU16();
    instructions.push({ programIdIndex, accounts, data: r.bytes(dataLen).slice() });
  }
  const addressTableLookups: LookupTableRef[] = [];
  if (version === 0) {
    const nLookups = r.compactU16();
    for (let i = 0; i < nLookups; i++) {
      const accountKey = toBase58(r.bytes(32));
      const writableIndexes = Array.from(r.bytes(r.compactU16()));
      const readonlyIndexes = Array.from(r.bytes(r.compactU16()));
      addressTableLookups.push({ accountKey, writableIndexes, readonlyIndexes });
    }
  }
  if (r.remaining !== 0) throw new WireError('trailing bytes after the message');
  // Sanitize as the runtime does: header within bounds, indexes within the static keys.
  if (header.numRequiredSignatures === 0) throw new WireError('a transaction needs a fee payer signature');
  if (header.numRequiredSignatures + header.numReadonlyUnsignedAccounts > nKeys) {
    throw new WireError('Transaction failed to sanitize accounts offsets correctly');
  }
  if (header.numReadonlySignedAccounts >= header.numRequiredSignatures) {
    throw new WireError('Transaction failed to sanitize accounts offsets correctly');
  }
  const nLoaded = addressTableLookups.reduce((n, l) => n + l.writableIndexes.length + l.readonlyIndexes.length, 0);
  for (const ix of instructions) {
    if (ix.programIdIndex === 0 || ix.programIdIndex >= nKeys) {
      throw new WireError('Transaction failed to sanitize accounts offsets correctly');
    }
    for (const a of ix.accounts) {
      if (a >= nKeys + nLoaded) throw new WireError('Transaction failed to sanitize accounts offsets correctly');
    }
  }
  return {
    version,
    messageBytes: msg,
    header,
    accountKeys,
    accountKeyBytes,
    recentBlockhash,
    instructions,
    addressTableLookups,
  };
}

export function decodeTransaction(bytes: Uint8Array): DecodedTransaction {
  const r = new Reader(bytes);
  const nSigs = r.compactU16();
  if (nSigs === 0) throw new WireError('a transaction needs at least one signature');
  const signatureBytes: Uint8Array[] = [];
  for (let i = 0; i < nSigs; i++) signatureBytes.push(r.bytes(64).slice());
  const messageBytes = bytes.subarray(r.pos);
  const msg = decodeMessage(messageBytes);
  if (msg.header.numRequiredSignatures !== nSigs) {
    throw new WireError(`expected ${msg.header.numRequiredSignatures} signatures, found ${nSigs}`);
  }
  const signatures = signatureBytes.map(toBase58);
  return { signature: signatures[0]!, signatures, signatureBytes, ...msg };
}

/** Whether static account `i` is writable according to the message header. */
export function isWritable(tx: Pick<DecodedTransaction, 'header' | 'accountKeys'>, i: number): boolean {
  const h = tx.header;
  if (i < h.numRequiredSignatures) return i < h.numRequiredSignatures - h.numReadonlySignedAccounts;
  return i < tx.accountKeys.length - h.numReadonlyUnsignedAccounts;
}
export function isSigner(tx: Pick<DecodedTransaction, 'header'>, i: number): boolean {
  return i < tx.header.numRequiredSignatures;
}
