// Runs in: Node. `axon id`, `axon id import FILE`, `axon id export [FILE]`.
import { chmodSync, existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { CliError } from '../context';
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

export function importId(
  ctx: CliContext,
  file: string,
  g: { keystore?: 'auto' | 'keychain' | 'file' },
  o: { discardOld?: boolean } = {},
): void {
  const text = readFileSync(file, 'utf8');
  const { identity, store, backup } = importIdentity(
    { dataDir: ctx.paths.root, store: g.keystore, log: ctx.log },
    text,
    { discardOld: !!o.discardOld },
  );
  ctx.log.info({ address: identity.address, store: store.kind, backup: backup?.file }, 'identity imported');
  console.log(`imported ${identity.address} (peer id ${identity.peerId.toString()}) into ${store.where}`);
  if (backup) {
    console.log(
      `the previous key (${backup.address}) was kept in ${backup.file} (mode 0600); \`axon id import\` that file to go back`,
    );
  }
}

export function exportId(ctx: CliContext, file?: string, o: { force?: boolean } = {}): void {
  const { identity } = ctx.identity();
  const text = identity.toSolanaKeygenJson();
  if (file) {
    if (existsSync(file) && !o.force) {
      throw new CliError(`${file} exists; pass --force to replace it (it will then be mode 0600)`);
    }
    // a fresh 0600 file renamed over the target: the key never sits in a file others may read
    const tmp = `${file}.axon-${process.pid}.tmp`;
    writeFileSync(tmp, text, { mode: 0o600, flag: 'wx' });
    chmodSync(tmp, 0o600);
    renameSync(tmp, file);
    console.error(`wrote the keypair of ${identity.address} to ${file} (mode 0600). Keep it secret.`);
  } else {
    process.stdout.write(text);
    if (process.stdout.isTTY) process.stdout.write('\n');
  }
}
