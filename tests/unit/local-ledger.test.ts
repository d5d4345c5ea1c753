// Pure parts of the local ledger: wire decoding against @solana/kit's encoder, base58, the
// bigint-safe JSON writer, memo formatting, and the slot clock's blockhash expiry and commitments.
import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import {
  AccountRole,
  address,
  appendTransactionMessageInstruction,
  createTransactionMessage,
  generateKeyPairSigner,
  getBase58Decoder,
  getSignatureFromTransaction,
  getTransactionEncoder,
  pipe,
  setTransactionMessageFeePayerSigner,
  setTransactionMessageLifetimeUsingBlockhash,
  signTransactionMessageWithSigners,
  type Blockhash,
} from '@solana/kit';
import { getTransferSolInstruction } from '@solana-program/system';
import { decodeTransaction, isWritable, toBase58, WireError } from '../../src-main/local-ledger/wire';
import { stringifyJson } from '../../src-main/local-ledger/rpc-errors';
import { extractMemos } from '../../src-main/local-ledger/tx-format';
import { LedgerStore } from '../../src-main/local-ledger/store';
import { MAX_PROCESSING_AGE, SlotClock } from '../../src-main/local-ledger/clock';

const MEMO_V1 = address('Memo1UhkJRfHyvLMcVucJwxXeuD728EqVDDwQDxFMNo');
const BH = { blockhash: 'EETubP5AKHgjPAhzPAFcb8BAY1hMH639CWCFTqi3hq1k' as Blockhash, lastValidBlockHeight: 1n };

async function kitTx(version: 'legacy' | 0) {
  const payer = await generateKeyPairSigner();
  const topic = (await generateKeyPairSigner()).address;
  const to = (await generateKeyPairSigner()).address;
  const msg = pipe(
    createTransactionMessage({ version }),
    (m) => setTransactionMessageFeePayerSigner(payer, m),
    (m) => setTransactionMessageLifetimeUsingBlockhash(BH, m),
    (m) =>
      appendTransactionMessageInstruction(
        getTransferSolInstruction({ source: payer, destination: to, amount: 42n }),
        m,
      ),
    (m) =>
      appendTransactionMessageInstruction(
        {
          programAddress: MEMO_V1,
          accounts: [{ address: topic, role: AccountRole.READONLY }],
          data: new TextEncoder().encode('axon1:hi'),
        },
        m,
      ),
  );
  const tx = await signTransactionMessageWithSigners(msg);
  return { tx, bytes: new Uint8Array(getTransactionEncoder().encode(tx)), payer, topic, to };
}

describe('wire decoding', () => {
  it('decodes legacy and v0 transactions built by kit', async () => {
    for (const version of ['legacy', 0] as const) {
      const { tx, bytes, payer, topic, to } = await kitTx(version);
      const d = decodeTransaction(bytes);
      expect(d.version).toBe(version);
      expect(d.signature).toBe(getSignatureFromTransaction(tx));
      expect(d.recentBlockhash).toBe(BH.blockhash);
      expect(d.accountKeys[0]).toBe(payer.address);
      expect(d.accountKeys).toEqual(expect.arrayContaining([topic, to, MEMO_V1]));
      expect(isWritable(d, d.accountKeys.indexOf(to))).toBe(true);
      expect(isWritable(d, d.accountKeys.indexOf(topic))).toBe(false);
      expect(extractMemos(d)).toBe('[8] axon1:hi');
    }
  });

  it('throws WireError on truncated, padded or inconsistent bytes', async () => {
    const { bytes } = await kitTx(0);
    expect(() => decodeTransaction(bytes.subarray(0, bytes.length - 3))).toThrow(WireError);
    expect(() => decodeTransaction(new Uint8Array([...bytes, 0]))).toThrow(WireError);
    expect(() => decodeTransaction(new Uint8Array(0))).toThrow(WireError);
    const twoSigs = new Uint8Array([2, ...bytes.subarray(1, 65), ...bytes.subarray(1)]);
    expect(() => decodeTransaction(twoSigs)).toThrow(WireError);
    for (let i = 0; i < 200; i++) {
      try {
        decodeTransaction(randomBytes(1 + (i % 300)));
      } catch (e) {
        expect(e).toBeInstanceOf(WireError);
      }
    }
  });

  it('writes base58 exactly as kit does', () => {
    const kit = getBase58Decoder();
    for (const n of [0, 1, 2, 31, 32, 33, 64]) {
      for (let i = 0; i < 50; i++) {
        const b = randomBytes(n);
        if (i % 3 === 0 && n > 2) b[0] = b[1] = 0;
        expect(toBase58(b)).toBe(kit.decode(b));
      }
    }
  });
});

describe('JSON writer', () => {
  it('writes bigints as plain JSON numbers and leaves look-alike strings alone', () => {
    const text = stringifyJson({ lamports: 18446744073709551615n, memo: '__bigint_1_', n: 1 });
    expect(text).toBe('{"lamports":18446744073709551615,"memo":"__bigint_1_","n":1}');
  });
});

describe('slot clock', () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('expires a blockhash after 150 blocks and lags confirmed/finalized behind the tip', () => {
    dir = mkdtempSync(join(tmpdir(), 'axon-clock-'));
    const store = new LedgerStore(dir);
    const clock = new SlotClock(store, { slotMs: 400, confirmDepth: 1, finalizeDepth: 32 });
    const start = clock.slot;
    const bh = clock.latestBlockhash('processed');
    expect(bh.lastValidBlockHeight).toBe(start + MAX_PROCESSING_AGE);
    for (let i = 0; i < MAX_PROCESSING_AGE; i++) clock.tick();
    expect(clock.isBlockhashValidForProcessing(bh.blockhash)).toBe(true);
    clock.tick();
    expect(clock.isBlockhashValidForProcessing(bh.blockhash)).toBe(false);
    expect(clock.commitmentSlot('confirmed')).toBe(clock.slot - 1);
    expect(clock.commitmentSlot('finalized')).toBe(clock.slot - 32);
    expect(clock.confirmationStatus(clock.slot)).toBe('processed');
    expect(clock.confirmationStatus(clock.slot - 1)).toBe('confirmed');
    expect(clock.confirmationStatus(clock.slot - 32)).toBe('finalized');
    const last = clock.slot;
    store.close();
    // A restart continues the chain after the last block on disk, with its blockhashes.
    const store2 = new LedgerStore(dir);
    const again = new SlotClock(store2, { slotMs: 400, confirmDepth: 1, finalizeDepth: 32 });
    expect(again.slot).toBe(last + 1);
    expect(again.genesisHash).toBe(clock.genesisHash);
    expect(again.isBlockhashValidForProcessing(clock.latestBlockhash('processed').blockhash)).toBe(true);
    store2.close();
  });
});
