// Runs in: the renderer. Live application state, fed by the API's events: the node's status,
// purchases with their recent frames and rate history, peers, and the toasts shown to the user.
import type {
  ApiErrorInfo,
  FrameView,
  Notice,
  PeerView,
  PurchaseView,
  SettingsView,
  StatusView,
  WalletView,
} from '../../../src-shared/contract/api';
import { toApiErrorInfo } from '../../../src-shared/contract/api';
import { PurchaseEndWatch } from '../../../src-shared/contract/notices';
import { api, link } from './client.svelte';

export const FRAMES_KEPT = 200;
export const RATE_SAMPLES = 120;

export interface Toast extends Notice {
  id: number;
}

export interface LiveSeries {
  /** unix seconds */
  t: number[];
  /** frames per second */
  fps: number[];
}

class AppState {
  status = $state<StatusView | null>(null);
  statusError = $state<ApiErrorInfo | null>(null);
  wallet = $state<WalletView | null>(null);
  purchases = $state<Record<string, PurchaseView>>({});
  peers = $state<Record<string, PeerView>>({});
  toasts = $state<Toast[]>([]);
  settings = $state<SettingsView | null>(null);
  /** Download / upload over every peer, bytes per second (status bar). */
  rates = $state<{ down: number; up: number }>({ down: 0, up: 0 });
  #ends = new PurchaseEndWatch();
  #lastBytes: { at: number; down: number; up: number } | null = null;
  /** Bumped when the catalog changes (Browse reloads). */
  listingsVersion = $state(0);
  paymentsVersion = $state(0);
  salesVersion = $state(0);
  /** Raw frame buffers are not deeply reactive (they change at 10+ Hz); `framesTick` signals. */
  framesTick = $state(0);
  readonly frames = new Map<string, FrameView[]>();
  readonly series = new Map<string, LiveSeries>();
  #counts = new Map<string, number>();
  #toastId = 0;
  #started = false;

  start(): void {
    if (this.#started) return;
    this.#started = true;
    api.on('status', (s) => (this.status = s));
    api.on('purchase', (p) => {
      this.purchases[p.id] = p;
      const n = this.#ends.update(p);
      if (n) this.notify({ level: n.kind === 'ended' ? 'info' : 'warning', title: n.title, message: n.body });
    });
    api.on('peer', (p) => (this.peers[p.peerId] = p));
    api.on('listings', () => this.listingsVersion++);
    api.on('payment', () => {
      this.paymentsVersion++;
      void this.refreshWallet();
    });
    api.on('sale', () => this.salesVersion++);
    // the node follows the wallet's accounts by subscription and pushes each change (fees of
    // listings and requests included): no polling here
    api.on('balance', (b) => this.#onBalance(b));
    api.on('notice', (n) => this.toast(n));
    api.on('frames', (batch) => this.#onFrames(batch));
    void this.refreshStatus();
    void this.refreshWallet();
    void this.refreshPurchases();
    void this.refreshPeers();
    void this.refreshSettings();
    setInterval(() => this.#sampleBytes(), 1000);
    // Rate samples once a second for every live purchase.
    setInterval(() => this.#sampleRates(), 1000);
  }

  #onBalance(b: { mint: string | null; balance: string }): void {
    const w = this.wallet;
    if (!w) return void this.refreshWallet();
    if (b.mint === null) this.wallet = { ...w, balance: b.balance };
    else if (w.tokens?.some((t) => t.asset.mint === b.mint))
      this.wallet = {
        ...w,
        tokens: w.tokens.map((t) => (t.asset.mint === b.mint ? { ...t, balance: b.balance } : t)),
      };
    else void this.refreshWallet();
  }

  async refreshSettings(): Promise<void> {
    try {
      this.settings = await api.settings();
    } catch {
      /* the Settings screen shows its own error */
    }
  }

  /**
   * A toast, and a notification outside the page: in the desktop app the main process shows it
   * (NotificationPolicy), in a browser the page does (when the user allowed notifications).
   */
  notify(n: Notice): void {
    this.toast(n);
    if (link.electron || typeof Notification === 'undefined' || Notification.permission !== 'granted') return;
    try {
      new Notification(n.title, { body: n.message, tag: n.title });
    } catch {
      /* some browsers allow notifications from service workers only */
    }
  }

  /** Ask for notification permission once, on a click that leads to something worth telling. */
  askNotifications(): void {
    if (link.electron || typeof Notification === 'undefined' || Notification.permission !== 'default') return;
    void Notification.requestPermission().catch(() => undefined);
  }

  #sampleBytes(): void {
    let down = 0;
    let up = 0;
    for (const p of Object.values(this.peers)) {
      down += p.bytesIn;
      up += p.bytesOut;
    }
    const at = Date.now();
    const last = this.#lastBytes;
    this.#lastBytes = { at, down, up };
    if (!last || at <= last.at) return;
    const s = (at - last.at) / 1000;
    this.rates = { down: Math.max(0, (down - last.down) / s), up: Math.max(0, (up - last.up) / s) };
  }

  async refreshStatus(): Promise<void> {
    try {
      this.status = await api.status();
      this.statusError = null;
    } catch (e) {
      this.statusError = toApiErrorInfo(e);
    }
  }

  async refreshWallet(): Promise<void> {
    try {
      this.wallet = await api.wallet();
    } catch {
      /* the Wallet screen shows its own error */
    }
  }

  async refreshPurchases(): Promise<void> {
    try {
      const list = await api.purchases();
      const next: Record<string, PurchaseView> = {};
      for (const p of list) next[p.id] = p;
      this.purchases = next;
    } catch {
      /* shown on the Purchases screen */
    }
  }

  async refreshPeers(): Promise<void> {
    try {
      const list = await api.peers();
      const next: Record<string, PeerView> = {};
      for (const p of list) next[p.peerId] = p;
      this.peers = next;
    } catch {
      /* shown on the Connections screen */
    }
  }

  toast(n: Notice): void {
    const id = ++this.#toastId;
    this.toasts.push({ ...n, id });
    setTimeout(() => this.dismiss(id), n.level === 'error' ? 12_000 : 6_000);
  }

  dismiss(id: number): void {
    this.toasts = this.toasts.filter((t) => t.id !== id);
  }

  #onFrames(batch: FrameView[]): void {
    for (const f of batch) {
      let buf = this.frames.get(f.purchaseId);
      if (!buf) this.frames.set(f.purchaseId, (buf = []));
      buf.push(f);
      if (buf.length > FRAMES_KEPT) buf.splice(0, buf.length - FRAMES_KEPT);
      this.#counts.set(f.purchaseId, (this.#counts.get(f.purchaseId) ?? 0) + 1);
    }
    this.framesTick++;
  }

  #sampleRates(): void {
    const t = Math.floor(Date.now() / 1000);
    for (const [id, p] of Object.entries(this.purchases)) {
      if (p.state !== 'streaming' && !this.#counts.has(id)) continue;
      let s = this.series.get(id);
      if (!s) this.series.set(id, (s = { t: [], fps: [] }));
      s.t.push(t);
      s.fps.push(this.#counts.get(id) ?? 0);
      if (s.t.length > RATE_SAMPLES) {
        s.t.shift();
        s.fps.shift();
      }
      this.#counts.delete(id);
    }
    this.framesTick++;
  }
}

export const app = new AppState();
