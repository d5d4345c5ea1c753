// What the desktop app tells the user unprompted: a new buyer, a payment received, a lost
// connection — once each — and the tray icon's state.
import { describe, expect, it } from 'vitest';
import { NotificationPolicy, trayStateFor } from '../../src-main/api/notify-policy';
import type { PaymentView, PeerView, SaleView, StatusView, TradeState } from '../../src-shared/contract/api';

const sale = (state: TradeState): SaleView => ({
  id: 'r1',
  buyer: 'BuyerAddr1111111111111111111111111111111111',
  streamId: 'aircraft',
  tier: 'direct',
  state,
  reason: null,
  pricePerPeriod: '100',
  paidThrough: -1,
  earned: '0',
  frames: 0,
  dropped: 0,
  createdAt: 1,
  updatedAt: 1,
});
const payment = (direction: 'in' | 'out', state: string, signature = 's1'): PaymentView => ({
  signature,
  requestId: 'r1',
  direction,
  counterparty: 'BuyerAddr1111111111111111111111111111111111',
  lamports: '2500000',
  period: 0,
  state,
  reason: null,
  createdAt: 1,
  explorerUrl: null,
});
const peer = (connected: boolean): PeerView => ({
  peerId: 'p1',
  address: 'PeerAddr11111111111111111111111111111111111',
  connected,
  path: connected ? 'direct-lan' : null,
  relay: null,
  remoteAddr: null,
  rttMs: 1,
  bytesIn: 0,
  bytesOut: 0,
  throughput: [],
  openedAt: 1,
  attempts: [],
});

describe('NotificationPolicy', () => {
  it('announces a new buyer once', () => {
    const p = new NotificationPolicy();
    expect(p.decide('sale', sale('requested'))?.title).toBe('New buyer');
    expect(p.decide('sale', sale('streaming'))).toBeNull();
  });
  it('announces verified incoming payments once, never outgoing ones', () => {
    const p = new NotificationPolicy();
    expect(p.decide('payment', payment('out', 'confirmed'))).toBeNull();
    expect(p.decide('payment', payment('in', 'sent'))).toBeNull();
    expect(p.decide('payment', payment('in', 'verified'))).toEqual({
      title: 'Payment received',
      body: '0.0025 SOL from Buye…1111 (period 1).',
    });
    expect(p.decide('payment', payment('in', 'verified'))).toBeNull();
  });
  it('announces a lost connection, not a peer that was never connected', () => {
    const p = new NotificationPolicy();
    expect(p.decide('peer', peer(false))).toBeNull();
    expect(p.decide('peer', peer(true))).toBeNull();
    expect(p.decide('peer', peer(false))?.title).toBe('Connection lost');
  });
});

describe('trayStateFor', () => {
  const base: StatusView = {
    state: 'ready',
    version: '1',
    address: 'a',
    peerId: 'p',
    cluster: 'local',
    dataDir: '/d',
    listenAddrs: [],
    serving: true,
    sellingPaused: false,
    buyers: 2,
    purchasesActive: 0,
  };
  it('maps node status to serving / idle / error', () => {
    expect(trayStateFor(base)).toEqual({ state: 'serving', tooltip: 'Axon — serving 2 buyers' });
    expect(trayStateFor({ ...base, sellingPaused: true }).state).toBe('idle');
    expect(trayStateFor({ ...base, serving: false }).state).toBe('idle');
    expect(trayStateFor({ ...base, state: 'error', error: { code: 'x', message: 'ledger down', hint: '' } })).toEqual({
      state: 'error',
      tooltip: 'Axon — ledger down',
    });
    expect(trayStateFor(null).state).toBe('idle');
  });
});

describe('window policy', () => {
  it('opens only https block-explorer links outside the app', async () => {
    const { isAllowedExternal } = await import('../../src-main/api/window-policy');
    expect(isAllowedExternal('https://explorer.solana.com/tx/abc?cluster=devnet')).toBe(true);
    expect(isAllowedExternal('http://explorer.solana.com/tx/abc')).toBe(false);
    expect(isAllowedExternal('https://explorer.solana.com.evil.example/tx')).toBe(false);
    expect(isAllowedExternal('https://user@explorer.solana.com/')).toBe(false);
    expect(isAllowedExternal('file:///etc/passwd')).toBe(false);
    expect(isAllowedExternal('javascript:alert(1)')).toBe(false);
  });
  it('accepts IPC and navigation only from the app’s own page', async () => {
    const { isOwnPage } = await import('../../src-main/api/window-policy');
    const index = '/opt/Axon/resources/app.asar/out/renderer/index.html';
    expect(isOwnPage('file:///opt/Axon/resources/app.asar/out/renderer/index.html#/wallet', index)).toBe(true);
    expect(isOwnPage('file:///tmp/evil.html', index)).toBe(false);
    expect(isOwnPage('https://example.org/', index)).toBe(false);
    expect(isOwnPage(undefined, index)).toBe(false);
  });
});
