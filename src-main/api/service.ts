// Runs in: Node (Electron main or the headless bridge). The app API: every command the UI can
// call goes through ApiService.call, which checks the command name, validates the arguments with
// zod, runs the backend and answers with an ApiResult (never throws). Events from the backend are
// fanned out to every subscriber (IPC window, bridge WebSockets).
import type { z } from 'zod';
import {
  COMMAND_NAMES,
  type ApiResult,
  type AxonCommands,
  type AxonEventName,
  type AxonEvents,
  type CommandName,
} from '../../src-shared/contract/api';
import { commandArgs } from './schemas';
import { toErrorInfo } from './errors';

type MaybePromise<T> = T | Promise<T>;

/** What the API runs on: the commands (arguments already validated) and an event source. */
export type AxonBackend = {
  [K in CommandName]: (...args: Parameters<AxonCommands[K]>) => MaybePromise<Awaited<ReturnType<AxonCommands[K]>>>;
} & {
  subscribe(sink: EventSink): () => void;
};

export type EventSink = <E extends AxonEventName>(event: E, payload: AxonEvents[E]) => void;

export interface ApiServiceOptions {
  /** Called for failures that are not the user's input (for the log). */
  onError?: (command: string, err: unknown) => void;
}

function describeIssues(err: z.ZodError): string {
  return err.issues
    .map((i) => {
      // path[0] is the argument position; the rest is the field inside it.
      const field = i.path.slice(1).join('.');
      return field ? `${field}: ${i.message}` : i.message;
    })
    .join('; ');
}

export class ApiService {
  readonly #backend: AxonBackend;
  readonly #opts: ApiServiceOptions;
  readonly #sinks = new Set<EventSink>();
  #unsubscribeBackend: (() => void) | null = null;

  constructor(backend: AxonBackend, opts: ApiServiceOptions = {}) {
    this.#backend = backend;
    this.#opts = opts;
  }

  async call(command: unknown, args: unknown): Promise<ApiResult> {
    if (typeof command !== 'string' || !(COMMAND_NAMES as readonly string[]).includes(command)) {
      return {
        ok: false,
        error: {
          code: 'unknown-command',
          message: `unknown command '${String(command).slice(0, 60)}'`,
          hint: 'The UI and the node are from different versions: restart Axon.',
        },
      };
    }
    const name = command as CommandName;
    const parsed = commandArgs[name].safeParse(Array.isArray(args) ? trimUndefined(args) : args);
    if (!parsed.success) {
      const field = parsed.error.issues[0]?.path.slice(1).join('.');
      return {
        ok: false,
        error: {
          code: 'invalid-argument',
          message: `${name}: ${describeIssues(parsed.error)}`,
          hint: field ? 'Correct the highlighted value and try again.' : 'Correct the value and try again.',
          ...(field ? { field } : {}),
        },
      };
    }
    try {
      const fn = this.#backend[name] as (...a: unknown[]) => unknown;
      const value = await fn.apply(this.#backend, parsed.data as unknown[]);
      return { ok: true, value: value ?? null };
    } catch (e) {
      this.#opts.onError?.(name, e);
      return { ok: false, error: toErrorInfo(e) };
    }
  }

  /** Receive every event; returns the function that stops it. */
  subscribe(sink: EventSink): () => void {
    this.#sinks.add(sink);
    if (!this.#unsubscribeBackend) {
      this.#unsubscribeBackend = this.#backend.subscribe((event, payload) => {
        for (const s of this.#sinks) {
          try {
            s(event, payload);
          } catch (e) {
            this.#opts.onError?.(`event:${event}`, e);
          }
        }
      });
    }
    return () => {
      this.#sinks.delete(sink);
    };
  }

  close(): void {
    this.#unsubscribeBackend?.();
    this.#unsubscribeBackend = null;
    this.#sinks.clear();
  }
}

/** JSON drops trailing `undefined`s; IPC keeps them. Treat both alike for optional arguments. */
function trimUndefined(args: unknown[]): unknown[] {
  let n = args.length;
  while (n > 0 && args[n - 1] === undefined) n--;
  return args.slice(0, n);
}
