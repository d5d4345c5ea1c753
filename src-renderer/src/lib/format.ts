// Runs in: the renderer. Display formatting (exact lamports via bigint, never floats for money).
import { formatSol } from '../../../src-shared/contract/api';
import { safeText } from '../../../src-shared/contract/text';

/**
 * Text that came from a stranger (titles, descriptions, tags, formats, reasons, peer errors) as
 * it may be shown: no control characters, escape sequences or bidirectional overrides. Svelte
 * escapes HTML; this keeps invisible characters from garbling or reordering what the user reads.
 */
export { formatSol, safeText };

export const LAMPORTS_PER_SOL = 1_000_000_000n;

/** An amount in SOL by the one format rule (formatSol: exact, never a nonzero amount as 0). */
export function sol(lamports: string | bigint | null | undefined): string {
  if (lamports === null || lamports === undefined) return '—';
  return formatSol(lamports);
}

/** A signed balance change: "+0.5 SOL" / "−0.000005 SOL". */
export function signedSol(lamports: string | bigint): string {
  const v = BigInt(lamports);
  return v < 0n ? `−${formatSol(-v)}` : `+${formatSol(v)}`;
}

/** Parse "0.25" SOL into lamports; null when not a valid amount. */
export function parseSol(text: string): bigint | null {
  const m = /^\s*(\d{0,12})(?:\.(\d{0,9}))?\s*$/.exec(text);
  if (!m || (m[1] === '' && (m[2] ?? '') === '')) return null;
  return BigInt(m[1] || '0') * LAMPORTS_PER_SOL + BigInt((m[2] ?? '').padEnd(9, '0') || '0');
}

export function lamportsToSolText(l: string | bigint): string {
  return formatSol(l).replace(/ SOL$/, '');
}

/** Price per period from a per-minute price, as the seller computes it (rounded up). */
export function pricePerPeriod(perMinute: string | bigint, periodSec: number): bigint {
  const p = BigInt(perMinute) * BigInt(periodSec);
  return (p + 59n) / 60n;
}

export function short(addr: string | null | undefined, n = 4): string {
  if (!addr) return '—';
  return addr.length <= n * 2 + 1 ? addr : `${addr.slice(0, n)}…${addr.slice(-n)}`;
}

export function ago(ms: number | null | undefined, now = Date.now()): string {
  if (!ms) return '—';
  const s = Math.max(0, Math.round((now - ms) / 1000));
  if (s < 5) return 'just now';
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86400)} d ago`;
}

export function time(ms: number | null | undefined): string {
  if (!ms) return '—';
  return new Date(ms).toLocaleString(undefined, { hour12: false });
}

export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}

export function rate(hz: number): string {
  if (!Number.isFinite(hz) || hz <= 0) return '0/s';
  return hz >= 100 ? `${Math.round(hz)}/s` : `${hz.toFixed(1)}/s`;
}

export function pathLabel(path: string | null, relay: string | null): string {
  switch (path) {
    case 'direct-lan':
      return 'Direct · LAN';
    case 'direct-wan':
      return 'Direct · WAN';
    case 'hole-punched':
      return 'Hole-punched';
    case 'relayed':
      return `Relayed via ${short(relay, 6)}`;
    default:
      return 'Not connected';
  }
}

/** 0–4 bars, like Syncthing: the path sets the ceiling, the round-trip time the rest. */
export function signalBars(path: string | null, rttMs: number | null): number {
  if (!path) return 0;
  const ceiling = path === 'direct-lan' ? 4 : path === 'direct-wan' || path === 'hole-punched' ? 4 : 2;
  const byRtt = rttMs === null ? 3 : rttMs < 20 ? 4 : rttMs < 80 ? 3 : rttMs < 250 ? 2 : 1;
  return Math.min(ceiling, byRtt);
}

/** A multiaddr without its /p2p/<id> and /certhash/<hash> parts (what a person wants to read). */
export function shortAddr(ma: string | null | undefined): string {
  if (!ma) return '—';
  return ma.replace(/\/certhash\/[^/]+/g, '').replace(/\/p2p\/[^/]+/g, '');
}
