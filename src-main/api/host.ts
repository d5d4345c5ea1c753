// Runs in: Node (Electron main or `axon serve`). Starts AxonNode for a UI and returns the API
// backend over it. PLACEHOLDER until src-main/core/node.ts exists (see docs/app.md).
import type { DataPaths } from '../core/paths';
import type { Settings } from '../core/settings';
import type { Logger } from '../core/log';
import type { AxonBackend } from './service';

export interface HostOptions {
  dataDir?: string;
  logLevel?: string;
  /** Present inside Electron: capabilities only the desktop app has. */
  electron?: { setStartOnLogin(on: boolean): void };
}

export interface AxonHost {
  backend: AxonBackend;
  paths: DataPaths;
  settings: Settings;
  log: Logger;
  close(): Promise<void>;
}

export async function startHost(_opts: HostOptions = {}): Promise<AxonHost> {
  throw new Error('AxonNode (src-main/core/node.ts) is not available yet');
}
