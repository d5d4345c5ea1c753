// Settings' RPC fields (URL, WebSocket URL, priority-fee cap; an API-key URL kept out of
// settings.json) over the real bridge. The wallet balance reaches the UI by subscription, not polling: a real headless node behind its
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
import type { AxonEvents, SettingsResult } from '../../src-shared/contract/api';
import { apiCall, apiCallRaw, serveWithUi, until } from '../helpers/serve';
import { readFileSync } from 'node:fs';
import { RpcSecretStore } from '../../src-main/core/ledger/rpc-secret';

describe('RPC settings and the wallet balance over the bridge', () => {
  let ledger: LocalLedger;
  let node: Serving;
  let nodeDir: string;
  const dirs: string[] = [];
  const temp = (name: string): string => {
    const d = mkdtempSync(join(tmpdir(), `axon-balance-${name}-`));
    dirs.push(d);
    return d;
  };

  beforeAll(async () => {
    ledger = await startLocalLedger({ port: 0, dataDir: temp('ledger'), slotMs: 100 });
    nodeDir = temp('node');
    node = await serveWithUi(nodeDir, ledger);
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

  it('the RPC fields of Settings: a plain URL in settings.json, an API-key URL in the key store only, shown redacted', async () => {
    const was = process.env.AXON_KEYSTORE;
    process.env.AXON_KEYSTORE = 'file'; // never the keychain of the machine running the test
    try {
      const plain = await apiCall<SettingsResult>(node, 'updateSettings', {
        rpcUrl: 'https://rpc.example.org',
        rpcWsUrl: 'wss://rpc.example.org/ws',
        rpcPriorityFeeCap: '20000',
      });
      expect(plain.settings).toMatchObject({
        rpcUrl: 'https://rpc.example.org',
        rpcKeyed: false,
        rpcWsUrl: 'wss://rpc.example.org/ws',
        rpcPriorityFeeCap: '20000',
      });
      expect(plain.restartRequired).toBe(true);

      const keyed = await apiCall<SettingsResult>(node, 'updateSettings', {
        rpcUrl: 'https://paid.example.org/?api-key=SECRET123',
      });
      expect(keyed.settings).toMatchObject({ rpcUrl: 'https://paid.example.org/…', rpcKeyed: true });
      const file = readFileSync(join(nodeDir, 'settings.json'), 'utf8');
      expect(file).not.toContain('SECRET123');
      expect(JSON.parse(file).rpcUrl).toBeNull();
      expect(new RpcSecretStore(nodeDir).get()).toBe('https://paid.example.org/?api-key=SECRET123');

      const bad = await apiCallRaw(node, 'updateSettings', { rpcWsUrl: 'http://not-a-websocket' });
      expect(bad.ok).toBe(false);

      // back to none: the key store is emptied too
      const none = await apiCall<SettingsResult>(node, 'updateSettings', { rpcUrl: null, rpcWsUrl: null });
      expect(none.settings).toMatchObject({ rpcUrl: null, rpcKeyed: false, rpcWsUrl: null });
      expect(new RpcSecretStore(nodeDir).get()).toBeNull();
    } finally {
      if (was === undefined) delete process.env.AXON_KEYSTORE;
      else process.env.AXON_KEYSTORE = was;
    }
  });
});
