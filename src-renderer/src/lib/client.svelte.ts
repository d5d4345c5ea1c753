// Runs in: the renderer. The UI's ONE API client: window.axon (the preload) inside Electron,
// the HTTP/WebSocket bridge in a browser. Both have the same typed interface.
import { createApiClient, type AxonApi } from '../../../src-shared/contract/api';
import { createBridgeTransport, type LinkState } from './bridge-transport';

declare global {
  interface Window {
    axon?: AxonApi;
  }
}

export const link = $state<{ state: LinkState; electron: boolean }>({ state: 'connecting', electron: false });

function makeClient(): AxonApi {
  if (window.axon) {
    link.electron = true;
    link.state = 'open';
    return window.axon;
  }
  return createApiClient(createBridgeTransport((s) => (link.state = s)));
}

export const api: AxonApi = makeClient();
