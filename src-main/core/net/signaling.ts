// Runs in: Node. An in-process Signaling pair: a real channel between two nodes in one process
// (tests, benchmarks). The market implements Signaling over the ledger (sealed messages).
import type { ConnectInfo } from './connect-info';
import type { RoundMeta, Signaling } from './types';

type Signal = ConnectInfo & Partial<RoundMeta>;

/** A queue of signals with abortable waiters (also used by the market's ledger signaling). */
export class Mailbox {
  #queue: Signal[] = [];
  #waiters: ((i: Signal) => void)[] = [];
  put(info: Signal): void {
    const w = this.#waiters.shift();
    if (w) w(info);
    else this.#queue.push(info);
  }
  take(signal?: AbortSignal): Promise<Signal> {
    const next = this.#queue.shift();
    if (next) return Promise.resolve(next);
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const onAbort = (): void => {
        this.#waiters = this.#waiters.filter((w) => w !== waiter);
        reject(signal!.reason);
      };
      const waiter = (i: Signal): void => {
        signal?.removeEventListener('abort', onAbort);
        resolve(i);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#waiters.push(waiter);
    });
  }
}

/** Two ends of one channel; what `a` sends `b` receives and vice versa. `delayMs` simulates the ledger's latency. */
export function createMemorySignalingPair(delayMs = 0): [Signaling, Signaling] {
  const toA = new Mailbox();
  const toB = new Mailbox();
  const end = (inbox: Mailbox, outbox: Mailbox): Signaling => ({
    async send(info, round) {
      const copy: Signal = { ...structuredClone(info), ...round };
      if (delayMs > 0) setTimeout(() => outbox.put(copy), delayMs);
      else outbox.put(copy);
    },
    receive: (signal) => inbox.take(signal),
  });
  return [end(toA, toB), end(toB, toA)];
}
