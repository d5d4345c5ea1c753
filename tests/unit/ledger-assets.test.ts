// The asset layer's pure rules: the known USDC mint of each cluster (one table), exact amount
// text both ways (integer base units, the mint's decimals), and reading a token
// transfer back from an instruction.
import { describe, expect, it } from 'vitest';
import { address, createNoopSigner } from '@solana/kit';
import { getTransferCheckedInstruction } from '@solana-program/token';
import {
  ataOf,
  formatAmount,
  knownAsset,
  LOCAL_USDC_MINT,
  parseAmount,
  parseTokenTransfer,
  SOL,
  usdcFor,
  USDC_MINTS,
} from '../../src-main/core/ledger/assets';

describe('known mints', () => {
  it("devnet and mainnet USDC are Circle's mints, 6 decimals", () => {
    expect(usdcFor('devnet')).toEqual({
      kind: 'spl',
      symbol: 'USDC',
      decimals: 6,
      mint: '4zMMC9srt5Ri5X14GAgXhaHii3GnPAEERYPJgZJDncDU',
    });
    expect(usdcFor('mainnet-beta')?.mint).toBe('EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v');
    expect(usdcFor('local')?.mint).toBe(LOCAL_USDC_MINT);
    expect(usdcFor('custom')).toBeNull();
    expect(new Set(Object.values(USDC_MINTS)).size).toBe(3);
  });

  it('no mint is SOL; an unknown mint is not guessed', () => {
    expect(knownAsset(null)).toBe(SOL);
    expect(knownAsset(undefined)).toBe(SOL);
    expect(knownAsset(USDC_MINTS.devnet)?.symbol).toBe('USDC');
    expect(knownAsset('So11111111111111111111111111111111111111112')).toBeNull();
  });
});

describe('amounts', () => {
  const usdc = usdcFor('local')!;
  it('formats base units exactly', () => {
    expect(formatAmount(1_500_000n, usdc)).toBe('1.5 USDC');
    expect(formatAmount(1n, usdc)).toBe('0.000001 USDC');
    expect(formatAmount(0n, usdc)).toBe('0 USDC');
    expect(formatAmount(5_000n, SOL)).toBe('0.000005 SOL');
    expect(formatAmount(-2_000_000_001n, SOL)).toBe('-2.000000001 SOL');
    expect(formatAmount(123_456_789_012_345_678n, usdc)).toBe('123456789012.345678 USDC');
  });
  it('parses decimal text exactly, refusing more decimals than the mint has', () => {
    expect(parseAmount('1.5', usdc)).toBe(1_500_000n);
    expect(parseAmount('0.000001', usdc)).toBe(1n);
    expect(parseAmount('7', usdc)).toBe(7_000_000n);
    expect(parseAmount('0.000000001', SOL)).toBe(1n);
    expect(() => parseAmount('0.0000001', usdc)).toThrow(/more than 6 decimals/);
    expect(() => parseAmount('-1', usdc)).toThrow(/not an amount/);
    expect(() => parseAmount('1e6', usdc)).toThrow(/not an amount/);
  });
});

describe('token transfers read back', () => {
  it('TransferChecked: source, mint, destination, owner, amount, decimals', async () => {
    const signer = createNoopSigner(address('9WzDXwBbmkg8ZTbNMqUxvQRAyrZzDsGYdLVL9zYtAWWM'));
    const mint = USDC_MINTS.devnet;
    const source = await ataOf(signer.address, mint);
    const destination = await ataOf(LOCAL_USDC_MINT, mint);
    const ix = getTransferCheckedInstruction({
      source,
      mint,
      destination,
      authority: signer,
      amount: 42n,
      decimals: 6,
    });
    const t = parseTokenTransfer(
      Uint8Array.from(ix.data),
      ix.accounts.map((a) => a.address),
    );
    expect(t).toEqual({ source, mint, destination, owner: signer.address, amount: 42n, decimals: 6 });
    expect(parseTokenTransfer(new Uint8Array([7, 1, 2]), [])).toBeNull();
  });
});
