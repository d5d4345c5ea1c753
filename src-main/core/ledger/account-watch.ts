// Runs in: Node. Watching an account's balance (lamports, or an SPL token's base units): read
// once, then follow accountNotifications; poll while the WebSocket is down.
import { type Address } from '@solana/kit';
import type { LedgerRpc, SubscriptionsHolder } from './rpc';
import { ataOf, balanceOf, type Asset } from './assets';
import { sleep } from '../sleep';

/**
 * Watch an account's lamports: read once, then follow accountNotifications; while the WebSocket is
 * down, poll every `pollMs`. Returns stop.
 */
export function watchLamports(
  rpc: LedgerRpc,
  subs: SubscriptionsHolder | undefined,
  addr: Address,
  onChange: (lamports: bigint) => void,
  pollMs = 10_000,
): () => void {
  return watchAccount(
    subs,
    addr,
    async () => BigInt((await rpc.getBalance(addr, { commitment: 'confirmed' }).send()).value),
    (n) => BigInt(n.lamports),
    onChange,
    pollMs,
  );
}

/** Base units in an SPL token account's data (amount: u64 at byte 64); a closed account is 0. */
function tokenAmountOf(n: { lamports: bigint | number; data: unknown }): bigint {
  const d = n.data as [string, string] | undefined;
  const bytes = Array.isArray(d) && typeof d[0] === 'string' ? Buffer.from(d[0], 'base64') : Buffer.alloc(0);
  return bytes.length >= 72 ? bytes.readBigUInt64LE(64) : 0n;
}

/**
 * Watch `owner`'s balance of a token (its associated token account) the same way: read once, then
 * accountNotifications of that account; polling while the WebSocket is down. SOL: watchLamports.
 */
export function watchTokenBalance(
  rpc: LedgerRpc,
  subs: SubscriptionsHolder | undefined,
  owner: Address,
  asset: Asset,
  onChange: (amount: bigint) => void,
  pollMs = 10_000,
): () => void {
  if (asset.kind === 'sol') return watchLamports(rpc, subs, owner, onChange, pollMs);
  let stop: (() => void) | undefined;
  let stopped = false;
  void ataOf(owner, asset.mint).then((ata) => {
    if (stopped) return;
    stop = watchAccount(subs, ata, () => balanceOf(rpc, owner, asset), tokenAmountOf, onChange, pollMs);
  });
  return () => {
    stopped = true;
    stop?.();
  };
}

/** Follow one account: `read` it, then decode each accountNotification; poll while the WebSocket is down. */
function watchAccount(
  subs: SubscriptionsHolder | undefined,
  addr: Address,
  read: () => Promise<bigint>,
  decode: (n: { lamports: bigint | number; data: unknown }) => bigint,
  onChange: (value: bigint) => void,
  pollMs: number,
): () => void {
  const ac = new AbortController();
  let last: bigint | null = null;
  const seen = (n: bigint): void => {
    if (n === last) return;
    last = n;
    onChange(n);
  };
  const poll = async (): Promise<void> => seen(await read());
  void (async () => {
    while (!ac.signal.aborted) {
      await poll().catch(() => undefined);
      if (subs) {
        const client = subs.get();
        try {
          const it = await client
            .accountNotifications(addr, { commitment: 'confirmed', encoding: 'base64' })
            .subscribe({ abortSignal: ac.signal });
          await poll().catch(() => undefined); // a change between the read and the subscription
          for await (const n of it) seen(decode(n.value as { lamports: bigint; data: unknown }));
        } catch {
          if (!ac.signal.aborted) subs.renew(client);
        }
      }
      if (!ac.signal.aborted) await sleep(pollMs, ac.signal).catch(() => undefined);
    }
  })();
  return () => ac.abort();
}
