// Runs in: Node. The local faucet (as solana-test-validator's): a funded System account whose key
// lives in the ledger's data dir; requestAirdrop signs a real transfer from it, so airdrops show
// up in history like any transaction.
import { randomBytes } from 'node:crypto';
import {
  address as toAddress,
  appendTransactionMessageInstruction,
  createKeyPairSignerFromPrivateKeyBytes,
  createTransactionMessage,
  getTransactionEncoder,
  pipe,
  setTransactionMessageFeePayerSigner,
  setTransactionMessageLifetimeUsingBlockhash,
  signTransactionMessageWithSigners,
  type Blockhash,
  type KeyPairSigner,
} from '@solana/kit';
import { getTransferSolInstruction } from '@solana-program/system';
import type { LedgerStore } from './store';
import type { Bank } from './bank';

/** 500 million SOL: never runs dry in practice. */
export const FAUCET_LAMPORTS = 500_000_000n * 1_000_000_000n;

export class Faucet {
  private constructor(readonly signer: KeyPairSigner) {}

  static async open(store: LedgerStore, bank: Bank): Promise<Faucet> {
    let seedHex = store.getSetting('faucetSeed');
    const fresh = !seedHex;
    if (!seedHex) {
      seedHex = randomBytes(32).toString('hex');
      store.setSetting('faucetSeed', seedHex);
    }
    const signer = await createKeyPairSignerFromPrivateKeyBytes(new Uint8Array(Buffer.from(seedHex, 'hex')));
    if (fresh || !bank.getAccount(signer.address))
      bank.setAccount(bank.newSystemAccount(signer.address, FAUCET_LAMPORTS));
    return new Faucet(signer);
  }

  get address(): string {
    return this.signer.address;
  }

  /** Wire bytes of a signed transfer from the faucet. */
  async transferBytes(
    to: string,
    lamports: bigint,
    blockhash: string,
    lastValidBlockHeight: number,
  ): Promise<Uint8Array> {
    const msg = pipe(
      createTransactionMessage({ version: 'legacy' }),
      (m) => setTransactionMessageFeePayerSigner(this.signer, m),
      (m) =>
        setTransactionMessageLifetimeUsingBlockhash(
          { blockhash: blockhash as Blockhash, lastValidBlockHeight: BigInt(lastValidBlockHeight) },
          m,
        ),
      (m) =>
        appendTransactionMessageInstruction(
          getTransferSolInstruction({ source: this.signer, destination: toAddress(to), amount: lamports }),
          m,
        ),
    );
    const tx = await signTransactionMessageWithSigners(msg);
    return new Uint8Array(getTransactionEncoder().encode(tx));
  }
}
