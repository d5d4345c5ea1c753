// Runs in: Node (the `axon` command). Terminal formatting: exact lamports ↔ SOL (bigint, never
// floats), short addresses, ages and plain aligned tables.
import { CliError } from './context';
import { safeText } from '../../src-shared/contract/text';
import { formatAmount, knownAsset } from '../core/ledger/assets';

/**
 * Text from a stranger (listing titles, descriptions, tags, reasons, peer errors) as it may reach
 * the terminal: no escape sequences, no control characters, one line. `table` applies it to every
 * cell; single lines that carry such text call it themselves.
 */
export { safeText };

export const LAMPORTS_PER_SOL = 1_000_000_000n;

/** Exact decimal SOL of a lamport amount: 60000n → "0.00006", 1500000000n → "1.5". */
export function sol(lamports: bigint): string {
  const neg = lamports < 0n;
  const v = neg ? -lamports : lamports;
  const whole = v / LAMPORTS_PER_SOL;
  const frac = (v % LAMPORTS_PER_SOL).toString().padStart(9, '0').replace(/0+$/, '');
  return `${neg ? '-' : ''}${whole}${frac ? `.${frac}` : ''}`;
}

/** "60000 lamports (0.00006 SOL)". */
export function amount(lamports: bigint): string {
  return `${lamports} lamports (${sol(lamports)} SOL)`;
}

/**
 * An amount in what a listing / trade is priced in: SOL (lamports) when `mint` is null, else the
 * token's exact amount and its base units ("0.02 USDC (20000 base units)").
 */
export function money(units: bigint, mint: string | null | undefined): string {
  if (!mint) return amount(units);
  const asset = knownAsset(mint);
  return asset ? `${formatAmount(units, asset)} (${units} base units)` : `${units} base units of the token ${mint}`;
}

/**
 * Parse an amount typed by a user: an integer is lamports ("60000"); a number followed by "sol"
 * is SOL ("0.5sol", "1 SOL"), converted exactly (at most 9 decimals).
 */
export function parseLamports(text: string, what = 'amount'): bigint {
  const t = text.trim();
  if (/^\d{1,20}$/.test(t)) return BigInt(t);
  const m = /^(\d{0,12})(?:\.(\d{1,9}))?\s*sol$/i.exec(t);
  if (m && (m[1] || m[2])) return BigInt(m[1] || '0') * LAMPORTS_PER_SOL + BigInt((m[2] ?? '').padEnd(9, '0'));
  throw new CliError(
    `${what} must be a whole number of lamports (e.g. 60000) or SOL with a unit (e.g. 0.5sol), got '${text}'`,
  );
}

export function parsePositiveInt(text: string, what: string, max = 1_000_000_000): number {
  const t = text.trim();
  const n = Number(t);
  if (!/^\d+$/.test(t) || !Number.isSafeInteger(n) || n < 1 || n > max)
    throw new CliError(`${what} must be a whole number from 1 to ${max}, got '${text}'`);
  return n;
}

export function short(addr: string | null | undefined, n = 4): string {
  if (!addr) return '-';
  return addr.length <= n * 2 + 1 ? addr : `${addr.slice(0, n)}…${addr.slice(-n)}`;
}

export function ago(ms: number | null | undefined, at = Date.now()): string {
  if (!ms) return '-';
  const s = Math.round((at - ms) / 1000);
  if (s < 0) return `in ${duration(-s * 1000)}`;
  if (s < 2) return 'just now';
  return `${duration(s * 1000)} ago`;
}

export function duration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min`;
  if (s < 86_400) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
  return `${Math.floor(s / 86_400)} d`;
}

export function rate(milliHz: number): string {
  if (!milliHz) return '-';
  return milliHz >= 1000 ? `${+(milliHz / 1000).toFixed(1)} Hz` : `${+(milliHz / 1000).toFixed(3)} Hz`;
}

/** A plain table: columns padded to their widest cell, two spaces apart. */
export function table(headers: string[], rawRows: string[][]): string {
  const rows = rawRows.map((r) => r.map((c) => safeText(c)));
  const width = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(width[i]!)))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}

/** JSON with bigints as decimal strings (lamports stay exact). */
export function toJson(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x));
}

/** A frame payload as one printable line: UTF-8 text when it is text, else its size and hex head. */
export function payloadText(payload: Uint8Array, max = Infinity): string {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(payload).replace(/\r?\n$/, '');
    // eslint-disable-next-line no-control-regex
    if (/[\u0000-\u0008\u000e-\u001f\u007f-\u009f]/.test(text)) throw new Error('binary');
  } catch {
    text = `<${payload.length} bytes: ${Buffer.from(payload.subarray(0, 16)).toString('hex')}${payload.length > 16 ? '…' : ''}>`;
  }
  return text.length > max ? `${text.slice(0, Math.max(0, max - 1))}…` : text;
}
