// Shared setup for the local-ledger integration tests: a ledger in a temp dir, kit clients for
// it, and a funded payer. Runs in: Node (vitest).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AccountRole,
  address,
  airdropFactory,
  createSolanaRpc,
  createSolanaRpcSubscriptions,
  devnet,
  generateKeyPairSigner,
  lamports,
  type Address,
  type Instruction,
  type KeyPairSigner,
} from '@solana/kit';
import { startLocalLedger, type LocalLedger } from '../../src-main/local-ledger/index';

export const MEMO_V1 = address('Memo1UhkJRfHyvLMcVucJwxXeuD728EqVDDwQDxFMNo');
export const SOL = 1_000_000_000n;

export const rpcFor = (url: string) => createSolanaRpc(devnet(url));
export const subsFor = (url: string) => createSolanaRpcSubscriptions(devnet(url));
export type TestRpc = ReturnType<typeof rpcFor>;
export type TestSubs = ReturnType<typeof subsFor>;

/** A Memo v1 instruction naming `topic` as a read-only account. */
export function memoIx(topic: Address, text: string): Instruction {
  return {
    programAddress: MEMO_V1,
    accounts: [{ address: topic, role: AccountRole.READONLY }],
    data: new TextEncoder().encode(text),
  };
}

/** Airdrops `amount` lamports to `to` and waits until it is confirmed. */
export async function airdrop(rpc: TestRpc, subs: TestSubs, to: Address, amount: bigint): Promise<void> {
  await airdropFactory({ rpc, rpcSubscriptions: subs })({
    recipientAddress: to,
    lamports: lamports(amount),
    commitment: 'confirmed',
  });
}

export interface TestLedger {
  ledger: LocalLedger;
  rpc: TestRpc;
  subs: TestSubs;
  /** Funded with `payerLamports` at start. */
  payer: KeyPairSigner;
  /** Closes the ledger and removes its data dir. */
  close(): Promise<void>;
}

/** Starts a local ledger on a free port in a fresh temp dir and funds a new payer. */
export async function startTestLedger(opts: {
  dirPrefix: string;
  payerLamports: bigint;
  slotMs?: number;
}): Promise<TestLedger> {
  const dir = mkdtempSync(join(tmpdir(), opts.dirPrefix));
  let ledger: LocalLedger | undefined;
  const close = async (): Promise<void> => {
    await ledger?.close();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    ledger = await startLocalLedger({
      port: 0,
      dataDir: dir,
      ...(opts.slotMs === undefined ? {} : { slotMs: opts.slotMs }),
    });
    const rpc = rpcFor(ledger.rpcUrl);
    const subs = subsFor(ledger.wsUrl);
    const payer = await generateKeyPairSigner();
    await airdrop(rpc, subs, payer.address, opts.payerLamports);
    return { ledger, rpc, subs, payer, close };
  } catch (e) {
    await close();
    throw e;
  }
}
