// Runs in: Node. The ladder's signaling channel over the ledger: further punch rounds travel as
// PunchSync messages on the peer's stdin topic — the round number, its punchAt and my fresh
// ConnectInfo (new ICE candidates, current NAT verdict) sealed to the peer. One channel per
// purchase/sale, open from the request/accept until the trade ends; a PunchSync for an unknown
// request, from anyone but that trade's peer, or that does not open, is dropped and logged.
import type { Address } from '@solana/kit';
import type { Identity } from '../identity/identity';
import type { Logger } from '../log';
import type { LedgerClient, PunchSync, Received } from '../ledger/types';
import { newNonce, expiresIn } from '../ledger/messages';
import { seal, open } from '../ledger/crypto';
import { decodeConnectInfo, encodeConnectInfo, type ConnectInfo } from '../net/connect-info';
import { Mailbox } from '../net/signaling';
import type { Signaling } from '../net/types';

/** A PunchSync stays valid this long (a round older than that is over anyway). */
const PUNCH_SYNC_TTL_SEC = 120;

export class PunchSignals {
  readonly #channels = new Map<string, { peer: Address; box: Mailbox }>();

  constructor(
    private readonly identity: Identity,
    private readonly postTo: (peer: Address, msg: PunchSync) => ReturnType<LedgerClient['post']>,
    private readonly log: Logger,
  ) {}

  /** The channel of one trade (created once; the same one on later calls). */
  channel(requestId: string, peer: Address): Signaling {
    let c = this.#channels.get(requestId);
    if (!c || c.peer !== peer) {
      c = { peer, box: new Mailbox() };
      this.#channels.set(requestId, c);
    }
    const box = c.box;
    return {
      send: async (info, round) => {
        const { v, addrs, relays, ice, nat }: ConnectInfo = info;
        const nonce = newNonce();
        const sealed = seal(encodeConnectInfo({ v, addrs, relays, ...(ice ? { ice } : {}), ...(nat ? { nat } : {}) }), {
          sender: this.identity,
          recipient: peer,
          type: 'PunchSync',
          nonce,
        });
        await this.postTo(peer, {
          type: 'PunchSync',
          nonce,
          expiresAt: expiresIn(PUNCH_SYNC_TTL_SEC),
          requestId,
          round: Math.min(255, round?.round ?? 0),
          punchAt: round?.punchAt ?? Date.now(),
          sealed,
        });
        this.log.debug({ requestId, round: round?.round }, 'PunchSync sent');
      },
      receive: (signal) => box.take(signal),
    };
  }

  /** A PunchSync from our stdin topic. */
  onPunchSync(rx: Received<PunchSync>): void {
    const m = rx.message;
    const c = this.#channels.get(m.requestId);
    if (!c) return void this.log.debug({ requestId: m.requestId }, 'PunchSync for no open trade: dropped');
    if (c.peer !== rx.sender)
      return void this.log.warn(
        { requestId: m.requestId, sender: rx.sender },
        "PunchSync from someone other than the trade's peer: dropped",
      );
    let info: ConnectInfo;
    try {
      info = decodeConnectInfo(
        open(m.sealed, { recipient: this.identity, sender: rx.sender, type: 'PunchSync', nonce: m.nonce }),
      );
    } catch (e) {
      return void this.log.warn(
        { requestId: m.requestId, err: (e as Error).message },
        'PunchSync does not open: dropped',
      );
    }
    c.box.put({ ...info, round: m.round, punchAt: m.punchAt });
  }

  /** The trade ended: its channel closes (later PunchSyncs are dropped). */
  close(requestId: string): void {
    this.#channels.delete(requestId);
  }
}
