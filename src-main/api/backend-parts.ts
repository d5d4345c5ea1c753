// Runs in: Node. The small parts createNodeBackend (node-backend.ts) is made of, each doing one
// thing: the event fan-out to the UI's sinks, the ledger health probe behind the status' error
// state, and the tray's "Pause selling" (which streams it paused, so it resumes only those).
import type { ApiErrorInfo, AxonEventName, AxonEvents } from '../../src-shared/contract/api';
import type { EventSink } from './service';

/** Fans node events out to every subscribed sink (the IPC bridge, WebSocket clients, tests). */
export class EventHub {
  readonly #sinks = new Set<EventSink>();
  subscribe(sink: EventSink): () => void {
    this.#sinks.add(sink);
    return () => this.#sinks.delete(sink);
  }
  emit<E extends AxonEventName>(event: E, payload: AxonEvents[E]): void {
    for (const s of this.#sinks) s(event, payload);
  }
  clear(): void {
    this.#sinks.clear();
  }
}

/** Is the ledger answering? `probe` asks it once; `changed` runs when the answer flips. */
export class LedgerHealth {
  #problem: ApiErrorInfo | null = null;
  #probing = false;
  constructor(
    private readonly ask: () => Promise<unknown>,
    private readonly changed: () => void,
  ) {}
  get problem(): ApiErrorInfo | null {
    return this.#problem;
  }
  async probe(): Promise<void> {
    if (this.#probing) return;
    this.#probing = true;
    const before = this.#problem;
    try {
      await this.ask();
      this.#problem = null;
    } catch (e) {
      this.#problem = {
        code: 'ledger-unreachable',
        message: `The ledger does not answer: ${(e as Error).message}`,
        hint: 'Check the network and the cluster in Settings; for the local cluster, run `axon ledger`. Axon keeps retrying.',
      };
    } finally {
      this.#probing = false;
    }
    if (Boolean(before) !== Boolean(this.#problem)) this.changed();
  }
}

/** The tray's "Pause selling": pauses every running stream and later resumes exactly those. */
export class SellingPause {
  readonly #pausedHere = new Set<string>();
  #paused = false;
  constructor(
    private readonly streams: () => { streamId: string; paused: boolean }[],
    private readonly pause: (streamId: string) => Promise<void>,
    private readonly unpause: (streamId: string) => Promise<void>,
  ) {}
  get paused(): boolean {
    return this.#paused;
  }
  async set(paused: boolean): Promise<void> {
    if (paused) {
      for (const s of this.streams()) {
        if (s.paused) continue;
        await this.pause(s.streamId);
        this.#pausedHere.add(s.streamId);
      }
    } else {
      for (const id of this.#pausedHere) await this.unpause(id).catch(() => undefined);
      this.#pausedHere.clear();
    }
    this.#paused = paused;
  }
}
