// Runs in: Node. Background work of the buyer side (timer callbacks, stops posting ServiceStop,
// closing streams and files): never an unhandled rejection (a failure is logged), and shutdown
// can wait for whatever is still under way (bounded).
import type { Logger } from '../log';

export class BackgroundTasks {
  #tasks = new Set<Promise<void>>();

  constructor(private readonly log: Logger) {}

  /** How many tasks are still under way. */
  get size(): number {
    return this.#tasks.size;
  }

  /** Run `task` in the background; a failure is logged as "`what` failed". */
  run(what: string, task: () => Promise<unknown>): void {
    const p: Promise<void> = (async () => {
      try {
        await task();
      } catch (e) {
        this.log.warn({ err: (e as Error).message }, `${what} failed`);
      }
    })().finally(() => this.#tasks.delete(p));
    this.#tasks.add(p);
  }

  /** Resolves when every task under way has settled, or after `ms`, whichever comes first. */
  settle(ms: number): Promise<unknown> {
    return Promise.race([Promise.allSettled([...this.#tasks]), new Promise((r) => setTimeout(r, ms).unref())]);
  }
}
