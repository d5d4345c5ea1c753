// The wallet balance reaches the UI by subscription, not polling: a real headless node behind its
// real bridge on the real local ledger pushes a `balance` event on the events WebSocket when SOL
// arrives (an airdrop) and when USDC arrives (the faucet), with the exact amounts — and reads no
// balance over JSON-RPC meanwhile (the change comes from accountNotifications).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import type { Serving } from '../../src-main/cli/commands/serve';
import { startLocalLedger, type LocalLedger } from '../../src-main/local-ledger/index';
import type { AxonEvents } from '../../src-shared/contract/api';
import { serveWithUi, until } from '../helpers/serve';

describe('wallet balance pushed to the UI', () => {
  let ledger: LocalLedger;
  let node: Serving;
  const dirs: string[] = [];
  const temp = (name: string): string => {
    const d = mkdtempSync(join(tmpdir(), `axon-balance-${name}-`));
    dirs.push(d);
    return d;
  };

  beforeAll(async () => {
    ledger = await startLocalLedger({ port: 0, dataDir: temp('ledger'), slotMs: 100 });
    node = await serveWithUi(temp('node'), ledger);
  });
  afterAll(async () => {
    await node?.close();
    await ledger?.close();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('an airdrop and a USDC faucet show up as balance events with the exact amounts', async () => {
    const port = node.bridge!.port;
    const ws = new WebSocket(`ws://127.0.0.1:${port}/t/${node.bridge!.token}/api/events`, {
      headers: { Origin: `http://127.0.0.1:${port}` },
    });
    const seen: AxonEvents['balance'][] = [];
    ws.on('message', (m) => {
      const { event, payload } = JSON.parse(String(m)) as { event: string; payload: AxonEvents['balance'] };
      if (event === 'balance') seen.push(payload);
    });
    await new Promise((r) => ws.on('open', r));
    const n = node.host.node;
    const usdc = (await n.ledger.usdc())!;
    // the subscriptions are up once the first reading came (zero for a new wallet)
    await until(async () => seen.some((b) => b.mint === null), 'first SOL reading');

    const reads = (): number => n.ledger.rpcHealth().byMethod.getBalance ?? 0;
    const before = reads();
    await n.airdrop(1_234_567_890n);
    await until(async () => seen.some((b) => b.mint === null && b.balance === '1234567890'), 'SOL balance event');
    await n.ledger.tokenFaucet(usdc, 2_500_000n);
    await until(async () => seen.some((b) => b.mint === usdc.mint && b.balance === '2500000'), 'USDC balance event');
    // pushed by accountNotifications: no getBalance poll brought these
    expect(reads()).toBe(before);
    ws.close();
  }, 60_000);
});
