// Runs in: Node. Which events deserve a desktop notification (Electron shows them; kept here,
// free of Electron, so it is tested in plain Node): a new buyer, a payment received, a lost
// connection, a purchase that ended (cap reached, seller stopped; src-shared/contract/notices.ts),
// and errors the node reports.
import type { AxonEventName, AxonEvents } from '../../src-shared/contract/api';
import { formatSol, isFinal } from '../../src-shared/contract/api';
import { safeText } from '../../src-shared/contract/text';
import { PurchaseEndWatch } from '../../src-shared/contract/notices';

export interface DesktopNotice {
  title: string;
  body: string;
}

export class NotificationPolicy {
  readonly #salesSeen = new Set<string>();
  readonly #paymentsSeen = new Set<string>();
  readonly #connected = new Map<string, boolean>();
  readonly #purchases = new PurchaseEndWatch();

  /** Returns the notification to show for this event, if any. */
  decide<E extends AxonEventName>(event: E, payload: AxonEvents[E]): DesktopNotice | null {
    switch (event) {
      case 'sale': {
        const s = payload as AxonEvents['sale'];
        if (this.#salesSeen.has(s.id) || isFinal(s.state)) {
          this.#salesSeen.add(s.id);
          return null;
        }
        this.#salesSeen.add(s.id);
        return { title: 'New buyer', body: `${short(s.buyer)} bought ${safeText(s.streamId)} (${s.tier} tier).` };
      }
      case 'payment': {
        const p = payload as AxonEvents['payment'];
        if (p.direction !== 'in' || p.state !== 'verified' || this.#paymentsSeen.has(p.signature)) return null;
        this.#paymentsSeen.add(p.signature);
        return {
          title: 'Payment received',
          body: `${formatSol(p.lamports)} from ${short(p.counterparty)} (period ${p.period + 1}).`,
        };
      }
      case 'purchase': {
        const n = this.#purchases.update(payload as AxonEvents['purchase']);
        return n ? { title: n.title, body: safeText(n.body) } : null;
      }
      case 'peer': {
        const p = payload as AxonEvents['peer'];
        const was = this.#connected.get(p.peerId) ?? false;
        this.#connected.set(p.peerId, p.connected);
        if (was && !p.connected) {
          return {
            title: 'Connection lost',
            body: `Lost the connection to ${short(p.address)}. Axon tries to reconnect.`,
          };
        }
        return null;
      }
      case 'notice': {
        const n = payload as AxonEvents['notice'];
        // a notice may quote a stranger (a seller's reason, a peer error): no control characters
        return n.level === 'error' ? { title: safeText(n.title), body: safeText(n.message) } : null;
      }
      default:
        return null;
    }
  }
}

function short(a: string): string {
  return a.length > 12 ? `${a.slice(0, 4)}…${a.slice(-4)}` : a;
}

export type TrayState = 'serving' | 'idle' | 'error';

/** The tray icon for a node status. */
export function trayStateFor(status: AxonEvents['status'] | null): { state: TrayState; tooltip: string } {
  if (!status || status.state === 'starting') return { state: 'idle', tooltip: 'Axon — starting…' };
  if (status.state === 'error') return { state: 'error', tooltip: `Axon — ${status.error?.message ?? 'error'}` };
  if (status.serving && !status.sellingPaused) {
    return { state: 'serving', tooltip: `Axon — serving ${status.buyers} buyer${status.buyers === 1 ? '' : 's'}` };
  }
  return { state: 'idle', tooltip: status.sellingPaused ? 'Axon — selling paused' : 'Axon — idle' };
}
