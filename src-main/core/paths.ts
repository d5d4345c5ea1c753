// Runs in: Node. Where Axon keeps its data: per-OS conventions (env-paths), overridable by
// --data-dir or the AXON_DATA_DIR environment variable.
import envPaths from 'env-paths';
import { mkdirSync, chmodSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const DATA_DIR_ENV = 'AXON_DATA_DIR';

export function defaultDataDir(): string {
  return envPaths('axon', { suffix: '' }).data;
}

/** Resolve the data directory: explicit flag > AXON_DATA_DIR > per-OS default. */
export function resolveDataDir(flag?: string): string {
  const dir = flag ?? process.env[DATA_DIR_ENV] ?? defaultDataDir();
  return resolve(dir);
}

export interface DataPaths {
  root: string;
  db: string;
  log: string;
  keyFile: string;
  settings: string;
  ledger: string;
  /** The buyer's local endpoint token (0600): readers present it (docs/security.md). */
  endpointToken: string;
}

export function dataPaths(root: string): DataPaths {
  return {
    root,
    db: join(root, 'axon.sqlite'),
    log: join(root, 'axon.log'),
    keyFile: join(root, 'identity.key.json'),
    settings: join(root, 'settings.json'),
    ledger: join(root, 'ledger'),
    endpointToken: join(root, 'endpoint-token'),
  };
}

/** Create the data directory, readable by its owner only. */
export function ensureDataDir(root: string): DataPaths {
  mkdirSync(root, { recursive: true, mode: 0o700 });
  try {
    chmodSync(root, 0o700);
  } catch {
    /* not ours to change (e.g. a shared mount): the key file itself is still 0600 */
  }
  return dataPaths(root);
}
