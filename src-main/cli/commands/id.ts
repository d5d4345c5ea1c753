// Runs in: Node. `axon id`, `axon id import FILE`, `axon id export [FILE]`.
import { readFileSync, writeFileSync } from 'node:fs';
import { importIdentity } from '../../core/identity/keystore';
import type { CliContext } from '../context';

export function showId(ctx: CliContext, json: boolean): void {
  const { identity, store, created } = ctx.identity();
  if (json) {
    console.log(
      JSON.stringify({
        address: identity.address,
        peerId: identity.peerId.toString(),
        keyStore: store.kind,
        where: store.where,
      }),
    );
    return;
  }
  if (created) console.log('A new identity was created for this installation.');
  console.log(`address  ${identity.address}`);
  console.log(`peer id  ${identity.peerId.toString()}`);
  console.log(`key in   ${store.where}`);
}

export function importId(ctx: CliContext, file: string, g: { keystore?: 'auto' | 'keychain' | 'file' }): void {
  const text = readFileSync(file, 'utf8');
  const { identity, store } = importIdentity({ dataDir: ctx.paths.root, store: g.keystore, log: ctx.log }, text);
  ctx.log.info({ address: identity.address, store: store.kind }, 'identity imported');
  console.log(`imported ${identity.address} (peer id ${identity.peerId.toString()}) into ${store.where}`);
}

export function exportId(ctx: CliContext, file?: string): void {
  const { identity } = ctx.identity();
  const text = identity.toSolanaKeygenJson();
  if (file) {
    writeFileSync(file, text, { mode: 0o600 });
    console.error(`wrote the keypair of ${identity.address} to ${file} (mode 0600). Keep it secret.`);
  } else {
    process.stdout.write(text);
    if (process.stdout.isTTY) process.stdout.write('\n');
  }
}
