// Runs in: the Electron preload (sandboxed, contextIsolation on; bundled into ONE CommonJS file
// that requires only 'electron'). Exposes the typed app API as `window.axon`: commands go to the
// main process over one IPC channel and events come back over another. No Node or Electron
// object ever reaches the page.
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';
import {
  createApiClient,
  EVENT_NAMES,
  IPC_CALL,
  IPC_EVENT,
  type ApiResult,
  type ApiTransport,
  type AxonEventName,
} from '../src-shared/contract/api';

const transport: ApiTransport = {
  call: (command, args) => ipcRenderer.invoke(IPC_CALL, command, args) as Promise<ApiResult>,
  subscribe(sink) {
    const listener = (_e: IpcRendererEvent, event: unknown, payload: unknown) => {
      if (typeof event === 'string' && (EVENT_NAMES as readonly string[]).includes(event)) {
        sink(event as AxonEventName, payload);
      }
    };
    ipcRenderer.on(IPC_EVENT, listener);
    return () => ipcRenderer.off(IPC_EVENT, listener);
  },
};

// Errors crossing contextBridge keep only their message: encode the hint into it.
contextBridge.exposeInMainWorld('axon', createApiClient(transport, { encodeErrors: true }));
