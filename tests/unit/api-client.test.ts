// The renderer's API client (the same code in Electron's preload and in the browser): results,
// errors that keep their hint (also through Electron's contextBridge), and events.
import { describe, expect, it } from 'vitest';
import {
  ApiError,
  createApiClient,
  formatSol,
  toApiErrorInfo,
  type ApiResult,
  type ApiTransport,
  type AxonEventName,
} from '../../src-shared/contract/api';

function transport(answer: (cmd: string, args: unknown[]) => ApiResult) {
  let sink: ((e: AxonEventName, p: unknown) => void) | null = null;
  const t: ApiTransport = {
    call: async (cmd, args) => answer(cmd, args),
    subscribe(s) {
      sink = s;
      return () => (sink = null);
    },
  };
  return { t, emit: (e: AxonEventName, p: unknown) => sink?.(e, p) };
}

describe('createApiClient', () => {
  it('returns results and throws ApiError with the hint', async () => {
    const { t } = transport((cmd, args) =>
      cmd === 'airdrop'
        ? { ok: false, error: { code: 'no-faucet', message: 'no airdrops on mainnet', hint: 'Fund the address.' } }
        : { ok: true, value: { cmd, args } },
    );
    const api = createApiClient(t);
    expect(await api.payments(5)).toEqual({ cmd: 'payments', args: [5] });
    const err = await api.airdrop(1).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(toApiErrorInfo(err)).toEqual({
      code: 'no-faucet',
      message: 'no airdrops on mainnet',
      hint: 'Fund the address.',
    });
  });

  it('keeps the error details through a message-only channel (contextBridge)', async () => {
    const { t } = transport(() => ({ ok: false, error: { code: 'x', message: 'what', hint: 'do this' } }));
    const api = createApiClient(t, { encodeErrors: true });
    const err = await api.status().catch((e: unknown) => e);
    // contextBridge copies only the message: simulate exactly that.
    const copied = new Error(`Error invoking remote method: ${(err as Error).message}`);
    expect(toApiErrorInfo(copied)).toEqual({ code: 'x', message: 'what', hint: 'do this' });
    expect(toApiErrorInfo(new Error('plain'))).toMatchObject({ code: 'unexpected', message: 'plain' });
  });

  it('delivers events to listeners until they unsubscribe', () => {
    const { t, emit } = transport(() => ({ ok: true, value: null }));
    const api = createApiClient(t);
    const got: unknown[] = [];
    const off = api.on('notice', (n) => got.push(n));
    api.on('status', () => got.push('status'));
    emit('notice', { title: 'a' });
    emit('status', {});
    off();
    emit('notice', { title: 'b' });
    expect(got).toEqual([{ title: 'a' }, 'status']);
    expect(() => api.on('bogus' as AxonEventName, () => {})).toThrow(/unknown event/);
  });

  it('formats lamports as SOL exactly', () => {
    expect(formatSol('1000000000')).toBe('1 SOL');
    expect(formatSol('1500000')).toBe('0.0015 SOL');
    expect(formatSol(123n)).toBe('0.000000123 SOL');
    expect(formatSol('18446744073709551615')).toBe('18446744073.709551615 SOL');
    // one rule, exact: a nonzero amount is never shown as 0 (issue 14: "0 SOL / 0.0006 SOL")
    expect(formatSol(40_000n)).toBe('0.00004 SOL');
    expect(formatSol(1n)).toBe('0.000000001 SOL');
    expect(formatSol(-5_000n)).toBe('-0.000005 SOL');
  });
});
