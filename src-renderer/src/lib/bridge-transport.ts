// Runs in: the browser (headless UI). The API transport over the bridge: commands as
// POST <base>api/call/<command>, events over one WebSocket that reconnects by itself.
// <base> is /t/<token>/ — the page's own path, so the token never has to be copied around.
import type { ApiResult, ApiTransport, AxonEventName, CommandName } from '../../../src-shared/contract/api';

export type LinkState = 'connecting' | 'open' | 'closed';

export function bridgeBase(): string {
  const m = /^(\/t\/[A-Za-z0-9_-]+\/)/.exec(location.pathname);
  return m?.[1] ?? '/';
}

export function createBridgeTransport(onLink: (s: LinkState) => void): ApiTransport {
  const base = bridgeBase();
  return {
    async call(command: CommandName, args: unknown[]): Promise<ApiResult> {
      let res: Response;
      try {
        res = await fetch(`${base}api/call/${command}`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify({ args }),
          cache: 'no-store',
        });
      } catch {
        return {
          ok: false,
          error: {
            code: 'disconnected',
            message: 'Axon is not answering (the headless node stopped or restarted).',
            hint: 'Start it again with `npm start` (or `axon serve --ui`) and open the new URL it prints.',
          },
        };
      }
      if (res.status !== 200) {
        return {
          ok: false,
          error: {
            code: `http-${res.status}`,
            message: (await res.text()).trim() || `the node answered HTTP ${res.status}`,
            hint: 'Reopen the exact URL printed by `axon serve --ui` (it holds the access token).',
          },
        };
      }
      return (await res.json()) as ApiResult;
    },
    subscribe(sink) {
      let ws: WebSocket | null = null;
      let stopped = false;
      let delay = 500;
      const open = () => {
        if (stopped) return;
        onLink('connecting');
        const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
        ws = new WebSocket(`${proto}//${location.host}${base}api/events`);
        ws.onopen = () => {
          delay = 500;
          onLink('open');
        };
        ws.onmessage = (m) => {
          try {
            const { event, payload } = JSON.parse(String(m.data)) as { event: AxonEventName; payload: unknown };
            sink(event, payload);
          } catch {
            /* not ours: ignore */
          }
        };
        ws.onclose = () => {
          onLink('closed');
          if (!stopped) setTimeout(open, (delay = Math.min(delay * 2, 10_000)));
        };
      };
      open();
      return () => {
        stopped = true;
        ws?.close();
      };
    },
  };
}
