// Runs in: Node. The pubsub WebSocket (Agave's port+1): signatureSubscribe, logsSubscribe
// (all / mentions of one address), slotSubscribe, accountSubscribe and their unsubscribes.
// Transactions are delivered to each subscription when they reach its commitment (CommitmentFeed).
//
// Bounds (docs/security.md, "Local ledger"): at most MAX_SUBSCRIPTIONS_PER_SOCKET subscriptions per
// socket (the public mainnet RPC's limit, which @solana/kit's channel pool already respects), at
// most MAX_CONNECTIONS_PER_IP sockets per client address, and MAX_UNSENT_BYTES of notifications
// waiting for a client that does not read — past that the socket is closed (1008, with the reason)
// instead of growing the ledger's memory. Requests from web pages (an Origin header) are refused:
// the ledger's clients are Axon nodes and Solana tools, not browsers (originRefusal in http.ts).
import { WebSocketServer, WebSocket } from 'ws';
import type { Logger } from 'pino';
import {
  errorResponse,
  INVALID_REQUEST,
  invalidParams,
  METHOD_NOT_FOUND,
  PARSE_ERROR,
  RpcError,
  stringifyJson,
  type JsonRpcId,
} from './rpc-errors';
import { address, commitment, config, paramList, required, signature } from './params';
import { accountEncoding, encodeAccount } from './methods-accounts';
import type { Commitment, SlotClock } from './clock';
import type { LandedTx } from './bank';
import type { LedgerStore } from './store';
import { MAX_BODY_BYTES, originRefusal } from './http';

export const MAX_SUBSCRIPTIONS_PER_SOCKET = 100;
export const MAX_CONNECTIONS_PER_IP = 128;
export const MAX_UNSENT_BYTES = 4 * 1024 * 1024;

type Kind = 'signature' | 'logs' | 'slot' | 'account';
interface Sub {
  id: number;
  kind: Kind;
  ws: WebSocket;
  commitment: Commitment;
  key?: string; // signature, mentioned address, or account address
  encoding?: ReturnType<typeof accountEncoding>;
  receivedNotification?: boolean;
}

const NOTIFICATION: Record<Kind, string> = {
  signature: 'signatureNotification',
  logs: 'logsNotification',
  slot: 'slotNotification',
  account: 'accountNotification',
};

export class PubSubServer {
  readonly wss: WebSocketServer;
  private nextId = 1;
  private readonly subs = new Map<number, Sub>();
  private readonly byKey = {
    signature: new Map<string, Set<Sub>>(),
    logs: new Map<string, Set<Sub>>(),
    account: new Map<string, Set<Sub>>(),
  };
  private readonly allLogs = new Set<Sub>();
  private readonly slotSubs = new Set<Sub>();
  private readonly subsOf = new Map<WebSocket, number>();
  private readonly perIp = new Map<string, number>();

  constructor(
    opts: { server?: import('node:http').Server; port?: number; host?: string },
    private readonly clock: SlotClock,
    private readonly store: LedgerStore,
    private readonly log: Logger,
  ) {
    this.wss = new WebSocketServer({
      ...opts,
      maxPayload: MAX_BODY_BYTES,
      verifyClient: (info, done) => {
        const why = originRefusal(info.req.headers.origin);
        if (why) {
          log.debug({ origin: String(info.req.headers.origin).slice(0, 100) }, 'local ledger: pubsub origin refused');
          return done(false, 403, why);
        }
        const ip = info.req.socket.remoteAddress ?? '?';
        if ((this.perIp.get(ip) ?? 0) >= MAX_CONNECTIONS_PER_IP) {
          log.debug({ ip }, 'local ledger: pubsub connections per address exceeded');
          return done(false, 429, `Too many connections from ${ip} (max ${MAX_CONNECTIONS_PER_IP})`);
        }
        done(true);
      },
    });
    this.wss.on('connection', (ws, req) => {
      const ip = req.socket.remoteAddress ?? '?';
      this.perIp.set(ip, (this.perIp.get(ip) ?? 0) + 1);
      let gone = false;
      const drop = (): void => {
        if (gone) return;
        gone = true;
        const n = (this.perIp.get(ip) ?? 1) - 1;
        if (n <= 0) this.perIp.delete(ip);
        else this.perIp.set(ip, n);
        this.dropSocket(ws);
      };
      ws.on('message', (data, isBinary) => this.onMessage(ws, isBinary ? null : data.toString()));
      ws.on('close', drop);
      ws.on('error', drop);
    });
    this.wss.on('error', (e) => log.warn({ err: e.message }, 'local ledger: pubsub server error'));
  }

  private send(ws: WebSocket, msg: unknown): void {
    if (ws.readyState !== WebSocket.OPEN) return;
    if (ws.bufferedAmount > MAX_UNSENT_BYTES) {
      // a client that does not read: close it rather than hold its notifications in memory
      const reason = `client too slow: over ${MAX_UNSENT_BYTES} bytes of notifications unsent`;
      this.log.warn({ unsent: ws.bufferedAmount }, `local ledger: pubsub ${reason}, closing`);
      this.dropSocket(ws);
      ws.close(1008, reason);
      setTimeout(() => ws.terminate(), 1000).unref();
      return;
    }
    ws.send(stringifyJson(msg));
  }

  private notify(sub: Sub, result: unknown): void {
    this.send(sub.ws, { jsonrpc: '2.0', method: NOTIFICATION[sub.kind], params: { result, subscription: sub.id } });
  }

  private onMessage(ws: WebSocket, text: string | null): void {
    let msg: unknown;
    try {
      if (text === null) throw new Error('binary');
      msg = JSON.parse(text);
    } catch {
      this.send(ws, errorResponse(null, new RpcError(PARSE_ERROR, 'Parse error')));
      return;
    }
    const r = msg as { jsonrpc?: unknown; id?: unknown; method?: unknown; params?: unknown };
    const id: JsonRpcId = typeof r?.id === 'number' || typeof r?.id === 'string' ? r.id : null;
    if (
      typeof msg !== 'object' ||
      msg === null ||
      Array.isArray(msg) ||
      r.jsonrpc !== '2.0' ||
      typeof r.method !== 'string'
    ) {
      this.send(ws, errorResponse(id, new RpcError(INVALID_REQUEST, 'Invalid request')));
      return;
    }
    if (r.method === 'ping' && r.id === undefined) return; // @solana/kit's keep-alive
    try {
      const result = this.call(ws, r.method, paramList(r.params), id);
      if (result !== undefined) this.send(ws, { jsonrpc: '2.0', result, id });
    } catch (e) {
      if (!(e instanceof RpcError))
        this.log.warn({ method: r.method, err: (e as Error)?.message }, 'local ledger: pubsub call failed');
      this.send(ws, errorResponse(id, e));
    }
  }

  private add(sub: Omit<Sub, 'id'>): Sub {
    const count = this.subsOf.get(sub.ws) ?? 0;
    if (count >= MAX_SUBSCRIPTIONS_PER_SOCKET) {
      throw new RpcError(
        INVALID_REQUEST,
        `Too many subscriptions on this connection (max ${MAX_SUBSCRIPTIONS_PER_SOCKET}); unsubscribe or open another connection`,
      );
    }
    this.subsOf.set(sub.ws, count + 1);
    const s: Sub = { ...sub, id: this.nextId++ };
    this.subs.set(s.id, s);
    if (s.kind === 'slot') this.slotSubs.add(s);
    else if (s.kind === 'logs' && s.key === undefined) this.allLogs.add(s);
    else {
      const map = this.byKey[s.kind];
      let set = map.get(s.key!);
      if (!set) map.set(s.key!, (set = new Set()));
      set.add(s);
    }
    return s;
  }

  private remove(s: Sub): void {
    if (!this.subs.delete(s.id)) return;
    const count = (this.subsOf.get(s.ws) ?? 1) - 1;
    if (count <= 0) this.subsOf.delete(s.ws);
    else this.subsOf.set(s.ws, count);
    if (s.kind === 'slot') this.slotSubs.delete(s);
    else if (s.kind === 'logs' && s.key === undefined) this.allLogs.delete(s);
    else {
      const map = this.byKey[s.kind];
      const set = map.get(s.key!);
      set?.delete(s);
      if (set?.size === 0) map.delete(s.key!);
    }
  }

  private dropSocket(ws: WebSocket): void {
    for (const s of this.subs.values()) if (s.ws === ws) this.remove(s);
  }

  private call(ws: WebSocket, method: string, p: unknown[], id: JsonRpcId): unknown {
    switch (method) {
      case 'signatureSubscribe': {
        const sig = required(p, 0, signature, 'signature');
        const cfg = config(p[1]);
        const c = commitment(cfg);
        const sub = this.add({
          kind: 'signature',
          ws,
          commitment: c,
          key: sig,
          receivedNotification: cfg.enableReceivedNotification === true,
        });
        this.send(ws, { jsonrpc: '2.0', result: sub.id, id });
        // Already there at this commitment: answer at once (the transaction landed before).
        const st = this.store.status(sig);
        if (st && st.slot <= this.clock.commitmentSlot(c)) {
          this.notify(sub, { context: { slot: st.slot }, value: { err: st.err } });
          this.remove(sub);
        }
        return undefined;
      }
      case 'logsSubscribe': {
        const filter = p[0];
        const cfg = config(p[1]);
        const c = commitment(cfg);
        let key: string | undefined;
        if (filter === 'all' || filter === 'allWithVotes') key = undefined;
        else if (
          typeof filter === 'object' &&
          filter !== null &&
          Array.isArray((filter as { mentions?: unknown }).mentions)
        ) {
          const mentions = (filter as { mentions: unknown[] }).mentions;
          if (mentions.length !== 1) throw invalidParams('Invalid Request: Only 1 address supported');
          key = address(mentions[0]);
        } else throw invalidParams('Invalid filter: expected "all", "allWithVotes" or {"mentions": [address]}');
        return this.add({ kind: 'logs', ws, commitment: c, key }).id;
      }
      case 'slotSubscribe':
        return this.add({ kind: 'slot', ws, commitment: 'processed' }).id;
      case 'accountSubscribe': {
        const addr = required(p, 0, address, 'pubkey');
        const cfg = config(p[1]);
        return this.add({
          kind: 'account',
          ws,
          commitment: commitment(cfg),
          key: addr,
          encoding: accountEncoding(cfg, 'binary'),
        }).id;
      }
      case 'signatureUnsubscribe':
      case 'logsUnsubscribe':
      case 'slotUnsubscribe':
      case 'accountUnsubscribe': {
        const subId = p[0];
        const s = typeof subId === 'number' ? this.subs.get(subId) : undefined;
        if (!s || s.ws !== ws || `${s.kind}Unsubscribe` !== method) throw invalidParams('Invalid subscription id.');
        this.remove(s);
        return true;
      }
      default:
        throw new RpcError(METHOD_NOT_FOUND, 'Method not found');
    }
  }

  /** A transaction reached `level` (called once per level by the CommitmentFeed). */
  deliver(tx: LandedTx, level: Commitment): void {
    const sigSubs = this.byKey.signature.get(tx.signature);
    if (sigSubs) {
      for (const s of [...sigSubs]) {
        if (level === 'processed' && s.receivedNotification && s.commitment !== 'processed') {
          this.notify(s, { context: { slot: tx.slot }, value: 'receivedSignature' });
        }
        if (s.commitment !== level) continue;
        this.notify(s, { context: { slot: tx.slot }, value: { err: tx.err } });
        this.remove(s);
      }
    }
    const logValue = { context: { slot: tx.slot }, value: { err: tx.err, logs: tx.logs, signature: tx.signature } };
    for (const s of this.allLogs) if (s.commitment === level) this.notify(s, logValue);
    const seen = new Set<Sub>();
    for (const key of tx.accountKeys) {
      const set = this.byKey.logs.get(key);
      if (!set) continue;
      for (const s of set) {
        if (s.commitment !== level || seen.has(s)) continue;
        seen.add(s);
        this.notify(s, logValue);
      }
    }
    for (const acc of tx.accounts) {
      const set = this.byKey.account.get(acc.address);
      if (!set) continue;
      for (const s of set) {
        if (s.commitment !== level) continue;
        try {
          this.notify(s, { context: { slot: tx.slot }, value: encodeAccount(acc, s.encoding ?? 'base64') });
        } catch (e) {
          if (!(e instanceof RpcError)) throw e;
          this.notify(s, { context: { slot: tx.slot }, value: encodeAccount(acc, 'base64') });
        }
      }
    }
  }

  onSlot(slot: number): void {
    if (this.slotSubs.size === 0) return;
    const result = { parent: Math.max(0, slot - 1), root: this.clock.commitmentSlot('finalized'), slot };
    for (const s of this.slotSubs) this.notify(s, result);
  }

  async close(): Promise<void> {
    for (const ws of this.wss.clients) ws.terminate();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }
}

/** Holds landed transactions until they are confirmed and finalized, then hands them to pubsub. */
export class CommitmentFeed {
  private readonly bySlot = new Map<number, LandedTx[]>();
  private confirmedUpTo: number;
  private finalizedUpTo: number;

  constructor(
    private readonly clock: SlotClock,
    private readonly pubsub: PubSubServer,
  ) {
    this.confirmedUpTo = clock.commitmentSlot('confirmed');
    this.finalizedUpTo = clock.commitmentSlot('finalized');
  }

  landed(tx: LandedTx): void {
    let list = this.bySlot.get(tx.slot);
    if (!list) this.bySlot.set(tx.slot, (list = []));
    list.push(tx);
    this.pubsub.deliver(tx, 'processed');
    if (tx.slot <= this.confirmedUpTo) this.pubsub.deliver(tx, 'confirmed');
    if (tx.slot <= this.finalizedUpTo) this.pubsub.deliver(tx, 'finalized');
  }

  onSlot(slot: number): void {
    const confirmed = this.clock.commitmentSlot('confirmed');
    for (let s = this.confirmedUpTo + 1; s <= confirmed; s++)
      for (const tx of this.bySlot.get(s) ?? []) this.pubsub.deliver(tx, 'confirmed');
    this.confirmedUpTo = Math.max(this.confirmedUpTo, confirmed);
    const finalized = this.clock.commitmentSlot('finalized');
    for (let s = this.finalizedUpTo + 1; s <= finalized; s++) {
      for (const tx of this.bySlot.get(s) ?? []) this.pubsub.deliver(tx, 'finalized');
      this.bySlot.delete(s);
    }
    this.finalizedUpTo = Math.max(this.finalizedUpTo, finalized);
    this.pubsub.onSlot(slot);
  }
}
