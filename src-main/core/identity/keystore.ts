// Runs in: Node. Where the identity's secret lives: the OS keychain (macOS Keychain, Windows
// Credential Manager, Linux Secret Service) through @napi-rs/keyring, or - where no keychain
// service exists, e.g. a headless server - a 0600 file in the data directory.
// A small pointer file (identity.json, no secret) records which store holds the key.
import { Entry } from '@napi-rs/keyring';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync, renameSync, chmodSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { Identity, IdentityError } from './identity';
import type { Logger } from '../log';

export const KEYCHAIN_SERVICE = 'axon';
export type KeyStoreKind = 'keychain' | 'file';

export interface KeyStore {
  readonly kind: KeyStoreKind;
  /** Human-readable place, e.g. "OS keychain (Secret Service), service axon, account …". */
  readonly where: string;
  load(): Uint8Array | null;
  save(keypair: Uint8Array): void;
  delete(): void;
}

function keychainEntry(account: string): Entry {
  // Without `secret-service`, @napi-rs/keyring silently uses the kernel keyring on Linux
  // (memory only, lost at reboot). We want the persistent Secret Service or nothing.
  return new Entry(KEYCHAIN_SERVICE, account, { linux: { store: 'secret-service' } } as never);
}

export class KeychainStore implements KeyStore {
  readonly kind = 'keychain' as const;
  readonly where: string;
  constructor(readonly account: string) {
    this.where = `OS keychain (${process.platform === 'linux' ? 'Secret Service' : process.platform === 'darwin' ? 'macOS Keychain' : 'Credential Manager'}), service "${KEYCHAIN_SERVICE}", account "${account}"`;
  }
  load(): Uint8Array | null {
    const v = keychainEntry(this.account).getPassword();
    if (v == null) return null;
    const bytes = Buffer.from(v, 'base64');
    if (bytes.length !== 64) throw new IdentityError(`keychain item ${this.account} is not a 64-byte keypair`);
    return new Uint8Array(bytes);
  }
  save(keypair: Uint8Array): void {
    keychainEntry(this.account).setPassword(Buffer.from(keypair).toString('base64'));
  }
  delete(): void {
    keychainEntry(this.account).deletePassword();
  }
  /** Is a usable keychain service here? Probes with a throwaway item. */
  static probe(): { ok: true } | { ok: false; reason: string } {
    try {
      const probe = keychainEntry(`probe-${process.pid}-${Date.now()}`);
      probe.setPassword('probe');
      const back = probe.getPassword();
      probe.deletePassword();
      if (back !== 'probe') return { ok: false, reason: 'keychain did not return what was stored' };
      return { ok: true };
    } catch (e) {
      return { ok: false, reason: (e as Error).message };
    }
  }
}

export class FileStore implements KeyStore {
  readonly kind = 'file' as const;
  readonly where: string;
  constructor(readonly file: string) {
    this.where = `file ${file} (mode 0600)`;
  }
  load(): Uint8Array | null {
    if (!existsSync(this.file)) return null;
    const mode = statSync(this.file).mode & 0o777;
    if (mode & 0o077) chmodSync(this.file, 0o600);
    return Identity.fromSolanaKeygenJson(readFileSync(this.file, 'utf8')).keypairBytes();
  }
  save(keypair: Uint8Array): void {
    const tmp = `${this.file}.tmp`;
    writeFileSync(tmp, JSON.stringify(Array.from(keypair)), { mode: 0o600 });
    chmodSync(tmp, 0o600);
    renameSync(tmp, this.file);
  }
  delete(): void {
    rmSync(this.file, { force: true });
  }
}

const PointerSchema = z.object({
  version: z.literal(1),
  address: z.string(),
  peerId: z.string(),
  store: z.enum(['keychain', 'file']),
  account: z.string().optional(),
});
type Pointer = z.infer<typeof PointerSchema>;

export interface OpenIdentityOptions {
  dataDir: string;
  /** auto (default): keychain if a service answers, else the 0600 file. */
  store?: 'auto' | KeyStoreKind;
  log?: Logger;
}

export interface OpenedIdentity {
  identity: Identity;
  store: KeyStore;
  created: boolean;
  /** Why the file store is used although a keychain was wanted (said once, at start). */
  fallbackReason?: string;
}

export function keychainAccountFor(dataDir: string): string {
  return `identity-${createHash('sha256').update(dataDir).digest('hex').slice(0, 16)}`;
}

function pointerPath(dataDir: string): string {
  return join(dataDir, 'identity.json');
}

function chooseStore(opts: OpenIdentityOptions): { store: KeyStore; fallbackReason?: string } {
  const want = opts.store ?? (process.env.AXON_KEYSTORE as OpenIdentityOptions['store']) ?? 'auto';
  const file = new FileStore(join(opts.dataDir, 'identity.key.json'));
  if (want === 'file') return { store: file };
  const probe = KeychainStore.probe();
  if (probe.ok) return { store: new KeychainStore(keychainAccountFor(opts.dataDir)) };
  if (want === 'keychain') throw new IdentityError(`the OS keychain is not usable here: ${probe.reason}`);
  return { store: file, fallbackReason: probe.reason };
}

/** Load this installation's identity, creating and storing one on first start. */
export function openIdentity(opts: OpenIdentityOptions): OpenedIdentity {
  const ptrFile = pointerPath(opts.dataDir);
  if (existsSync(ptrFile)) {
    const parsed = PointerSchema.safeParse(JSON.parse(readFileSync(ptrFile, 'utf8')));
    if (!parsed.success) throw new IdentityError(`${ptrFile} is damaged: ${parsed.error.issues[0]?.message}`);
    const p = parsed.data;
    const store: KeyStore =
      p.store === 'keychain'
        ? new KeychainStore(p.account ?? keychainAccountFor(opts.dataDir))
        : new FileStore(join(opts.dataDir, 'identity.key.json'));
    let bytes: Uint8Array | null;
    try {
      bytes = store.load();
    } catch (e) {
      throw new IdentityError(`cannot read the key from ${store.where}: ${(e as Error).message}`);
    }
    if (!bytes) throw new IdentityError(`the key for ${p.address} is missing from ${store.where}`);
    const identity = Identity.fromKeypairBytes(bytes);
    if (identity.address !== p.address) {
      throw new IdentityError(`the key in ${store.where} is ${identity.address}, expected ${p.address}`);
    }
    return { identity, store, created: false };
  }
  const { store, fallbackReason } = chooseStore(opts);
  if (fallbackReason) {
    opts.log?.warn(
      { reason: fallbackReason, keyFile: store.where },
      'no OS keychain service is available; the identity key is kept in a 0600 file in the data directory',
    );
  }
  const identity = Identity.generate();
  persist(opts.dataDir, identity, store);
  return { identity, store, created: true, fallbackReason };
}

function persist(dataDir: string, identity: Identity, store: KeyStore): void {
  store.save(identity.keypairBytes());
  const ptr: Pointer = {
    version: 1,
    address: identity.address,
    peerId: identity.peerId.toString(),
    store: store.kind,
    account: store instanceof KeychainStore ? store.account : undefined,
  };
  const tmp = `${pointerPath(dataDir)}.tmp`;
  writeFileSync(tmp, JSON.stringify(ptr, null, 2) + '\n', { mode: 0o600 });
  renameSync(tmp, pointerPath(dataDir));
}

export interface ImportOptions {
  /** Drop the current key instead of keeping a backup of it (`axon id import --discard-old`). */
  discardOld?: boolean;
  now?: Date;
}

/**
 * Replace this installation's identity by an imported one (Solana CLI keypair format).
 * The current key is first written to a dated 0600 backup file in the data directory
 * (identity-backup-<UTC time>-<address>.json, Solana CLI format, whichever store held it), unless
 * `discardOld`; a current key that cannot be read stops the import (nothing changes) unless
 * `discardOld`. The old key leaves its store only after the new one is safely stored.
 */
export function importIdentity(
  opts: OpenIdentityOptions,
  keygenJson: string,
  o: ImportOptions = {},
): OpenedIdentity & { backup?: { address: string; file: string } } {
  const identity = Identity.fromSolanaKeygenJson(keygenJson);
  const ptrFile = pointerPath(opts.dataDir);
  let old: OpenedIdentity | undefined;
  if (existsSync(ptrFile)) {
    try {
      old = openIdentity(opts);
    } catch (e) {
      if (!o.discardOld) {
        throw new IdentityError(
          `the current key cannot be read, so it cannot be kept (${(e as Error).message}); nothing was changed. Pass --discard-old to replace it anyway`,
        );
      }
      old = undefined;
    }
  }
  let backup: { address: string; file: string } | undefined;
  if (old && !o.discardOld && old.identity.address !== identity.address) {
    const stamp = (o.now ?? new Date()).toISOString().replace(/[:.]/g, '-');
    const file = join(opts.dataDir, `identity-backup-${stamp}-${old.identity.address}.json`);
    writeFileSync(file, old.identity.toSolanaKeygenJson(), { mode: 0o600, flag: 'wx' });
    chmodSync(file, 0o600);
    backup = { address: old.identity.address, file };
  }
  const { store, fallbackReason } = chooseStore(opts);
  persist(opts.dataDir, identity, store); // saves the key, then points to it
  if (old && old.store.where !== store.where) old.store.delete();
  return { identity, store, created: false, fallbackReason, ...(backup ? { backup } : {}) };
}
