// `axon serve --ui` started in this process on a given ledger, with a stand-in UI page; the app API
// called over its bridge as the UI calls it; a funded seller + buyer pair on one local ledger.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLocalLedger, type LocalLedger } from '../../src-main/local-ledger/index';
import type { ApiResult } from '../../src-shared/contract/api';
import { startServe, type Serving } from '../../src-main/cli/commands/serve';
import { Identity } from '../../src-main/core/identity/identity';
import type { HostOptions } from '../../src-main/api/host';

/** Serve `dataDir` with the bridge and a UI (dataDir/ui/index.html) on `ledger`, on loopback. */
export function serveWithUi(
  dataDir: string,
  ledger: { rpcUrl: string; wsUrl: string },
  hostOptions: Partial<Omit<HostOptions, 'dataDir' | 'logLevel'>> = {},
): Promise<Serving> {
  const ui = join(dataDir, 'ui');
  mkdirSync(ui);
  writeFileSync(join(ui, 'index.html'), '<!doctype html><title>Axon</title>');
  return startServe({
    dataDir,
    ui: true,
    port: 0,
    staticDir: ui,
    print: () => {},
    hostOptions: {
      ledger: { rpcUrl: ledger.rpcUrl, wsUrl: ledger.wsUrl },
      identity: Identity.generate(),
      net: { host: '127.0.0.1', announceFilter: { allowLoopback: true } },
      endpoint: { wsPort: 0, tcpPort: 0 },
      ...hostOptions,
    },
  });
}

/** One app-API command over a node's bridge, exactly as the UI sends it; the raw `ApiResult`. */
export async function apiCallRaw<T = unknown>(s: Serving, command: string, ...args: unknown[]): Promise<ApiResult<T>> {
  const res = await fetch(`${s.bridge!.url}api/call/${command}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ args }),
  });
  return (await res.json()) as ApiResult<T>;
}

/** One app-API command; its value, or an error naming the code, message and hint. */
export async function apiCall<T>(s: Serving, command: string, ...args: unknown[]): Promise<T> {
  const r = await apiCallRaw<T>(s, command, ...args);
  if (!r.ok) throw new Error(`${command}: ${r.error.code}: ${r.error.message} (${r.error.hint})`);
  return r.value;
}

/** Poll `fn` every 100 ms until it gives a truthy value, or fail naming `what`. */
export async function until<T>(fn: () => Promise<T | undefined | false | null>, what: string, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Two funded headless nodes (seller, buyer), each behind its real bridge, on one real local ledger
 * (100 ms slots), in temp dirs; `close()` stops everything and removes the dirs.
 */
export async function bridgePair(
  prefix: string,
  hostOptions: Partial<Omit<HostOptions, 'dataDir' | 'logLevel'>> = {},
  airdrop = 1_000_000_000n,
): Promise<{ ledger: LocalLedger; seller: Serving; buyer: Serving; close(): Promise<void> }> {
  const dirs: string[] = [];
  const temp = (name: string): string => {
    const d = mkdtempSync(join(tmpdir(), `${prefix}-${name}-`));
    dirs.push(d);
    return d;
  };
  const started: { close(): Promise<unknown> }[] = [];
  const close = async (): Promise<void> => {
    for (const s of started.reverse()) await s.close();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  };
  try {
    const ledger = await startLocalLedger({ port: 0, dataDir: temp('ledger'), slotMs: 100 });
    started.push(ledger);
    const node = async (name: string): Promise<Serving> => {
      const s = await serveWithUi(temp(name), ledger, hostOptions);
      started.push(s);
      await s.host.node.airdrop(airdrop);
      return s;
    };
    const seller = await node('seller');
    const buyer = await node('buyer');
    return { ledger, seller, buyer, close };
  } catch (e) {
    await close();
    throw e;
  }
}
