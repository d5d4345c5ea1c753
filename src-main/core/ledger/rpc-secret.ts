// Runs in: Node. An RPC URL that carries an API key (https://host/?api-key=…, https://host/<token>/)
// is a secret: it is kept in the OS keychain (service "axon", account "rpc-url-<data dir hash>"),
// or - where no keychain service exists - in a 0600 file in the data directory, the same fallback
// as the identity key (identity/keystore.ts). Never in settings.json, never in a log: what is
// shown of it is redactUrl(url).
import { Entry } from '@napi-rs/keyring';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { KEYCHAIN_SERVICE, KeychainStore } from '../identity/keystore';

export interface RpcSecretOptions {
  /** auto (default): the keychain if a service answers, else the 0600 file (AXON_KEYSTORE too). */
  store?: 'auto' | 'keychain' | 'file';
}

export function rpcSecretAccount(dataDir: string): string {
  return `rpc-url-${createHash('sha256').update(dataDir).digest('hex').slice(0, 16)}`;
}

function entry(account: string): Entry {
  return new Entry(KEYCHAIN_SERVICE, account, { linux: { store: 'secret-service' } } as never);
}

/** An http(s) URL, or a specific reason why not. */
export function checkRpcUrl(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new Error('not a URL (expected https://host/… with the API key in it)');
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new Error(`an RPC URL is http(s), got ${u.protocol}`);
  return u.toString();
}

/** What may be shown of an RPC URL: scheme, host and port only (a key in the path, query or user part stays out). */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    const hidden = u.pathname.length > 1 || u.search || u.username || u.password;
    return `${u.protocol}//${u.host}${hidden ? '/…' : ''}`;
  } catch {
    return '(unreadable URL)';
  }
}

export class RpcSecretStore {
  readonly #account: string;
  readonly #file: string;
  readonly #want: 'auto' | 'keychain' | 'file';

  constructor(dataDir: string, o: RpcSecretOptions = {}) {
    this.#account = rpcSecretAccount(dataDir);
    this.#file = join(dataDir, 'rpc-url.secret');
    this.#want = o.store ?? (process.env.AXON_KEYSTORE as RpcSecretOptions['store']) ?? 'auto';
  }

  /** The stored URL, or null. The file is read when the keychain has none (or is absent). */
  get(): string | null {
    if (this.#want !== 'file') {
      try {
        const v = entry(this.#account).getPassword();
        if (v) return v;
      } catch {
        /* no keychain service here: the file */
      }
    }
    if (!existsSync(this.#file)) return null;
    return readFileSync(this.#file, 'utf8').trim() || null;
  }

  /** Store `url` (validated); returns where it went. */
  set(url: string): { where: 'keychain' | 'file' } {
    const clean = checkRpcUrl(url.trim());
    if (this.#want !== 'file' && KeychainStore.probe().ok) {
      entry(this.#account).setPassword(clean);
      rmSync(this.#file, { force: true });
      return { where: 'keychain' };
    }
    if (this.#want === 'keychain') throw new Error('the OS keychain is not usable here');
    const tmp = `${this.#file}.tmp`;
    writeFileSync(tmp, clean + '\n', { mode: 0o600 });
    chmodSync(tmp, 0o600);
    renameSync(tmp, this.#file);
    return { where: 'file' };
  }

  clear(): void {
    try {
      entry(this.#account).deletePassword();
    } catch {
      /* none stored, or no keychain */
    }
    rmSync(this.#file, { force: true });
  }
}
